package dev.allinone.engine;

import com.github.tjake.jlama.safetensors.DType;

import java.util.Optional;

/** How the model's weights are held in memory. */
public enum WeightFormat {
    /** As stored in the checkpoint (BF16 for Qwen1.5-0.5B-Chat, F32 for some exports). */
    AS_STORED(null),
    /** 4-bit blocks of 32 with a scale, quantized at load time: about a quarter of BF16's weight memory. */
    Q4(DType.Q4);

    private final DType jlamaType;

    WeightFormat(DType jlamaType) {
        this.jlamaType = jlamaType;
    }

    Optional<DType> quantization() {
        return Optional.ofNullable(jlamaType);
    }
}
