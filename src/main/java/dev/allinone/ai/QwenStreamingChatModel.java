package dev.allinone.ai;

import dev.allinone.engine.Generation;
import dev.allinone.engine.GenerationListener;
import dev.allinone.engine.GenerationResult;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.lifecycle.ModelRuntime;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * LangChain4j's streaming chat model over the shared engine. Each partial response is whole characters; its
 * context carries a {@link StreamingHandle} that cancels the generation before its next token.
 */
@ApplicationScoped
public class QwenStreamingChatModel implements StreamingChatModel {

    private final ModelRuntime runtime;

    QwenStreamingChatModel(ModelRuntime runtime) {
        this.runtime = runtime;
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        InferenceEngine engine = runtime.engine();
        int[] prompt = ChatMessages.prompt(request, engine.model());
        HandleRef handle = new HandleRef();
        handle.attach(engine.generate(prompt,
                ChatMessages.sampling(request.parameters(), engine.model().defaults()), new GenerationListener() {
                    @Override
                    public void onText(String piece) {
                        handler.onPartialResponse(new PartialResponse(piece), new PartialResponseContext(handle));
                    }

                    @Override
                    public void onComplete(GenerationResult result) {
                        // Off the model thread: the AI service now writes the reply to the conversation store (Redis
                        // perhaps), which must not hold up the other sequences' next step.
                        ChatResponse response = ChatResponse.builder()
                                .aiMessage(AiMessage.from(result.text()))
                                .metadata(GenerationMetadata.of(result))
                                .build();
                        Thread.ofVirtual().name("chat-reply-complete").start(() -> handler.onCompleteResponse(response));
                    }

                    @Override
                    public void onError(Throwable error) {
                        handler.onError(error);
                    }
                }));
    }

    static FinishReason finishReason(GenerationResult result) {
        return switch (result.finishReason()) {
            case STOP -> FinishReason.STOP;
            case LENGTH, CONTEXT_FULL -> FinishReason.LENGTH;
            case CANCELLED -> FinishReason.OTHER;
        };
    }

    /** Cancels the generation, even if asked before the engine has handed it back. */
    private static final class HandleRef implements StreamingHandle {
        private volatile Generation generation;
        private volatile boolean cancelRequested;

        void attach(Generation g) {
            generation = g;
            if (cancelRequested) {
                g.cancel();
            }
        }

        @Override
        public void cancel() {
            cancelRequested = true;
            Generation g = generation;
            if (g != null) {
                g.cancel();
            }
        }

        @Override
        public boolean isCancelled() {
            return cancelRequested;
        }
    }
}
