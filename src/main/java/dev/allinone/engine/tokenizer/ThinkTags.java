package dev.allinone.engine.tokenizer;

/**
 * The ids of a model's {@code <think>} and {@code </think>} tokens (Qwen3 writes its thinking between them), or
 * {@link #NONE} for a tokenizer without them (Qwen1.5, Qwen2.5). Added tokens, so each is always one id: a reply can be
 * split into thinking and answer id by id, which no stream of text pieces can split wrongly.
 */
public record ThinkTags(int open, int close) {

    public static final ThinkTags NONE = new ThinkTags(-1, -1);

    /** The tags as the tokenizer's added tokens name them. */
    public static ThinkTags of(QwenTokenizer tokenizer) {
        Integer open = tokenizer.specialTokens().get("<think>");
        Integer close = tokenizer.specialTokens().get("</think>");
        return open == null || close == null ? NONE : new ThinkTags(open, close);
    }

    public boolean present() {
        return open >= 0;
    }

    /**
     * Whether a reply that follows {@code prompt} starts inside a thinking block: the prompt's last tag is an open one
     * (a template that ends the prompt with {@code <think>\n}, as thinking-only Qwen3 variants do).
     */
    public boolean openAtEnd(int[] prompt) {
        for (int i = prompt.length - 1; i >= 0 && present(); i--) {
            if (prompt[i] == open || prompt[i] == close) {
                return prompt[i] == open;
            }
        }
        return false;
    }
}
