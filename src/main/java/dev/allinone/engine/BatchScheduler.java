package dev.allinone.engine;

import dev.allinone.engine.kernels.KernelThreads;
import dev.allinone.engine.model.Transformer;
import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.PrefixCache;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.jboss.logging.Logger;

/**
 * The model thread's loop: continuous batching. Every step takes each running job a little further in one pass
 * through the layers — the next token of every reply, a chunk of every prompt still being read — so the weights are
 * read once for all of them. A long prompt is read in chunks of at most {@link #PREFILL_ROWS_WHILE_DECODING} rows
 * while replies are streaming, so it slows them down for a step instead of stopping them.
 *
 * <p>Up to {@code maxBatch} replies and as many label scorings run at once (scorings do not wait behind long
 * replies); the rest wait in a bounded queue, in order. KV memory: a job reserves its prompt's blocks when it starts
 * and more as its reply grows; when the budget runs out, cached prefixes are evicted first, then the newest running
 * job gives way (its KV goes to the cache, it waits at the head of the queue and resumes from what the cache still
 * holds). A job that cannot fit even alone fails with {@link PromptTooLongException} (a reply ends with
 * {@code CONTEXT_FULL}).
 */
final class BatchScheduler {

    private static final Logger LOG = Logger.getLogger(BatchScheduler.class);

    /** Prompt rows per step while replies stream: about a tenth of a second of prompt reading on two cores. */
    static final int PREFILL_ROWS_WHILE_DECODING = 64;

    private final JobContext ctx;
    private final KvBlockPool pool;
    private final InferenceEngine.Limits limits;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workAvailable = lock.newCondition();
    private final Condition idle = lock.newCondition();
    private final Deque<EngineJob> waitingScorings = new ArrayDeque<>();
    private final Deque<EngineJob> waitingReplies = new ArrayDeque<>();
    private final Deque<Runnable> commands = new ArrayDeque<>();
    private final List<EngineJob> active = new ArrayList<>();
    private final AtomicLong admissions = new AtomicLong();
    private int admitted;
    private boolean workSinceCompaction;
    private volatile boolean draining;
    private volatile boolean closed;

    BatchScheduler(JobContext ctx, KvBlockPool pool, InferenceEngine.Limits limits) {
        this.ctx = ctx;
        this.pool = pool;
        this.limits = limits;
    }

    long nextOrder() {
        return admissions.incrementAndGet();
    }

    /** Queues a job; replies wait behind replies, scorings (and pins) behind scorings. */
    void submit(EngineJob job) {
        lock.lock();
        try {
            if (closed || draining) {
                throw new ShuttingDownException("The service is shutting down and takes no new requests");
            }
            if (admitted >= limits.maxQueued()) {
                throw new EngineBusyException("The model is busy: " + admitted + " requests are already waiting or running");
            }
            admitted++;
            job.onEnd = () -> {
                ctx.counters().publishKv(pool, ctx.prefixCache()); // what the caller may read once told of the end
                done();
            };
            queueOf(job).addLast(job);
            workAvailable.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code command} on the model thread before the next step. */
    void command(Runnable command) {
        lock.lock();
        try {
            commands.addLast(command);
            workAvailable.signal();
        } finally {
            lock.unlock();
        }
    }

    int load() {
        lock.lock();
        try {
            return admitted;
        } finally {
            lock.unlock();
        }
    }

    /** Requests queued for a place in the batch, not yet running. */
    int waiting() {
        lock.lock();
        try {
            return waitingScorings.size() + waitingReplies.size();
        } finally {
            lock.unlock();
        }
    }

    private Deque<EngineJob> queueOf(EngineJob job) {
        return job instanceof GenerationJob ? waitingReplies : waitingScorings;
    }

    void runLoop() {
        while (!closed) {
            try {
                if (!awaitWork()) {
                    compactHeap();
                    continue;
                }
            } catch (InterruptedException e) {
                return;
            }
            try {
                runCommands();
                admit();
                if (!active.isEmpty()) {
                    step();
                }
            } catch (Throwable t) {
                // A fault outside any one job's work (a bug): fail what runs rather than lose the model thread.
                LOG.errorf(t, "Engine step failed");
                for (EngineJob job : List.copyOf(active)) {
                    job.fail(t);
                    finish(job);
                }
            }
            ctx.counters().publishKv(pool, ctx.prefixCache());
        }
    }

    /** @return false when the engine has been idle for {@code idleCompactionMillis} after some work */
    private boolean awaitWork() throws InterruptedException {
        lock.lock();
        try {
            long idleNanos = TimeUnit.MILLISECONDS.toNanos(limits.idleCompactionMillis());
            while (active.isEmpty() && waitingScorings.isEmpty() && waitingReplies.isEmpty() && commands.isEmpty()) {
                if (!workSinceCompaction || idleNanos <= 0) {
                    workAvailable.await();
                } else if ((idleNanos = workAvailable.awaitNanos(idleNanos)) <= 0 && waitingScorings.isEmpty()
                        && waitingReplies.isEmpty() && commands.isEmpty()) {
                    workSinceCompaction = false;
                    return false;
                }
            }
            workSinceCompaction = true;
            return true;
        } finally {
            lock.unlock();
        }
    }

    /**
     * A full collection while nothing runs. Requests promote medium-lived objects (a reply's buffers live for its
     * whole stream) into the old generation; without a full collection every burst of load spreads them over heap
     * pages not touched before, and the resident size creeps up to the heap cap. Compacting when the engine goes
     * idle keeps the old generation on the pages it already has (load tool: RSS flat run after run).
     */
    private void compactHeap() {
        long start = System.nanoTime();
        System.gc();
        ctx.counters().idleCompactions.incrementAndGet();
        LOG.debugf("Idle heap compaction took %d ms", (System.nanoTime() - start) / 1_000_000);
    }

    private void runCommands() {
        while (true) {
            Runnable command;
            lock.lock();
            try {
                command = commands.pollFirst();
            } finally {
                lock.unlock();
            }
            if (command == null) {
                return;
            }
            command.run();
        }
    }

    /** Starts waiting jobs while the batch has room and the KV budget lets them in. */
    private void admit() {
        admitFrom(waitingScorings);
        admitFrom(waitingReplies);
    }

    private void admitFrom(Deque<EngineJob> queue) {
        while (true) {
            EngineJob job;
            lock.lock();
            try {
                long running = active.stream().filter(j -> queueOf(j) == queue).count();
                if (running >= limits.maxBatch() || (job = queue.pollFirst()) == null) {
                    return;
                }
            } finally {
                lock.unlock();
            }
            if (job.isCancelled()) {
                job.finishCancelled();
                job.end();
            } else if (System.nanoTime() > job.deadline) {
                job.fail(new TimeoutException("Request exceeded " + limits.requestTimeoutMillis() + " ms"));
                job.end();
            } else if (job.start()) {
                active.add(job);
            } else if (active.isEmpty()) {
                // Nothing else holds memory and every unpinned prefix is gone: it will never fit.
                job.fail(PromptTooLongException.forMemory(job.tokenCount(), pool.available() * pool.layout().blockTokens()));
                job.end();
            } else {
                lock.lock();
                try {
                    queue.addFirst(job); // waits until running jobs free memory
                } finally {
                    lock.unlock();
                }
                return;
            }
        }
    }

    private void step() {
        for (EngineJob job : List.copyOf(active)) {
            if (job.isCancelled()) {
                job.finishCancelled();
                finish(job);
            } else if (System.nanoTime() > job.deadline) {
                job.fail(new TimeoutException("Request exceeded " + limits.requestTimeoutMillis() + " ms"));
                finish(job);
            }
        }
        List<EngineJob> batch = new ArrayList<>();
        List<Transformer.Segment> segments = new ArrayList<>();
        boolean streaming = active.stream().anyMatch(j -> j.pending() == 1);
        int prefillRows = streaming ? PREFILL_ROWS_WHILE_DECODING : Transformer.MAX_CHUNK;
        for (EngineJob job : List.copyOf(active)) {
            if (!active.contains(job)) {
                continue; // gave way to an older job in this loop
            }
            int pending = job.pending();
            int n = pending == 1 ? 1 : Math.min(pending, prefillRows);
            if (n <= 0 || !makeRoom(job, n, batch)) {
                continue;
            }
            if (pending > 1) {
                prefillRows -= n;
            }
            segments.add(new Transformer.Segment(job.tokens(), job.kv.length(), n, job.kv));
            batch.add(job);
        }
        if (batch.isEmpty()) {
            return;
        }
        float[][] hidden;
        try {
            hidden = ctx.transformer().forward(segments);
        } catch (Throwable t) {
            LOG.errorf(t, "Inference step failed");
            for (EngineJob job : batch) {
                job.fail(t);
                finish(job);
            }
            return;
        }
        deliver(batch, hidden);
    }

    /** Hands each job whose KV is complete its output; the replies' logits come from one LM-head product. */
    private void deliver(List<EngineJob> batch, float[][] hidden) {
        List<Integer> wantLogits = new ArrayList<>();
        float[][] logits = new float[batch.size()][];
        for (int i = 0; i < batch.size(); i++) {
            if (batch.get(i).pending() == 0 && (logits[i] = batch.get(i).logitsBuffer()) != null) {
                wantLogits.add(i);
            }
        }
        if (!wantLogits.isEmpty()) {
            ctx.jlama().allLogits(wantLogits.stream().map(i -> hidden[i]).toArray(float[][]::new),
                    wantLogits.stream().map(i -> logits[i]).toArray(float[][]::new));
            // Sampling scans the whole vocabulary once or twice per reply: split over the cores, not one after another.
            KernelThreads.get().run(0, wantLogits.size(), (first, count) -> {
                for (int k = first; k < first + count; k++) {
                    int i = wantLogits.get(k);
                    batch.get(i).prepare(logits[i]);
                }
            });
        }
        for (int i = 0; i < batch.size(); i++) {
            EngineJob job = batch.get(i);
            if (job.pending() > 0) {
                continue;
            }
            boolean more;
            try {
                more = job.onOutput(hidden[i], logits[i]);
            } catch (Throwable t) {
                LOG.errorf(t, "Inference step failed");
                job.fail(t);
                more = false;
            }
            if (!more) {
                finish(job);
            }
        }
    }

    /**
     * Reserves KV for {@code n} more positions of {@code job}, evicting cached prefixes, then preempting the newest
     * running jobs not yet in this step's batch (possibly {@code job} itself). False if {@code job} cannot go on now.
     */
    private boolean makeRoom(EngineJob job, int n, List<EngineJob> batch) {
        PrefixCache cache = ctx.prefixCache();
        while (!cache.reserveFor(job.kv, n)) {
            EngineJob victim = active.stream().filter(j -> !batch.contains(j)).reduce((a, b) -> a.order > b.order ? a : b).orElseThrow();
            if (victim == job && active.size() == 1) {
                outOfMemory(job);
                return false;
            }
            active.remove(victim);
            victim.preempt();
            lock.lock();
            try {
                queueOf(victim).addFirst(victim);
            } finally {
                lock.unlock();
            }
            LOG.debugf("KV budget full: a running request gives way and resumes later");
            if (victim == job) {
                return false;
            }
        }
        return true;
    }

    /** The job alone does not fit in the KV budget. */
    private void outOfMemory(EngineJob job) {
        if (job instanceof GenerationJob reply) {
            reply.finish(GenerationResult.FinishReason.CONTEXT_FULL);
        } else {
            job.fail(PromptTooLongException.forMemory(job.tokenCount(), pool.capacity() * pool.layout().blockTokens()));
        }
        finish(job);
    }

    private void finish(EngineJob job) {
        active.remove(job);
        job.end();
    }

    private void done() {
        lock.lock();
        try {
            if (--admitted == 0) {
                idle.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    boolean drain(Duration grace) throws InterruptedException {
        draining = true;
        long deadline = System.nanoTime() + grace.toNanos();
        lock.lock();
        try {
            while (admitted > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                idle.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** After the model thread stopped: every job still waiting or running fails. */
    void failAll() {
        lock.lock();
        try {
            closed = true;
            List<EngineJob> left = new ArrayList<>(active);
            left.addAll(waitingScorings);
            left.addAll(waitingReplies);
            for (EngineJob job : left) {
                // Failing ends the job: its KV is freed (a failed job keeps nothing).
                job.fail(new ShuttingDownException("The service shut down before this request finished"));
            }
            active.clear();
            waitingScorings.clear();
            waitingReplies.clear();
            admitted = 0;
            idle.signalAll();
        } finally {
            lock.unlock();
        }
    }

    void close() {
        closed = true;
    }
}
