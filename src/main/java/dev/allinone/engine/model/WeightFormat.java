package dev.allinone.engine.model;

import dev.allinone.engine.kernels.MatrixFormat;

/**
 * How the model's weights are held in memory ({@code allinone.model.weights}). A quantized format names the kernels'
 * {@link MatrixFormat} entry its layer matrices are written in; that entry says how they are packed and which
 * kernels multiply them. A new format is a constant here naming a new {@link MatrixFormat} entry (see there), and
 * the writing of the checkpoint's copy in it ({@link QuantizedCheckpoint}).
 */
public enum WeightFormat {
    /** As stored in the checkpoint (BF16 for Qwen1.5-0.5B-Chat, F32 for some exports). */
    AS_STORED(null),
    /**
     * 4-bit blocks of 32 with one scale each for the layer matrices (embeddings stay as stored), quantized once
     * into a Q4 copy of the checkpoint that later starts load directly.
     */
    Q4(MatrixFormat.Q4),
    /**
     * 8-bit blocks of 32 with one scale each (as llama.cpp's Q8_0) for the layer matrices and the LM head, quantized
     * once into a Q8 copy of the checkpoint; about 8.5 bits a weight, much closer to the stored weights than Q4.
     */
    Q8(MatrixFormat.Q8);

    private final MatrixFormat matrices;

    WeightFormat(MatrixFormat matrices) {
        this.matrices = matrices;
    }

    /** True when the layer matrices are quantized into a copy of the checkpoint (files computed from it are kept beside it). */
    boolean quantized() {
        return matrices != null;
    }

    /**
     * Whether Jlama's own kernels take 8-bit activations against these weights (its working quantization type, I8),
     * as the format's entry says; else F32.
     */
    boolean eightBitActivations() {
        return matrices != null && matrices.eightBitActivations();
    }
}
