package dev.allinone.engine;

/**
 * @param text             the reply, without the model's thinking
 * @param firstTokenMillis time from submission to the first generated token
 * @param totalMillis      time from submission to the end
 * @param reasoning        the model's thinking ({@link GenerationListener#onReasoning}); empty when it wrote none
 */
public record GenerationResult(String text, int promptTokens, int generatedTokens, FinishReason finishReason,
        long firstTokenMillis, long totalMillis, String reasoning) {

    public GenerationResult(String text, int promptTokens, int generatedTokens, FinishReason finishReason, long firstTokenMillis,
            long totalMillis) {
        this(text, promptTokens, generatedTokens, finishReason, firstTokenMillis, totalMillis, "");
    }

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
