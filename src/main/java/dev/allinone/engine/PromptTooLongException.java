package dev.allinone.engine;

/** A prompt (with the room its answer needs) does not fit the model's context window. */
public class PromptTooLongException extends IllegalArgumentException {
    public PromptTooLongException(int promptTokens, int contextLength) {
        super("The prompt has " + promptTokens + " tokens; the context window holds " + contextLength + " tokens including the reply");
    }
}
