package dev.allinone.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The shape and contents of a generated Qwen2-architecture checkpoint.
 *
 * @param nextToken a "script": when the current token is a key, the model strongly predicts the value (needs an
 *                  untied LM head; each entry uses one hidden dimension, so at most {@code hidden} entries)
 */
public record CheckpointSpec(
        int hidden,
        int intermediate,
        int layers,
        int heads,
        int kvHeads,
        int vocab,
        int maxPositions,
        boolean tied,
        SafetensorsWriter.DType dtype,
        long seed,
        Map<Integer, Integer> nextToken) {

    public CheckpointSpec {
        nextToken = Map.copyOf(nextToken);
        if (!nextToken.isEmpty() && tied) {
            throw new IllegalArgumentException("A scripted checkpoint needs an untied lm_head (tied=false)");
        }
        if (nextToken.size() > hidden) {
            throw new IllegalArgumentException("A script of " + nextToken.size() + " steps needs hidden >= that, not " + hidden);
        }
    }

    /** A tiny model (seconds to generate and load) with the real Qwen vocabulary. */
    public static CheckpointSpec tiny(long seed) {
        return new CheckpointSpec(64, 128, 2, 4, 4, 151936, 4096, true, SafetensorsWriter.DType.F32, seed, Map.of());
    }

    /**
     * A small model with the full-size one's head size (64) and row lengths in whole groups of 256 values: at Q4 it
     * runs the kernels the real model runs (8-bit activations, 64-wide heads), yet loads in seconds.
     */
    public static CheckpointSpec smallAligned(long seed) {
        return new CheckpointSpec(256, 512, 2, 4, 4, 151936, 4096, true, SafetensorsWriter.DType.BF16, seed, Map.of());
    }

    /**
     * A small model on the production kernel path with grouped KV heads: rows in whole groups of 256 values (8-bit
     * activations and, at Q4, the C kernels), 8 query heads of 64 sharing 2 key/value heads (as Qwen2.5's 14 share 2).
     */
    public static CheckpointSpec smallGrouped(long seed) {
        return new CheckpointSpec(512, 1024, 2, 8, 2, 151936, 4096, true, SafetensorsWriter.DType.BF16, seed, Map.of());
    }

    /** The published shape of Qwen1.5-0.5B-Chat (BF16, tied embeddings), random weights. */
    public static CheckpointSpec qwen15HalfB(long seed) {
        try (InputStream in = CheckpointSpec.class.getClassLoader().getResourceAsStream("qwen1.5/config.json")) {
            JsonNode c = new ObjectMapper().readTree(in);
            return new CheckpointSpec(c.path("hidden_size").asInt(), c.path("intermediate_size").asInt(),
                    c.path("num_hidden_layers").asInt(), c.path("num_attention_heads").asInt(),
                    c.path("num_key_value_heads").asInt(), c.path("vocab_size").asInt(),
                    c.path("max_position_embeddings").asInt(), c.path("tie_word_embeddings").asBoolean(),
                    SafetensorsWriter.DType.BF16, seed, Map.of());
        } catch (IOException e) {
            throw new IllegalStateException("qwen1.5/config.json is not on the classpath", e);
        }
    }

    public CheckpointSpec withDType(SafetensorsWriter.DType newDType) {
        return new CheckpointSpec(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, tied, newDType, seed, nextToken);
    }

    public CheckpointSpec untied() {
        return new CheckpointSpec(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, false, dtype, seed, nextToken);
    }

    public CheckpointSpec withHidden(int newHidden) {
        return new CheckpointSpec(newHidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, tied, dtype, seed, nextToken);
    }

    /** Makes {@code start → ids[0] → ids[1] → … → end} the model's overwhelmingly likely continuation. */
    public CheckpointSpec scripted(int start, int[] ids, int end) {
        Map<Integer, Integer> script = new LinkedHashMap<>(nextToken);
        int from = start;
        for (int id : ids) {
            putOnce(script, from, id);
            from = id;
        }
        putOnce(script, from, end);
        return new CheckpointSpec(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, false, dtype, seed, script);
    }

    /** Makes {@code start → ids[0] → … → ids[n-1] → ids[0] → …} likely: a reply that never ends by itself. */
    public CheckpointSpec looping(int start, int[] ids) {
        Map<Integer, Integer> script = new LinkedHashMap<>(nextToken);
        int from = start;
        for (int id : ids) {
            putOnce(script, from, id);
            from = id;
        }
        putOnce(script, from, ids[0]);
        return new CheckpointSpec(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, false, dtype, seed, script);
    }

    private static void putOnce(Map<Integer, Integer> script, int from, int to) {
        Integer previous = script.putIfAbsent(from, to);
        if (previous != null && previous != to) {
            throw new IllegalArgumentException("Token " + from + " already leads to " + previous + ", cannot also lead to " + to);
        }
    }

    int headDim() {
        return hidden / heads;
    }
}
