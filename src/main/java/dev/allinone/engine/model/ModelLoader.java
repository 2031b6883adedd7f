package dev.allinone.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.safetensors.SafeTensorSupport;
import com.github.tjake.jlama.safetensors.WeightLoader;
import com.github.tjake.jlama.math.ActivationFunction;
import com.github.tjake.jlama.safetensors.Config;
import com.github.tjake.jlama.util.PhysicalCoreExecutor;
import dev.allinone.engine.kernels.KernelLayoutFile;
import dev.allinone.engine.kernels.NativeKernels;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.tokenizer.JlamaTokenizerAdapter;
import dev.allinone.engine.tokenizer.QwenTokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.jboss.logging.Logger;

/** Loads a local checkpoint of an {@link Architecture} the engine runs into Jlama with our tokenizer. Never touches the network. */
public final class ModelLoader {

    private static final Logger LOG = Logger.getLogger(ModelLoader.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelLoader() {
    }

    /**
     * @param overrides sampling settings from configuration; null fields keep the checkpoint's defaults
     */
    public static LoadedModel load(ModelOptions options, SamplingOverrides overrides) {
        long start = System.nanoTime();
        Path dir = options.path();
        JsonNode rawConfig = ModelDirectory.validate(dir);
        Architecture architecture = Architecture.of(rawConfig.path("model_type").asText()).orElseThrow();
        // Files computed from the model are kept beside its quantized copy, which is writable by design; weights as stored have none.
        Path derived = options.weights().quantized() ? options.copyPath() : null;
        QwenTokenizer tokenizer = derived != null && writable(derived) ? QwenTokenizer.load(dir, derived) : QwenTokenizer.load(dir);
        long tokenizerMillis = (System.nanoTime() - start) / 1_000_000;
        int vocab = rawConfig.path("vocab_size").asInt();
        if (vocab < tokenizer.size()) {
            throw new ModelUnavailableException("Model in " + dir + " has vocab_size " + vocab + " but its tokenizer has "
                    + tokenizer.size() + " ids: tokenizer.json does not belong to this checkpoint.");
        }
        ChatTemplate template = ChatTemplate.load(dir);
        useThreads(options.threads());

        int contextLength = Math.min(rawConfig.path("max_position_embeddings").asInt(32768), options.contextLength());
        Set<Integer> stops = stopTokens(dir, rawConfig, template, tokenizer);

        QwenJlamaModel jlama;
        String identity = null;
        try {
            Config jlamaConfig = jlamaConfig(rawConfig, architecture, contextLength, stops.iterator().next());
            Path weightsDir = derived != null ? QuantizedCheckpoint.ensure(dir, derived, options.weights()) : dir;
            WeightLoader weights = SafeTensorSupport.loadWeights(weightsDir.toFile());
            // I8 activations let Jlama use its integer Q4 kernels; it falls back to F32 where they do not apply.
            DType workingQuant = options.weights().eightBitActivations() ? DType.I8 : DType.F32;
            identity = derived != null ? QuantizedCheckpoint.identity(derived, options.weights()) : null;
            KernelLayoutFile layout = derived != null ? new KernelLayoutFile(derived, identity) : null;
            jlama = new QwenJlamaModel(architecture, jlamaConfig, weights, new JlamaTokenizerAdapter(tokenizer), DType.F32, workingQuant,
                    rawConfig.path("rope_theta").asDouble(10000.0), NativeKernels.select(options.kernels()),
                    EmbeddingRows.open(weightsDir, "model.embed_tokens.weight"), layout);
        } catch (ModelUnavailableException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ModelUnavailableException("Model in " + dir + " could not be loaded: " + e, e);
        }
        SamplingParams defaults = overrides.applyTo(generationDefaults(dir));
        long millis = (System.nanoTime() - start) / 1_000_000;
        LOG.debugf("Model %s loaded in %d ms (tokenizer %d ms)", dir, millis, tokenizerMillis);
        return new LoadedModel(jlama, tokenizer, template, stops, defaults, dir, options.weights(), millis, derived, identity);
    }

    /**
     * Jlama's view of the shape, as its {@code Qwen2Config} reads it from config.json but with the architecture's
     * head size (Jlama's takes hidden / heads, which a Qwen3 {@code head_dim} overrides).
     */
    private static Config jlamaConfig(JsonNode c, Architecture architecture, int contextLength, int eos) {
        int hidden = c.path("hidden_size").asInt();
        int heads = c.path("num_attention_heads").asInt();
        return new Config(contextLength, hidden, c.path("intermediate_size").asInt(), heads, c.path("num_key_value_heads").asInt(heads),
                c.path("num_hidden_layers").asInt(), (float) c.path("rms_norm_eps").asDouble(1e-6), c.path("vocab_size").asInt(),
                c.path("bos_token_id").asInt(eos), List.of(eos),
                ActivationFunction.Type.valueOf(c.path("hidden_act").asText("silu").toUpperCase(java.util.Locale.ROOT)),
                c.path("rope_theta").asDouble(10000.0), 1.0, null, architecture.headDim(c), null, null, null, null, null, null);
    }

    /** {@code model} with {@code overrides} applied to its checkpoint's sampling defaults, as {@link #load} applies them. */
    public static LoadedModel withOverrides(LoadedModel model, SamplingOverrides overrides) {
        return new LoadedModel(model.jlama(), model.tokenizer(), model.template(), model.stopTokens(),
                overrides.applyTo(generationDefaults(model.path())), model.path(), model.weights(), model.loadMillis(), model.derivedFiles(),
                model.weightsIdentity());
    }

    /** Creates the directory if needed; false if that is not possible (the files meant for it are then not kept). */
    private static boolean writable(Path dir) {
        try {
            Files.createDirectories(dir);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void useThreads(int threads) {
        if (threads <= 0) {
            return;
        }
        try {
            PhysicalCoreExecutor.overrideThreadCount(threads);
        } catch (IllegalStateException alreadyStarted) {
            // Jlama's kernel pool is process-wide and fixed once started (e.g. a second model in one test JVM).
            LOG.warnf("Jlama's thread pool is already running with %d threads; allinone.model.threads=%d ignored",
                    PhysicalCoreExecutor.instance.get().getCoreCount(), threads);
        }
    }

    /**
     * What ends a reply, from the model's own files: the chat's end-of-turn token first ({@code tokenizer_config.json}'s
     * {@code eos_token}: {@code <|im_end|>} for Qwen chat models), then {@code generation_config.json}'s and
     * {@code config.json}'s {@code eos_token_id}s.
     */
    private static Set<Integer> stopTokens(Path dir, JsonNode config, ChatTemplate template, QwenTokenizer tokenizer) {
        Set<Integer> stops = new LinkedHashSet<>();
        Integer endOfTurn = tokenizer.specialTokens().get(template.eosToken());
        if (endOfTurn != null) {
            stops.add(endOfTurn);
        }
        for (JsonNode eos : List.of(readGenerationConfig(dir).path("eos_token_id"), config.path("eos_token_id"))) {
            if (eos.isArray()) {
                eos.forEach(id -> stops.add(id.asInt()));
            } else if (eos.isInt()) {
                stops.add(eos.asInt());
            }
        }
        if (stops.isEmpty()) {
            throw new ModelUnavailableException("Model in " + dir + " names no end-of-turn token (tokenizer_config.json eos_token, "
                    + "generation_config.json or config.json eos_token_id): its replies could not end.");
        }
        return stops;
    }

    private static SamplingParams generationDefaults(Path dir) {
        JsonNode g = readGenerationConfig(dir);
        boolean sample = g.path("do_sample").asBoolean(false);
        return new SamplingParams(
                sample ? (float) g.path("temperature").asDouble(1.0) : 0f,
                g.path("top_k").asInt(50),
                (float) g.path("top_p").asDouble(1.0),
                (float) g.path("repetition_penalty").asDouble(1.0),
                g.path("max_new_tokens").asInt(512));
    }

    private static JsonNode readGenerationConfig(Path dir) {
        Path file = dir.resolve("generation_config.json");
        if (!Files.isRegularFile(file)) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelUnavailableException(file + " is not valid JSON: " + e.getMessage());
        }
    }
}
