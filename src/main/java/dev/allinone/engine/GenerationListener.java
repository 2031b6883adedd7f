package dev.allinone.engine;

import dev.allinone.engine.sampling.TokenLogprobs;

/** Receives a reply as it is generated. Called on the model thread: implementations must not block. */
public interface GenerationListener {

    /** A piece of text that ends on a character boundary (never half of a multi-byte character). */
    void onText(String piece);

    /**
     * A piece of the model's thinking (what a Qwen3 writes between {@code <think>} and {@code </think>}): never part
     * of the reply's text; the tags themselves are not reported.
     */
    default void onReasoning(String piece) {
    }

    /**
     * A written token's log-probabilities, before the text its own text begins in; only for a reply that asked for
     * them, and only for tokens whose text is part of the reply (not those a stop string cut off).
     */
    default void onToken(TokenLogprobs token) {
    }

    /**
     * With {@link GenerationOptions#echo()}: the log-probability of each prompt token after the first under the
     * tokens before it, in order, before any reply text.
     */
    default void onPromptToken(TokenLogprobs token) {
    }

    void onComplete(GenerationResult result);

    void onError(Throwable error);
}
