package dev.allinone.engine.model;

import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.tokenizer.QwenTokenizer;

import java.nio.file.Path;
import java.util.Set;

/**
 * The one model of the process with everything that belongs to it.
 *
 * @param stopTokens     ids that end a reply ({@code <|im_end|>}, {@code <|endoftext|>})
 * @param defaults       sampling defaults from {@code generation_config.json}, overridden by configuration
 * @param derivedFiles   where files computed from the model are kept between starts (the Q4 copy's directory: kernel
 *                       layout, tokenizer tables, pinned prompts' KV); null for weights as stored
 * @param weightsIdentity what those files must have been computed from; null when {@code derivedFiles} is
 */
public record LoadedModel(
        QwenJlamaModel jlama,
        QwenTokenizer tokenizer,
        ChatTemplate template,
        Set<Integer> stopTokens,
        SamplingParams defaults,
        Path path,
        WeightFormat weights,
        long loadMillis,
        Path derivedFiles,
        String weightsIdentity) {

    /** Frees the weights (for a model no engine was made of; {@link dev.allinone.engine.InferenceEngine#close} does it for the others). */
    public void close() {
        jlama.close();
    }

    /** The kernels that run the Q4 products, attention and SwiGLU: a C variant, or {@link Kernels#JAVA}. */
    public Kernels kernels() {
        return jlama.kernelsInUse();
    }
}
