package dev.allinone.api;

import dev.allinone.config.AllInOneConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * Which WebSocket chat turns run now and which wait. As many turns run at once as the engine decodes replies
 * together ({@code allinone.engine.max-batch}), one client at most {@code allinone.chat.max-active-per-client} of
 * them; the others wait in arrival order in one bounded queue ({@code allinone.chat.max-waiting-turns}), told their
 * place, and only a turn that finds that queue full is refused. A waiting turn whose client is at its cap lets the
 * turns behind it pass.
 */
@ApplicationScoped
@Startup // its gauge exists from the start, before the first WebSocket turn
public class TurnAdmission {

    /** The queue of waiting turns is full. */
    public static final class QueueFull extends Exception {
        QueueFull(String message) {
            super(message, null, false, false);
        }
    }

    /** A running turn's place; closing it lets the next turn start. */
    public final class Ticket implements AutoCloseable {
        private final String client;
        private boolean closed;

        private Ticket(String client) {
            this.client = client;
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (!closed) {
                    closed = true;
                    running--;
                    runningByClient.computeIfPresent(client, (k, n) -> n <= 1 ? null : n - 1);
                    changed.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** A waiting turn (identity matters: one client may have several turns waiting). */
    private static final class Waiter {
        final String client;

        Waiter(String client) {
            this.client = client;
        }
    }

    private static final long RECHECK_MILLIS = 250;

    private final int slots;
    private final int perClient;
    private final int maxWaiting;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final List<Waiter> waiting = new ArrayList<>();
    private final Map<String, Integer> runningByClient = new HashMap<>();
    private int running;

    @Inject
    TurnAdmission(AllInOneConfig config, MeterRegistry metrics) {
        this(config.engine().maxBatch(), config.chat().maxActivePerClient(), config.chat().maxWaitingTurns());
        Gauge.builder("allinone.chat.turns.waiting", this, TurnAdmission::waiting)
                .description("WebSocket chat turns waiting for a place before they reach the model").register(metrics);
    }

    TurnAdmission(int slots, int perClient, int maxWaiting) {
        this.slots = slots;
        this.perClient = perClient;
        this.maxWaiting = maxWaiting;
    }

    /**
     * Waits until the turn may run. Blocking: call it from a virtual thread.
     *
     * @param place     told the turn's place in the queue (1 = next) when it has to wait and whenever that changes
     * @param abandoned polled while waiting; once true the turn leaves the queue
     * @return the running turn's ticket, or null if it was abandoned while waiting
     */
    public Ticket enter(String client, IntConsumer place, BooleanSupplier abandoned) throws QueueFull, InterruptedException {
        int told = 0;
        lock.lock();
        try {
            if (waiting.isEmpty() && canRun(client)) {
                return start(client);
            }
            if (waiting.size() >= maxWaiting) {
                throw new QueueFull(waiting.size() + " chat turns are already waiting for the model");
            }
            Waiter entry = new Waiter(client);
            waiting.add(entry);
            try {
                while (true) {
                    if (firstThatCanRun() == entry) {
                        waiting.remove(entry);
                        return start(client);
                    }
                    int position = positionOf(entry);
                    if (position != told) {
                        told = position;
                        lock.unlock();
                        try {
                            place.accept(position);
                        } finally {
                            lock.lock();
                        }
                        continue;
                    }
                    if (abandoned.getAsBoolean()) {
                        waiting.remove(entry);
                        changed.signalAll();
                        return null;
                    }
                    changed.await(RECHECK_MILLIS, TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException | RuntimeException e) {
                waiting.remove(entry);
                changed.signalAll();
                throw e;
            }
        } finally {
            lock.unlock();
        }
    }

    /** Turns waiting now. */
    public int waiting() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    private boolean canRun(String client) {
        return running < slots && runningByClient.getOrDefault(client, 0) < perClient;
    }

    private Waiter firstThatCanRun() {
        for (Waiter w : waiting) {
            if (canRun(w.client)) {
                return w;
            }
        }
        return null;
    }

    private int positionOf(Waiter entry) {
        for (int i = 0; i < waiting.size(); i++) {
            if (waiting.get(i) == entry) {
                return i + 1;
            }
        }
        throw new IllegalStateException("not waiting");
    }

    private Ticket start(String client) {
        running++;
        runningByClient.merge(client, 1, Integer::sum);
        changed.signalAll();
        return new Ticket(client);
    }
}
