package dev.allinone.engine;

/**
 * @param firstTokenMillis time from submission to the first generated token
 * @param totalMillis      time from submission to the end
 */
public record GenerationResult(String text, int promptTokens, int generatedTokens, FinishReason finishReason,
        long firstTokenMillis, long totalMillis) {

    public enum FinishReason {
        /** The model ended its turn ({@code <|im_end|>} or {@code <|endoftext|>}). */
        STOP,
        /** The max-new-tokens limit was reached. */
        LENGTH,
        /** The context window is full. */
        CONTEXT_FULL,
        /** The caller cancelled (stop button, closed socket). */
        CANCELLED
    }
}
