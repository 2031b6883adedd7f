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
 * @param weightStd the standard deviation of the random weights (uniform): {@value #INIT_STD} as Qwen's
 *                  {@code initializer_range}; larger makes the next-token distribution peaked ({@link #peaked})
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
        Map<Integer, Integer> nextToken,
        String modelType,
        int headDim,
        double weightStd) {

    /** Qwen's {@code initializer_range}: the random weights' standard deviation unless {@link #peaked}. */
    public static final double INIT_STD = 0.02;

    /** A given architecture and head size ({@code headDim} 0: hidden / heads) with weights of std {@value #INIT_STD}. */
    public CheckpointSpec(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab, int maxPositions, boolean tied,
            SafetensorsWriter.DType dtype, long seed, Map<Integer, Integer> nextToken, String modelType, int headDim) {
        this(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, tied, dtype, seed, nextToken, modelType, headDim, INIT_STD);
    }

    /** The Qwen2 architecture (q/k/v biases) with head size hidden / heads. */
    public CheckpointSpec(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab, int maxPositions, boolean tied,
            SafetensorsWriter.DType dtype, long seed, Map<Integer, Integer> nextToken) {
        this(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, tied, dtype, seed, nextToken, QWEN2, 0);
    }

    public static final String QWEN2 = "qwen2";
    public static final String QWEN3 = "qwen3";

    public CheckpointSpec {
        nextToken = Map.copyOf(nextToken);
        if (!modelType.equals(QWEN2) && !modelType.equals(QWEN3)) {
            throw new IllegalArgumentException("model_type is qwen2 or qwen3, not " + modelType);
        }
        if (!nextToken.isEmpty() && tied) {
            throw new IllegalArgumentException("A scripted checkpoint needs an untied lm_head (tied=false)");
        }
        if (!(weightStd > 0)) {
            throw new IllegalArgumentException("weightStd must be positive, not " + weightStd);
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

    /**
     * A tiny Qwen3 (no q/k/v biases, per-head q/k norms): 4 query heads over 2 key/value heads, head size 32 where
     * hidden / heads is 16 (as Qwen3-0.6B's 128 against 64). Off the 8-bit path on the Java kernels.
     */
    public static CheckpointSpec tinyQwen3(long seed) {
        return new CheckpointSpec(64, 128, 2, 4, 2, 151936, 4096, true, SafetensorsWriter.DType.F32, seed, Map.of(), QWEN3, 32);
    }

    /**
     * A small Qwen3 on the production kernel path: hidden 512 (whole groups of 256), 4 query heads of 128 over 2
     * key/value heads (Qwen3-0.6B: 16 over 8), BF16, tied.
     */
    public static CheckpointSpec smallQwen3(long seed) {
        return new CheckpointSpec(512, 1024, 2, 4, 2, 151936, 4096, true, SafetensorsWriter.DType.BF16, seed, Map.of(), QWEN3, 128);
    }

    /**
     * A small Qwen2.5-like qwen2: 6 query heads of 64 over 1 key/value head, hidden 384 = 12 blocks of 32 and
     * intermediate 1152 = 36 (as Qwen2.5-0.5B's 896 = 28 and 4864 = 152: not whole vectors of blocks, so only the C
     * kernels take them with 8-bit activations), BF16, tied. Row counts stay multiples of 128, as the real models'
     * are: Jlama's float kernel gets the rows past the last 128 wrong (448 rows: 385-447).
     */
    public static CheckpointSpec smallQwen25(long seed) {
        return new CheckpointSpec(384, 1152, 2, 6, 1, 151936, 4096, true, SafetensorsWriter.DType.BF16, seed, Map.of());
    }

    /** The published shape of Qwen2.5-0.5B-Instruct (its config.json; BF16, tied embeddings), random weights. */
    public static CheckpointSpec qwen25HalfB(long seed) {
        return new CheckpointSpec(896, 4864, 24, 14, 2, 151936, 32768, true, SafetensorsWriter.DType.BF16, seed, Map.of());
    }

    /** The published shape of Qwen3-0.6B (its config.json: head_dim 128; BF16, tied embeddings), random weights. */
    public static CheckpointSpec qwen3SixB(long seed) {
        return new CheckpointSpec(1024, 3072, 28, 16, 8, 151936, 40960, true, SafetensorsWriter.DType.BF16, seed, Map.of(), QWEN3, 128);
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
        return new CheckpointSpec(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, tied, newDType, seed, nextToken, modelType, headDim, weightStd);
    }

    public CheckpointSpec untied() {
        return new CheckpointSpec(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, false, dtype, seed, nextToken, modelType, headDim, weightStd);
    }

    /** {@code max_position_embeddings}, which caps the context the engine allows. */
    public CheckpointSpec withMaxPositions(int newMaxPositions) {
        return new CheckpointSpec(hidden, intermediate, layers, heads, kvHeads, vocab, newMaxPositions, tied, dtype, seed, nextToken, modelType, headDim, weightStd);
    }

    public CheckpointSpec withHidden(int newHidden) {
        return new CheckpointSpec(newHidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, tied, dtype, seed, nextToken, modelType, headDim, weightStd);
    }

    /**
     * Weights of standard deviation {@code std} instead of {@value #INIT_STD} (norms stay 1): with 0.4 the logits spread
     * so far that the next-token distribution is peaked, which shows a format's error as changed top tokens.
     */
    public CheckpointSpec peaked(double std) {
        return new CheckpointSpec(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, tied, dtype, seed, nextToken, modelType, headDim, std);
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
        return new CheckpointSpec(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, false, dtype, seed, script, modelType, headDim, weightStd);
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
        return new CheckpointSpec(hidden, intermediate, layers, heads, kvHeads, vocab, maxPositions, false, dtype, seed, script, modelType, headDim, weightStd);
    }

    private static void putOnce(Map<Integer, Integer> script, int from, int to) {
        Integer previous = script.putIfAbsent(from, to);
        if (previous != null && previous != to) {
            throw new IllegalArgumentException("Token " + from + " already leads to " + previous + ", cannot also lead to " + to);
        }
    }

    /** The head size: {@code head_dim} when set, else hidden / heads. */
    public int headSize() {
        return headDim > 0 ? headDim : hidden / heads;
    }

    /** The record's own text for the Qwen2 specs the golden fixtures recorded before the architecture and the weights' std were fields. */
    @Override
    public String toString() {
        String text = "CheckpointSpec[hidden=" + hidden + ", intermediate=" + intermediate + ", layers=" + layers + ", heads=" + heads
                + ", kvHeads=" + kvHeads + ", vocab=" + vocab + ", maxPositions=" + maxPositions + ", tied=" + tied + ", dtype=" + dtype
                + ", seed=" + seed + ", nextToken=" + nextToken;
        return text + (modelType.equals(QWEN2) && headDim == 0 ? "" : ", modelType=" + modelType + ", headDim=" + headDim)
                + (weightStd == INIT_STD ? "" : ", weightStd=" + weightStd) + "]";
    }
}
