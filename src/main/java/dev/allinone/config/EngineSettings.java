package dev.allinone.config;

import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.sampling.SamplingOverrides;
import java.nio.file.Path;
import java.util.Optional;

/** The engine's plain options from the service's configuration (the engine itself reads no configuration). */
public final class EngineSettings {

    private EngineSettings() {
    }

    public static ModelOptions modelOptions(AllInOneConfig config) {
        AllInOneConfig.Model m = config.model();
        return new ModelOptions(modelPath(m), m.weights(), m.threads(), m.contextLength(), m.quantizedPath().orElse(null), config.engine().kernels());
    }

    /**
     * The model directory: {@code allinone.model.path}, else {@code models/} and the repository's name
     * ({@code Qwen/Qwen3-0.6B} → {@code models/Qwen3-0.6B}), so that choosing a model to download is one setting.
     */
    public static Path modelPath(AllInOneConfig.Model m) {
        return m.path().orElseGet(() -> defaultModelPath(m.repo()));
    }

    /** {@code models/} and the last part of a hub repository's name. */
    public static Path defaultModelPath(String repo) {
        return Path.of("models", repo.substring(repo.lastIndexOf('/') + 1));
    }

    /** What API clients call the model: {@code allinone.model.name}, else the model directory's name. */
    public static String modelId(AllInOneConfig.Model m) {
        return m.name().orElseGet(() -> modelPath(m).toAbsolutePath().normalize().getFileName().toString());
    }

    public static SamplingOverrides samplingOverrides(AllInOneConfig config) {
        AllInOneConfig.Generation g = config.generation();
        return new SamplingOverrides(g.temperature(), g.topK(), g.topP(), g.repetitionPenalty(), Optional.of(g.maxNewTokens()));
    }

    public static InferenceEngine.Limits limits(AllInOneConfig config) {
        AllInOneConfig.Engine e = config.engine();
        return new InferenceEngine.Limits(e.maxQueued(), e.requestTimeout().toMillis(), e.kvCacheMemory().asLongValue(),
                e.idleCompaction().toMillis(), e.maxBatch(), e.kvCacheType());
    }
}
