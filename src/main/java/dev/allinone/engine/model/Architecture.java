package dev.allinone.engine.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Arrays;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The decoder architectures the engine runs, keyed by {@code config.json}'s {@code model_type} (as Jlama's
 * {@code ModelSupport} keys its model classes). Every entry shares the same decoder ({@link Transformer}: RMSNorm,
 * rotary embedding, grouped-query attention, SwiGLU, tied or untied LM head); an entry says only where its maths
 * differs, as llama.cpp's {@code src/models/qwen2.cpp} and {@code qwen3.cpp} differ:
 * <ul>
 * <li>{@code qwen2} (Qwen1.5, Qwen2, Qwen2.5): biases on the q, k and v projections; head size hidden / heads.
 * <li>{@code qwen3} (Qwen3): no q/k/v biases; an RMSNorm over each head of q and of k (weights
 * {@code self_attn.q_norm}, {@code self_attn.k_norm}, one per head dimension) before the rotary embedding; head size
 * from {@code head_dim}, which may differ from hidden / heads (Qwen3-0.6B: 128 where 1024 / 16 is 64).
 * </ul>
 * A new architecture of the same family is an entry here and, where its maths differs, a branch in
 * {@link Transformer} named after the difference (not after the architecture).
 */
public enum Architecture {
    QWEN2("qwen2", "Qwen1.5 / Qwen2 / Qwen2.5", true, false),
    QWEN3("qwen3", "Qwen3", false, true);

    private final String modelType;
    private final String models;
    private final boolean qkvBiases;
    private final boolean qkNorm;

    Architecture(String modelType, String models, boolean qkvBiases, boolean qkNorm) {
        this.modelType = modelType;
        this.models = models;
        this.qkvBiases = qkvBiases;
        this.qkNorm = qkNorm;
    }

    /** The entry for a {@code model_type}, if the engine runs it. */
    public static Optional<Architecture> of(String modelType) {
        return Arrays.stream(values()).filter(a -> a.modelType.equals(modelType)).findFirst();
    }

    /** The architectures the engine runs, for messages: {@code qwen2 (Qwen1.5 / Qwen2 / Qwen2.5), qwen3 (Qwen3)}. */
    public static String supported() {
        return Arrays.stream(values()).map(a -> a.modelType + " (" + a.models + ")").collect(Collectors.joining(", "));
    }

    /** {@code config.json}'s {@code model_type}. */
    public String modelType() {
        return modelType;
    }

    /** True when q, k and v projections have biases ({@code self_attn.{q,k,v}_proj.bias}). */
    public boolean qkvBiases() {
        return qkvBiases;
    }

    /** True when each head of q and k is RMS-normalised before the rotary embedding ({@code self_attn.{q,k}_norm.weight}). */
    public boolean qkNorm() {
        return qkNorm;
    }

    /** The head size: {@code head_dim} where the config gives it, else hidden / heads (as the reference and Transformers read it). */
    public int headDim(JsonNode config) {
        int heads = config.path("num_attention_heads").asInt(0);
        int fallback = heads > 0 ? config.path("hidden_size").asInt() / heads : 0;
        return config.path("head_dim").isInt() ? config.path("head_dim").asInt() : fallback;
    }
}
