package dev.allinone.config;

import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.sampling.SamplingOverrides;
import java.util.Optional;

/** The engine's plain options from the service's configuration (the engine itself reads no configuration). */
public final class EngineSettings {

    private EngineSettings() {
    }

    public static ModelOptions modelOptions(AllInOneConfig config) {
        AllInOneConfig.Model m = config.model();
        return new ModelOptions(m.path(), m.weights(), m.threads(), m.contextLength(), m.quantizedPath().orElse(null), config.engine().kernels());
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
