package dev.allinone.ai;

import dev.allinone.engine.GenerationResult;
import dev.langchain4j.model.chat.response.ChatResponseMetadata;
import dev.langchain4j.model.output.TokenUsage;

/** Response metadata of a generated reply: the engine's own account of it (timings, why it ended). */
public class GenerationMetadata extends ChatResponseMetadata {

    private final GenerationResult result;

    private GenerationMetadata(Builder builder) {
        super(builder);
        this.result = builder.result;
    }

    static GenerationMetadata of(GenerationResult result) {
        Builder b = new Builder();
        b.result = result;
        return b.tokenUsage(new TokenUsage(result.promptTokens(), result.generatedTokens()))
                .finishReason(QwenStreamingChatModel.finishReason(result))
                .build();
    }

    public GenerationResult result() {
        return result;
    }

    /** Kept through LangChain4j's re-building of the final response (it sums token usage via toBuilder). */
    @Override
    public Builder toBuilder() {
        Builder b = new Builder();
        b.result = result;
        return (Builder) toBuilder(b);
    }

    static class Builder extends ChatResponseMetadata.Builder<Builder> {
        private GenerationResult result;

        @Override
        public GenerationMetadata build() {
            return new GenerationMetadata(this);
        }
    }
}
