package dev.allinone.api;

import dev.allinone.ai.ChatAssistant;
import dev.allinone.ai.GenerationMetadata;
import dev.allinone.ai.InputCleaner;
import dev.allinone.ai.SentimentService;
import dev.allinone.ai.SentimentVerdict;
import dev.langchain4j.model.chat.response.StreamingHandle;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One user message through both tasks: the sentiment first, then the streamed reply. Blocking: callers run it
 * on a virtual thread, never on the event loop. Frames go to the sink in order, from the calling thread only.
 */
@ApplicationScoped
public class ChatTurn {

    private final SentimentService sentiment;
    private final ChatAssistant assistant;
    private final InputCleaner cleaner;

    ChatTurn(SentimentService sentiment, ChatAssistant assistant, InputCleaner cleaner) {
        this.sentiment = sentiment;
        this.assistant = assistant;
        this.cleaner = cleaner;
    }

    /**
     * @param stopped polled while streaming; once true the generation is cancelled and the turn ends with a
     *                {@code done} frame whose finish is {@code cancelled}
     */
    public void run(String text, String conversationId, Consumer<Frame> sink, BooleanSupplier stopped) {
        try {
            String chatText = cleaner.forChat(text);
            SentimentVerdict verdict = sentiment.judge(text);
            sink.accept(new Frame.Sentiment(verdict.label().name(), verdict.score()));
            stream(chatText, conversationId, sink, stopped);
        } catch (RuntimeException e) {
            sink.accept(Failure.of(e).frame());
        }
    }

    private void stream(String text, String conversationId, Consumer<Frame> sink, BooleanSupplier stopped) {
        BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
        AtomicReference<StreamingHandle> handle = new AtomicReference<>();
        assistant.chat(conversationId, text)
                .onPartialResponseWithContext((partial, context) -> {
                    handle.compareAndSet(null, context.streamingHandle());
                    frames.add(new Frame.Token(partial.text()));
                })
                .onCompleteResponse(response -> {
                    if (response.metadata() instanceof GenerationMetadata g) {
                        frames.add(new Frame.Done(g.result().generatedTokens(), g.result().totalMillis(),
                                g.result().finishReason().name().toLowerCase(Locale.ROOT)));
                    } else {
                        frames.add(Failure.of(new IllegalStateException("The reply lost its generation metadata")).frame());
                    }
                })
                .onError(error -> frames.add(Failure.of(error).frame()))
                .start();
        boolean cancelRequested = false;
        boolean interrupted = false;
        try {
            while (true) {
                Frame frame = null;
                try {
                    frame = frames.poll(50, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
                cancelRequested |= interrupted || stopped.getAsBoolean();
                StreamingHandle h = handle.get();
                if (cancelRequested && h != null && !h.isCancelled()) {
                    h.cancel(); // takes effect before the next token; the engine then completes as "cancelled"
                }
                if (frame != null) {
                    sink.accept(frame);
                    if (frame instanceof Frame.Done || frame instanceof Frame.Error) {
                        return;
                    }
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
