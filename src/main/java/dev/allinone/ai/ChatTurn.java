package dev.allinone.ai;

import dev.langchain4j.model.chat.response.StreamingHandle;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * The chat use case: one user message through its analyses (sentiment by default), then the streamed reply. Blocking:
 * callers run it on a virtual thread, never on the event loop. Events reach the listener in order, from the calling
 * thread only; the adapters turn them into WebSocket frames or server-sent events.
 */
@ApplicationScoped
public class ChatTurn {

    /** What a turn tells its caller, in this order: each analysis, the reply's pieces, then done — or failed. */
    public interface Listener {
        void analysis(TaskResult result);

        void token(String text);

        /** @param finish stop, length, context_full or cancelled */
        void done(int tokens, long millis, String finish);

        void failed(Throwable error);
    }

    /** A message cleaned once for every use (the reply keeps line breaks; classification collapses them). */
    public record Message(String forChat, String forClassification) {
    }

    /** A task to run on the message before the reply, with the parameters it takes. */
    public record Analysis(TaskDefinition task, Map<String, String> parameters) {
    }

    /** A turn checked before anything runs: the cleaned message and its analyses. */
    public record Request(Message message, List<Analysis> analyses) {
    }

    /** When a message names no tasks. */
    public static final List<String> DEFAULT_ANALYSES = List.of(SentimentService.TASK);
    public static final int MAX_ANALYSES = 5;

    private final TaskRunner tasks;
    private final TaskRegistry registry;
    private final ChatAssistant assistant;
    private final InputCleaner cleaner;
    private final MeterRegistry metrics;
    private final DistributionSummary tokensPerSecond;

    ChatTurn(TaskRunner tasks, TaskRegistry registry, ChatAssistant assistant, InputCleaner cleaner, MeterRegistry metrics) {
        this.tasks = tasks;
        this.registry = registry;
        this.assistant = assistant;
        this.cleaner = cleaner;
        this.metrics = metrics;
        this.tokensPerSecond = DistributionSummary.builder("allinone.chat.decode.tokens.per.second")
                .description("A finished reply's tokens per second after its first token").register(metrics);
    }

    /**
     * Cleans the text and checks the analyses (null: {@link #DEFAULT_ANALYSES}) and their parameters.
     *
     * @throws InvalidInputException when the text cannot be a message or a task or parameter is wrong
     */
    public Request prepare(String text, List<String> taskNames, Map<String, String> parameters) {
        Message message = new Message(cleaner.forChat(text), cleaner.forClassification(text));
        List<String> names = taskNames == null ? DEFAULT_ANALYSES : taskNames;
        if (names.size() > MAX_ANALYSES || new HashSet<>(names).size() < names.size()) {
            throw InvalidInputException.invalid("bad_tasks", "tasks", "At most " + MAX_ANALYSES + " different tasks per message");
        }
        Map<String, String> given = parameters == null ? Map.of() : parameters;
        Set<String> used = new HashSet<>();
        List<Analysis> analyses = new ArrayList<>();
        for (String name : names) {
            TaskDefinition task = registry.find(name).orElseThrow(() -> InvalidInputException.invalid("unknown_task", "tasks",
                    UnknownTaskException.message(name, registry.all().stream().map(TaskDefinition::name).toList())));
            Map<String, String> own = new LinkedHashMap<>();
            given.forEach((k, v) -> {
                if (task.variables().contains(k)) {
                    own.put(k, v);
                }
            });
            used.addAll(own.keySet());
            analyses.add(new Analysis(task, tasks.checkParameters(task, own)));
        }
        for (String name : given.keySet()) {
            if (!used.contains(name)) {
                throw InvalidInputException.invalid("unknown_param", "params." + name, "No chosen task takes the parameter '" + name + "'");
            }
        }
        return new Request(message, analyses);
    }

    /** {@link #prepare}, then {@link #run(Request, String, String, Listener, BooleanSupplier)}; a bad request fails the turn. */
    public void run(String text, List<String> taskNames, Map<String, String> parameters, String conversationId, String channel,
            Listener listener, BooleanSupplier stopped) {
        Request request;
        try {
            request = prepare(text, taskNames, parameters);
        } catch (RuntimeException e) {
            listener.failed(e);
            return;
        }
        run(request, conversationId, channel, listener, stopped);
    }

    /**
     * @param channel  websocket, rest or sse: the tag of the turn's metrics
     * @param stopped  polled while streaming; once true the generation is cancelled and the turn ends with done,
     *                 finish {@code cancelled}
     */
    public void run(Request request, String conversationId, String channel, Listener listener, BooleanSupplier stopped) {
        long start = System.nanoTime();
        Listener measured = new MeasuredListener(listener, channel, start);
        try {
            for (Analysis analysis : request.analyses()) {
                measured.analysis(tasks.runCleaned(analysis.task(), request.message(), analysis.parameters()));
            }
            stream(request.message().forChat(), conversationId, measured, stopped);
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
        public void analysis(TaskResult result) {
            target.analysis(result);
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
            // The AI service keeps a memory object per id; it holds nothing (the store does), so it goes with the turn.
            assistant.evictChatMemory(conversationId);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
