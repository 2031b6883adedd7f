package dev.allinone.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Checks a Hugging Face model directory before anything heavy is loaded, so a missing file or an unsupported
 * shape becomes one clear sentence instead of an exception from deep inside Jlama.
 */
final class ModelDirectory {

    static final String HOW_TO_GET = "Get Qwen1.5-0.5B-Chat with `./mvnw -q compile exec:java@download-model` (see docs/deployment.md, "
            + "'Getting the model'), or point allinone.model.path / ALLINONE_MODEL_PATH at a directory that has it.";

    /** Quantized kernels work on blocks of 32 values. */
    static final int BLOCK = 32;

    private ModelDirectory() {
    }

    /** Reads and validates {@code config.json} (its {@code model_type} one of {@link Architecture}'s); throws {@link ModelUnavailableException} naming what is wrong. */
    static JsonNode validate(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ModelUnavailableException("Model directory " + dir.toAbsolutePath() + " does not exist. " + HOW_TO_GET);
        }
        List<String> missing = new ArrayList<>();
        for (String name : List.of("config.json", "tokenizer.json", "tokenizer_config.json")) {
            if (!Files.isRegularFile(dir.resolve(name))) {
                missing.add(name);
            }
        }
        if (!Files.isRegularFile(dir.resolve("model.safetensors")) && !Files.isRegularFile(dir.resolve("model.safetensors.index.json"))) {
            missing.add("model.safetensors (or model.safetensors.index.json with its shards)");
        }
        if (!missing.isEmpty()) {
            throw new ModelUnavailableException("Model directory " + dir.toAbsolutePath() + " is missing " + String.join(", ", missing)
                    + ". " + HOW_TO_GET);
        }
        JsonNode config;
        try {
            config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
        } catch (IOException e) {
            throw new ModelUnavailableException("Model config " + dir.resolve("config.json") + " is not valid JSON: " + e.getMessage());
        }
        String type = config.path("model_type").asText("");
        Architecture architecture = Architecture.of(type).orElseThrow(() -> new ModelUnavailableException("Model in " + dir
                + " has model_type '" + type + "'; this service runs the model types " + Architecture.supported() + "."));
        checkBlockMultiple(dir, config, "hidden_size");
        checkBlockMultiple(dir, config, "intermediate_size");
        int heads = config.path("num_attention_heads").asInt(0);
        int kvHeads = config.path("num_key_value_heads").asInt(heads);
        int hidden = config.path("hidden_size").asInt();
        if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
            throw new ModelUnavailableException("Model in " + dir + " has " + heads + " attention heads and " + kvHeads
                    + " key/value heads: key/value heads must divide heads.");
        }
        int headDim = architecture.headDim(config);
        if (headDim <= 0 || headDim % 2 != 0 || (!config.path("head_dim").isInt() && hidden % heads != 0)) {
            throw new ModelUnavailableException("Model in " + dir + " has hidden_size " + hidden + " and " + heads
                    + " attention heads but no head_dim: heads must divide hidden_size, into an even head size.");
        }
        if (((long) kvHeads * headDim) % BLOCK != 0 || ((long) heads * headDim) % BLOCK != 0) {
            throw new ModelUnavailableException("Model in " + dir + " has query and key/value widths of " + heads * headDim + " and "
                    + kvHeads * headDim + ", not both multiples of " + BLOCK + " as the quantized kernels need.");
        }
        return config;
    }

    private static void checkBlockMultiple(Path dir, JsonNode config, String field) {
        int value = config.path(field).asInt(0);
        if (value <= 0 || value % BLOCK != 0) {
            throw new ModelUnavailableException("Model in " + dir + " has " + field + " = " + value + ", which is not a positive multiple of "
                    + BLOCK + " (the block size of the quantized kernels); such a checkpoint cannot run here.");
        }
    }
}
