package dev.allinone.engine.model;

/** How the model's weights are held in memory. */
public enum WeightFormat {
    /** As stored in the checkpoint (BF16 for Qwen1.5-0.5B-Chat, F32 for some exports). */
    AS_STORED,
    /**
     * 4-bit blocks of 32 with one scale each for the layer matrices (embeddings stay as stored), quantized once
     * into a Q4 copy of the checkpoint that later starts load directly.
     */
    Q4
}
