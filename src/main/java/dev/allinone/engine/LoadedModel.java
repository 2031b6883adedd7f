package dev.allinone.engine;

import dev.allinone.engine.tokenizer.QwenTokenizer;

import java.nio.file.Path;
import java.util.Set;

/**
 * The one model of the process with everything that belongs to it.
 *
 * @param stopTokens     ids that end a reply ({@code <|im_end|>}, {@code <|endoftext|>})
 * @param defaults       sampling defaults from {@code generation_config.json}, overridden by configuration
 */
public record LoadedModel(
        QwenJlamaModel jlama,
        QwenTokenizer tokenizer,
        ChatTemplate template,
        Set<Integer> stopTokens,
        SamplingParams defaults,
        Path path,
        WeightFormat weights,
        long loadMillis) {

    /** The kernels that run the Q4 products, attention and SwiGLU: a C variant, or {@link Kernels#JAVA}. */
    public Kernels kernels() {
        return jlama.kernelsInUse();
    }
}
