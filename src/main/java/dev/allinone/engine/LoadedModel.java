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

    /** True when the Q4 products run on the C kernels. */
    public boolean nativeKernels() {
        return jlama.nativeKernels();
    }
}
