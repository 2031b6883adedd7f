package dev.allinone.ai;

import dev.langchain4j.model.chat.response.StreamingHandle;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
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
    private final MeterRegistry metrics;
    private final DistributionSummary tokensPerSecond;

    ChatTurn(SentimentService sentiment, ChatAssistant assistant, InputCleaner cleaner, MeterRegistry metrics) {
        this.sentiment = sentiment;
        this.assistant = assistant;
        this.cleaner = cleaner;
        this.metrics = metrics;
        this.tokensPerSecond = DistributionSummary.builder("allinone.chat.decode.tokens.per.second")
                .description("A finished reply's tokens per second after its first token").register(metrics);
    }

    /** @throws InvalidInputException when the text cannot be a message (empty, too long, …) */
    public Message prepare(String text) {
        return new Message(cleaner.forChat(text), cleaner.forClassification(text));
    }

    /** {@link #prepare}, then {@link #run(Message, String, String, Listener, BooleanSupplier)}; bad text fails the turn. */
    public void run(String text, String conversationId, String channel, Listener listener, BooleanSupplier stopped) {
        Message message;
        try {
            message = prepare(text);
        } catch (RuntimeException e) {
            listener.failed(e);
            return;
        }
        run(message, conversationId, channel, listener, stopped);
    }

    /**
     * @param channel  websocket, rest or sse: the tag of the turn's metrics
     * @param stopped  polled while streaming; once true the generation is cancelled and the turn ends with done,
     *                 finish {@code cancelled}
     */
    public void run(Message message, String conversationId, String channel, Listener listener, BooleanSupplier stopped) {
        long start = System.nanoTime();
        Listener measured = new MeasuredListener(listener, channel, start);
        try {
            measured.sentiment(sentiment.judgeCleaned(message.forClassification()));
            stream(message.forChat(), conversationId, measured, stopped);
        } catch (RuntimeException e) {
            measured.failed(e);
        }
    }

    /** The turn's metrics, taken as its events pass: time to first token, duration, outcome, decode speed. */
    private final class MeasuredListener implements Listener {
        private final Listener target;
        private final String channel;
        private final long start;
        private boolean firstToken = true;

        MeasuredListener(Listener target, String channel, long start) {
            this.target = target;
            this.channel = channel;
            this.start = start;
        }

        @Override
        public void sentiment(SentimentVerdict verdict) {
            target.sentiment(verdict);
        }

        @Override
        public void token(String text) {
            if (firstToken) {
                firstToken = false;
                Timer.builder("allinone.chat.time.to.first.token").description("From the message to the reply's first text")
                        .tag("channel", channel).publishPercentileHistogram().register(metrics)
                        .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            }
            target.token(text);
        }

        @Override
        public void done(int tokens, long millis, String finish) {
            end(finish);
            if (tokens > 1 && millis > 0) {
                tokensPerSecond.record(tokens * 1000.0 / millis);
            }
            target.done(tokens, millis, finish);
        }

        @Override
        public void failed(Throwable error) {
            end("error");
            target.failed(error);
        }

        private void end(String outcome) {
            Timer.builder("allinone.chat.turn.duration").description("A whole chat turn: sentiment, then the reply")
                    .tags("channel", channel, "outcome", outcome).publishPercentileHistogram().register(metrics)
                    .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
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
