package dev.allinone.engine.sampling;

import java.util.List;

/**
 * A written token's log-probability under the model (the log-softmax of its raw logits over the tokenizer's ids,
 * before repetition penalty, temperature or truncation), and the likeliest tokens at that position.
 */
public record TokenLogprobs(Choice chosen, List<Choice> top) {

    /** @param bytes the token's UTF-8 bytes (a token may hold part of a character) */
    public record Choice(int id, byte[] bytes, double logprob) {
    }
}
