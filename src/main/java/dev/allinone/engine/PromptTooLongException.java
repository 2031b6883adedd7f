package dev.allinone.engine;

/** A prompt (with the room its answer needs) does not fit the model's context window. */
public class PromptTooLongException extends IllegalArgumentException {
    public PromptTooLongException(int promptTokens, int contextLength) {
        super("The prompt has " + promptTokens + " tokens; the context window holds " + contextLength + " tokens including the reply");
    }

    private PromptTooLongException(String message) {
        super(message);
    }

    /** The key/value memory budget, not the context window, is what the prompt does not fit. */
    static PromptTooLongException forMemory(int promptTokens, int roomTokens) {
        return new PromptTooLongException("The prompt has " + promptTokens + " tokens; the key/value memory "
                + "(allinone.engine.kv-cache-memory) has room for " + roomTokens + " tokens including the reply");
    }
}
