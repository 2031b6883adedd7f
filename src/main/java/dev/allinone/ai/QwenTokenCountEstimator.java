package dev.allinone.ai;

import dev.allinone.lifecycle.ModelRuntime;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.TokenCountEstimator;
import jakarta.enterprise.context.ApplicationScoped;

/** Counts tokens with the model's own tokenizer, plus the chat template's per-message framing. */
@ApplicationScoped
public class QwenTokenCountEstimator implements TokenCountEstimator {

    /** {@code <|im_start|>}, the role word, a newline, {@code <|im_end|>} and a newline around each message. */
    private static final int FRAMING_TOKENS = 5;

    private final ModelRuntime runtime;

    QwenTokenCountEstimator(ModelRuntime runtime) {
        this.runtime = runtime;
    }

    @Override
    public int estimateTokenCountInText(String text) {
        return runtime.engine().model().tokenizer().encode(text).length;
    }

    @Override
    public int estimateTokenCountInMessage(ChatMessage message) {
        return estimateTokenCountInText(textOf(message)) + FRAMING_TOKENS;
    }

    /** The text the chat template writes for a message. */
    static String textOf(ChatMessage message) {
        return switch (message) {
            case SystemMessage s -> s.text();
            case UserMessage u -> u.hasSingleText() ? u.singleText() : u.toString();
            case AiMessage a -> a.text() == null ? "" : a.text();
            default -> message.toString();
        };
    }

    @Override
    public int estimateTokenCountInMessages(Iterable<ChatMessage> messages) {
        int total = 0;
        for (ChatMessage m : messages) {
            total += estimateTokenCountInMessage(m);
        }
        return total;
    }
}
