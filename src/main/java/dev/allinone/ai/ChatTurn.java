package dev.allinone.ai;

import dev.langchain4j.model.chat.response.StreamingHandle;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * The chat use case: one user message through both tasks, the sentiment first, then the streamed reply. Blocking:
 * callers run it on a virtual thread, never on the event loop. Events reach the listener in order, from the calling
 * thread only; the adapters turn them into WebSocket frames or server-sent events.
 */
@ApplicationScoped
public class ChatTurn {

    /** What a turn tells its caller, in this order: the sentiment, the reply's pieces, then done — or failed. */
    public interface Listener {
        void sentiment(SentimentVerdict verdict);

        void token(String text);

        /** @param finish stop, length, context_full or cancelled */
        void done(int tokens, long millis, String finish);

        void failed(Throwable error);
    }

    /** A message cleaned once for both tasks (the reply keeps line breaks; classification collapses them). */
    public record Message(String forChat, String forClassification) {
    }

    private final SentimentService sentiment;
    private final ChatAssistant assistant;
    private final InputCleaner cleaner;

    ChatTurn(SentimentService sentiment, ChatAssistant assistant, InputCleaner cleaner) {
        this.sentiment = sentiment;
        this.assistant = assistant;
        this.cleaner = cleaner;
    }

    /** @throws InvalidInputException when the text cannot be a message (empty, too long, …) */
    public Message prepare(String text) {
        return new Message(cleaner.forChat(text), cleaner.forClassification(text));
    }

    /** {@link #prepare}, then {@link #run(Message, String, Listener, BooleanSupplier)}; bad text fails the turn. */
    public void run(String text, String conversationId, Listener listener, BooleanSupplier stopped) {
        Message message;
        try {
            message = prepare(text);
        } catch (RuntimeException e) {
            listener.failed(e);
            return;
        }
        run(message, conversationId, listener, stopped);
    }

    /**
     * @param stopped polled while streaming; once true the generation is cancelled and the turn ends with done,
     *                finish {@code cancelled}
     */
    public void run(Message message, String conversationId, Listener listener, BooleanSupplier stopped) {
        try {
            listener.sentiment(sentiment.judgeCleaned(message.forClassification()));
            stream(message.forChat(), conversationId, listener, stopped);
        } catch (RuntimeException e) {
            listener.failed(e);
        }
    }

    /** One event of the stream, handed from LangChain4j's callback threads to the caller's thread. */
    private sealed interface Event {
        record Token(String text) implements Event {
        }

        record Done(int tokens, long millis, String finish) implements Event {
        }

        record Failed(Throwable error) implements Event {
        }
    }

    private void stream(String text, String conversationId, Listener listener, BooleanSupplier stopped) {
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        AtomicReference<StreamingHandle> handle = new AtomicReference<>();
        assistant.chat(conversationId, text)
                .onPartialResponseWithContext((partial, context) -> {
                    handle.compareAndSet(null, context.streamingHandle());
                    events.add(new Event.Token(partial.text()));
                })
                .onCompleteResponse(response -> {
                    if (response.metadata() instanceof GenerationMetadata g) {
                        events.add(new Event.Done(g.result().generatedTokens(), g.result().totalMillis(),
                                g.result().finishReason().name().toLowerCase(Locale.ROOT)));
                    } else {
                        events.add(new Event.Failed(new IllegalStateException("The reply lost its generation metadata")));
                    }
                })
                .onError(error -> events.add(new Event.Failed(error)))
                .start();
        boolean cancelRequested = false;
        boolean interrupted = false;
        try {
            while (true) {
                Event event = null;
                try {
                    event = events.poll(50, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
                cancelRequested |= interrupted || stopped.getAsBoolean();
                StreamingHandle h = handle.get();
                if (cancelRequested && h != null && !h.isCancelled()) {
                    h.cancel(); // takes effect before the next token; the engine then completes as "cancelled"
                }
                switch (event) {
                    case null -> {
                    }
                    case Event.Token t -> listener.token(t.text());
                    case Event.Done d -> {
                        listener.done(d.tokens(), d.millis(), d.finish());
                        return;
                    }
                    case Event.Failed f -> {
                        listener.failed(f.error());
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
