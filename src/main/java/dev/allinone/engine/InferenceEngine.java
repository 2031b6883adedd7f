package dev.allinone.engine;

import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.KvLayout;
import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;
import dev.allinone.engine.tokenizer.StreamingDecoder;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.jboss.logging.Logger;

/**
 * The only code that runs the model. One model thread takes work in small steps: a whole label scoring (one
 * prefill) or one token of a generation. Scorings go first (up to two in a row while a reply waits); generations
 * take turns token by token, so a long reply never blocks a short classification for more than one token step,
 * one reply cannot starve another, and a stream of classifications cannot starve the replies.
 *
 * <p>Key/value memory has one budget ({@link KvBlockPool}). A request starts from the longest prefix of its prompt
 * that the {@link PrefixCache} holds — the task's system prompt, the same conversation's previous turn including
 * the reply written then, a text classified before — and prefills only the rest. Before it starts it reserves the
 * blocks it can need (prompt + longest reply); when the budget has no room, cached prefixes are evicted least
 * recently used first, and if that is not enough the request waits its turn until running ones finish. A request
 * that ends normally leaves its KV in the cache; a cancelled or failed one frees it at once.
 */
public final class InferenceEngine implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(InferenceEngine.class);

    /**
     * Limits that protect the one model.
     *
     * @param idleCompactionMillis after this long without work (following some), compact the heap once; 0 = never
     */
    public record Limits(int maxQueued, long requestTimeoutMillis, long kvCacheBytes, long idleCompactionMillis) {
    }

    /** Positions per KV block: the unit of sharing between prefixes and of the budget. */
    static final int KV_BLOCK_TOKENS = 16;

    private final LoadedModel model;
    private final QwenJlamaModel jlama;
    private final Transformer transformer;
    private final KvBlockPool kvPool;
    private final PrefixCache prefixCache;
    private final Limits limits;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition workAvailable = lock.newCondition();
    private final Deque<Job> scorings = new ArrayDeque<>();
    private final Deque<Job> generations = new ArrayDeque<>();
    private final Thread modelThread;
    private static final int SCORINGS_PER_TOKEN_STEP = 2;

    private int admitted;
    private int scoringsInARow;
    private final Condition idle = lock.newCondition();
    private volatile boolean draining;
    private final AtomicLong scoringsDone = new AtomicLong();
    private final AtomicInteger activeSequences = new AtomicInteger();
    private volatile KvStats kvStats;
    private final AtomicLong generationsDone = new AtomicLong();
    private final AtomicLong idleCompactions = new AtomicLong();
    private boolean workSinceCompaction;
    private volatile boolean closed;

    public InferenceEngine(LoadedModel model, Limits limits) {
        this.model = model;
        this.jlama = model.jlama();
        this.limits = limits;
        this.transformer = new Transformer(jlama);
        this.kvPool = new KvBlockPool(new KvLayout(transformer.layers(), transformer.kvDim(), KV_BLOCK_TOKENS), limits.kvCacheBytes());
        this.prefixCache = new PrefixCache(kvPool);
        publishKvStats();
        this.modelThread = Thread.ofPlatform().name("allinone-model").daemon().start(this::runLoop);
    }

    public LoadedModel model() {
        return model;
    }

    /**
     * Scores each label as the continuation of {@code prompt} in one prefill and returns probabilities
     * normalised over the labels. Labels of several tokens are scored by the product of their token probabilities.
     */
    public CompletableFuture<LabelScores> scoreLabels(int[] prompt, List<String> labels) {
        int[][] labelIds = labelTokens(labels);
        int extra = Arrays.stream(labelIds).mapToInt(ids -> ids.length).max().orElse(1) - 1;
        checkFits(prompt, extra + 1);
        ScoringJob job = new ScoringJob(prompt, extra, labels, labelIds);
        admit(job, scorings);
        return job.result;
    }

    /** Starts generating a reply to {@code prompt}; text arrives through the listener on the model thread. */
    public Generation generate(int[] prompt, SamplingParams params, GenerationListener listener) {
        checkFits(prompt, 1);
        GenerationJob job = new GenerationJob(prompt, params, listener);
        admit(job, generations);
        return job;
    }

    /** Requests waiting or running. */
    public int load() {
        lock.lock();
        try {
            return admitted;
        } finally {
            lock.unlock();
        }
    }

    /** Label scorings and generations this engine has finished (any outcome), counted before the caller hears of it. */
    public long scoringsDone() {
        return scoringsDone.get();
    }

    public long generationsDone() {
        return generationsDone.get();
    }

    /** Times the heap was compacted because the engine had gone idle. */
    public long idleCompactions() {
        return idleCompactions.get();
    }

    /** Requests holding key/value memory right now (the prefix cache's own entries not counted). */
    public int activeSequences() {
        return activeSequences.get();
    }

    /** Key/value memory and prefix reuse, as of the last finished model step. */
    public KvStats kvStats() {
        return kvStats;
    }

    /**
     * Computes the KV of {@code tokens} (a task's system prompt) and keeps it in the prefix cache for good, so every
     * request of that task starts after it.
     */
    public CompletableFuture<Void> pinPrefix(int[] tokens) {
        checkFits(tokens, 0);
        PinJob job = new PinJob(tokens);
        admit(job, scorings);
        return job.result;
    }

    /** Drops every unpinned prefix from the cache (the next requests prefill in full). */
    public CompletableFuture<Void> clearPrefixCache() {
        ClearJob job = new ClearJob();
        admit(job, scorings);
        return job.result;
    }

    private void publishKvStats() {
        kvStats = new KvStats(kvPool.bytesInUse(), kvPool.budgetBytes(), prefixCache.entries(), prefixCache.hits(),
                prefixCache.reusedTokens(), prefixCache.evictions());
    }

    private int[][] labelTokens(List<String> labels) {
        if (labels.size() < 2) {
            throw new IllegalArgumentException("Label scoring needs at least two labels, got " + labels);
        }
        int[][] ids = new int[labels.size()][];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = model.tokenizer().encode(labels.get(i));
            if (ids[i].length == 0) {
                throw new IllegalArgumentException("Label " + i + " is empty");
            }
        }
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < ids.length; j++) {
                if (i != j && ids[i].length <= ids[j].length && Arrays.equals(ids[i], 0, ids[i].length, ids[j], 0, ids[i].length)) {
                    throw new IllegalArgumentException("Label '" + labels.get(i) + "' tokenizes to a prefix of label '" + labels.get(j)
                            + "'; labels must be distinguishable token by token");
                }
            }
        }
        return ids;
    }

    private void checkFits(int[] prompt, int extra) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("Empty prompt");
        }
        if (prompt.length + extra > jlama.contextLength()) {
            throw new PromptTooLongException(prompt.length, jlama.contextLength());
        }
        int fitsInMemory = kvPool.capacity() * KV_BLOCK_TOKENS;
        if (prompt.length + extra > fitsInMemory) {
            throw PromptTooLongException.forMemory(prompt.length, fitsInMemory);
        }
    }

    private void admit(Job job, Deque<Job> queue) {
        lock.lock();
        try {
            if (closed || draining) {
                throw new ShuttingDownException("The service is shutting down and takes no new requests");
            }
            if (admitted >= limits.maxQueued()) {
                throw new EngineBusyException("The model is busy: " + admitted + " requests are already waiting or running");
            }
            admitted++;
            queue.addLast(job);
            workAvailable.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Scorings first, but never more than {@link #SCORINGS_PER_TOKEN_STEP} in a row while a reply waits: a flood of
     * classifications slows replies down instead of stopping them.
     *
     * @return the next job, or null when the engine has been idle for {@code idleCompactionMillis} after some work
     */
    private Job nextJob() throws InterruptedException {
        lock.lock();
        try {
            long idleNanos = TimeUnit.MILLISECONDS.toNanos(limits.idleCompactionMillis());
            while (scorings.isEmpty() && generations.isEmpty()) {
                if (!workSinceCompaction || idleNanos <= 0) {
                    workAvailable.await();
                } else if ((idleNanos = workAvailable.awaitNanos(idleNanos)) <= 0
                        && scorings.isEmpty() && generations.isEmpty()) {
                    workSinceCompaction = false;
                    return null;
                }
            }
            workSinceCompaction = true;
            boolean scoringTurn = !scorings.isEmpty() && (generations.isEmpty() || scoringsInARow < SCORINGS_PER_TOKEN_STEP);
            scoringsInARow = scoringTurn ? scoringsInARow + 1 : 0;
            return scoringTurn ? scorings.pollFirst() : generations.pollFirst();
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
        idleCompactions.incrementAndGet();
        LOG.debugf("Idle heap compaction took %d ms", (System.nanoTime() - start) / 1_000_000);
    }

    private void runLoop() {
        while (!closed) {
            Job job;
            try {
                job = nextJob();
            } catch (InterruptedException e) {
                return;
            }
            if (job == null) {
                compactHeap();
                continue;
            }
            boolean more = false;
            boolean blocked = false;
            try {
                if (job.isCancelled()) {
                    job.finishCancelled();
                } else if (System.nanoTime() > job.deadline) {
                    job.fail(new TimeoutException("Request exceeded " + limits.requestTimeoutMillis() + " ms"));
                } else if (job.kv == null && !job.start()) {
                    if (activeSequences.get() == 0) {
                        // Nothing else holds memory and every unpinned prefix is gone: it will never fit.
                        job.fail(PromptTooLongException.forMemory(job.prompt.length, kvPool.available() * KV_BLOCK_TOKENS));
                    } else {
                        blocked = true;
                    }
                } else {
                    more = job.step();
                }
            } catch (Throwable t) {
                LOG.errorf(t, "Inference step failed");
                job.fail(t);
                more = false;
            }
            if (!more && !blocked) {
                job.release();
            }
            publishKvStats();
            lock.lock();
            try {
                if (blocked) {
                    // Not enough KV memory until a running request finishes: wait behind the others.
                    (job instanceof GenerationJob ? generations : scorings).addLast(job);
                } else if (more) {
                    generations.addLast(job);
                } else {
                    if (--admitted == 0) {
                        idle.signalAll();
                    }
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Stops taking new requests and waits up to {@code grace} for those in progress to finish.
     *
     * @return true if everything finished in time
     */
    public boolean drain(java.time.Duration grace) throws InterruptedException {
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

    /** Ends the engine; requests still waiting or running fail with {@link ShuttingDownException}. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            lock.unlock();
        }
        modelThread.interrupt();
        try {
            modelThread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        lock.lock();
        try {
            for (Deque<Job> queue : List.of(scorings, generations)) {
                for (Job job : queue) {
                    job.fail(new ShuttingDownException("The service shut down before this request finished"));
                    job.releaseQuietly();
                }
                queue.clear();
            }
            admitted = 0;
            idle.signalAll();
        } finally {
            lock.unlock();
        }
        prefixCache.close();
        publishKvStats();
        jlama.close();
    }

    /** One request's work, done in steps on the model thread. */
    private abstract class Job {
        final int[] prompt;
        /** Positions the request may write after its prompt. */
        final int extraTokens;
        final long submitted = System.nanoTime();
        final long deadline = submitted + limits.requestTimeoutMillis() * 1_000_000;
        SequenceKv kv;
        int reused;
        boolean keepKv;

        Job(int[] prompt, int extraTokens) {
            this.prompt = prompt;
            this.extraTokens = extraTokens;
        }

        /** Takes KV memory for the request, reusing the longest cached prefix; false if the budget has no room now. */
        boolean start() {
            PrefixCache.Start start = prefixCache.start(prompt, extraTokens);
            if (start == null) {
                return false;
            }
            kv = start.sequence();
            reused = start.reused();
            activeSequences.incrementAndGet();
            return true;
        }

        /** Does one step; returns true if more steps remain. */
        abstract boolean step();

        abstract void fail(Throwable error);

        boolean isCancelled() {
            return false;
        }

        void finishCancelled() {
        }

        /** The prompt's positions not taken from the cache; returns the last one's final-norm hidden state. */
        float[] prefill() {
            return transformer.forward(prompt, reused, kv);
        }

        boolean pinned() {
            return false;
        }

        /** A request that ended normally leaves its KV to the prefix cache; any other frees it. */
        void release() {
            if (kv != null) {
                if (keepKv) {
                    prefixCache.offer(kv, pinned());
                } else {
                    kv.close();
                }
                kv = null;
                activeSequences.decrementAndGet();
            }
        }

        /** From a thread other than the model thread, after it stopped: nothing is kept. */
        void releaseQuietly() {
            keepKv = false;
            release();
        }

        long millisSinceSubmit() {
            return (System.nanoTime() - submitted) / 1_000_000;
        }
    }

    private final class ScoringJob extends Job {
        final List<String> labels;
        final int[][] labelIds;
        final CompletableFuture<LabelScores> result = new CompletableFuture<>();

        ScoringJob(int[] prompt, int extraTokens, List<String> labels, int[][] labelIds) {
            super(prompt, extraTokens);
            this.labels = List.copyOf(labels);
            this.labelIds = labelIds;
        }

        @Override
        boolean step() {
            double[] logProbs = new double[labelIds.length];
            float[] last = prefill();
            if (Arrays.stream(labelIds).allMatch(ids -> ids.length == 1)) {
                // The softmax normaliser cancels out between labels: only their own LM-head rows are needed.
                int[] firsts = Arrays.stream(labelIds).mapToInt(ids -> ids[0]).toArray();
                float[] logits = jlama.logitsOf(last, firsts);
                for (int i = 0; i < logits.length; i++) {
                    logProbs[i] = logits[i];
                }
            } else {
                scoreMultiTokenLabels(last, logProbs);
            }
            kv.truncate(prompt.length);
            keepKv = true;
            scoringsDone.incrementAndGet();
            result.complete(new LabelScores(labels, softmax(logProbs), prompt.length, millisSinceSubmit()));
            return false;
        }

        private void scoreMultiTokenLabels(float[] last, double[] logProbs) {
            float[] logits = new float[jlama.vocabularySize()];
            jlama.allLogits(last, logits);
            double[] firstLogSoftmax = logSoftmax(logits);
            for (int i = 0; i < labelIds.length; i++) {
                int[] ids = labelIds[i];
                logProbs[i] = firstLogSoftmax[ids[0]];
                // Each label continues the prompt in the same positions: it sees exactly prompt + its own tokens.
                kv.truncate(prompt.length);
                for (int j = 1; j < ids.length; j++) {
                    jlama.allLogits(transformer.forward(new int[] {ids[j - 1]}, 0, kv), logits);
                    logProbs[i] += logSoftmax(logits)[ids[j]];
                }
            }
        }

        @Override
        void fail(Throwable error) {
            scoringsDone.incrementAndGet();
            result.completeExceptionally(error);
        }
    }

    /** Computes a task prompt's KV and pins it in the prefix cache. */
    private final class PinJob extends Job {
        final CompletableFuture<Void> result = new CompletableFuture<>();

        PinJob(int[] tokens) {
            super(tokens, 0);
        }

        @Override
        boolean step() {
            prefill();
            keepKv = true;
            result.complete(null);
            return false;
        }

        @Override
        boolean pinned() {
            return true;
        }

        @Override
        void fail(Throwable error) {
            result.completeExceptionally(error);
        }
    }

    /** Empties the prefix cache of everything not pinned. */
    private final class ClearJob extends Job {
        final CompletableFuture<Void> result = new CompletableFuture<>();

        ClearJob() {
            super(new int[0], 0);
        }

        @Override
        boolean start() {
            return true;
        }

        @Override
        boolean step() {
            prefixCache.evictAll();
            result.complete(null);
            return false;
        }

        @Override
        void fail(Throwable error) {
            result.completeExceptionally(error);
        }
    }

    private final class GenerationJob extends Job implements Generation {
        final SamplingParams params;
        final GenerationListener listener;
        final Sampler sampler;
        final StreamingDecoder decoder = new StreamingDecoder(model.tokenizer());
        final StringBuilder text = new StringBuilder();
        final boolean[] seen = new boolean[jlama.vocabularySize()];
        float[] logits;
        volatile boolean cancelled;
        int position;
        int lastToken = -1;
        int generated;
        long firstTokenMillis = -1;
        boolean finished;

        GenerationJob(int[] prompt, SamplingParams params, GenerationListener listener) {
            super(prompt, Math.min(params.maxNewTokens(), jlama.contextLength() - prompt.length));
            this.params = params;
            this.listener = listener;
            this.sampler = new Sampler(params, new SplittableRandom());
            for (int id : prompt) {
                seen[id] = true;
            }
        }

        @Override
        boolean step() {
            float[] hidden;
            if (lastToken < 0) {
                logits = new float[jlama.vocabularySize()];
                hidden = prefill();
                position = prompt.length;
            } else {
                hidden = transformer.forward(new int[] {lastToken}, 0, kv);
                position++;
            }
            jlama.allLogits(hidden, logits);
            // The LM head is padded past the tokenizer's ids (151,936 rows for 151,646 ids): never pick padding.
            Arrays.fill(logits, model.tokenizer().size(), logits.length, Float.NEGATIVE_INFINITY);
            int token = sampler.next(logits, seen);
            if (model.stopTokens().contains(token)) {
                return finish(GenerationResult.FinishReason.STOP);
            }
            seen[token] = true;
            lastToken = token;
            generated++;
            if (firstTokenMillis < 0) {
                firstTokenMillis = millisSinceSubmit();
            }
            emit(decoder.accept(token));
            if (generated >= params.maxNewTokens()) {
                return finish(GenerationResult.FinishReason.LENGTH);
            }
            if (position + 1 >= jlama.contextLength()) {
                return finish(GenerationResult.FinishReason.CONTEXT_FULL);
            }
            return true;
        }

        private void emit(String piece) {
            if (piece.isEmpty()) {
                return;
            }
            text.append(piece);
            try {
                listener.onText(piece);
            } catch (RuntimeException e) {
                LOG.debugf(e, "Generation listener failed; cancelling the generation");
                cancelled = true;
            }
        }

        private boolean finish(GenerationResult.FinishReason reason) {
            emit(decoder.flush());
            finished = true;
            keepKv = reason != GenerationResult.FinishReason.CANCELLED;
            generationsDone.incrementAndGet();
            try {
                listener.onComplete(new GenerationResult(text.toString(), prompt.length, generated, reason,
                        Math.max(firstTokenMillis, 0), millisSinceSubmit()));
            } catch (RuntimeException e) {
                LOG.debugf(e, "Generation listener failed on completion");
            }
            return false;
        }

        @Override
        void finishCancelled() {
            finish(GenerationResult.FinishReason.CANCELLED);
        }

        @Override
        void fail(Throwable error) {
            if (finished) {
                return;
            }
            finished = true;
            generationsDone.incrementAndGet();
            try {
                listener.onError(error);
            } catch (RuntimeException e) {
                LOG.debugf(e, "Generation listener failed on error");
            }
        }

        @Override
        public void cancel() {
            cancelled = true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }
    }

    static double[] softmax(double[] logits) {
        double max = Arrays.stream(logits).max().orElse(0);
        double[] out = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            out[i] = Math.exp(logits[i] - max);
            sum += out[i];
        }
        for (int i = 0; i < out.length; i++) {
            out[i] /= sum;
        }
        return out;
    }

    static double[] logSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        double log = max + Math.log(sum);
        double[] out = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - log;
        }
        return out;
    }
}
