package dev.allinone.engine;

import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.kv.PinnedKvFiles;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.Transformer;
import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.KvCacheType;
import dev.allinone.engine.kv.PrefixCache;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The only code that runs the model: one model thread ({@link BatchScheduler}) advances every running request in
 * each pass through the layers — label scorings, task-prompt pins and streaming replies alike.
 *
 * <p>Key/value memory has one budget ({@link KvBlockPool}). A request starts from the longest prefix of its prompt
 * that the {@link PrefixCache} holds — the task's system prompt, the same conversation's previous turn including
 * the reply written then, a text classified before — and computes only the rest. A request that ends normally
 * leaves its KV in the cache; a cancelled or failed one frees it at once.
 */
public final class InferenceEngine implements AutoCloseable {

    /**
     * Limits that protect the one model.
     *
     * @param maxQueued            requests waiting or running at most; more are refused ({@link EngineBusyException})
     * @param idleCompactionMillis after this long without work (following some), compact the heap once; 0 = never
     * @param maxBatch             replies decoded together at most (as many label scorings besides)
     * @param kvCacheType          how keys and values are stored
     */
    public record Limits(int maxQueued, long requestTimeoutMillis, long kvCacheBytes, long idleCompactionMillis, int maxBatch,
            KvCacheType kvCacheType) {

        public Limits {
            if (maxBatch < 1) {
                throw new IllegalArgumentException("maxBatch must be at least 1, got " + maxBatch);
            }
        }

        public Limits(int maxQueued, long requestTimeoutMillis, long kvCacheBytes, long idleCompactionMillis, int maxBatch) {
            this(maxQueued, requestTimeoutMillis, kvCacheBytes, idleCompactionMillis, maxBatch, KvCacheType.F16);
        }

        public Limits(int maxQueued, long requestTimeoutMillis, long kvCacheBytes, long idleCompactionMillis) {
            this(maxQueued, requestTimeoutMillis, kvCacheBytes, idleCompactionMillis, 8);
        }
    }

    /** Positions per KV block: the unit of sharing between prefixes and of the budget. */
    public static final int KV_BLOCK_TOKENS = 16;

    private final LoadedModel model;
    private final KvBlockPool kvPool;
    private final PrefixCache prefixCache;
    private final Limits limits;
    private final EngineCounters counters = new EngineCounters();
    private final JobContext ctx;
    private final BatchScheduler scheduler;
    /** Null when the model has no directory of its own to keep them in (weights as stored). */
    private final PinnedKvFiles pinnedKv;
    private final Thread modelThread;
    private volatile boolean closed;

    public InferenceEngine(LoadedModel model, Limits limits) {
        this.model = model;
        this.limits = limits;
        Transformer transformer = new Transformer(model.jlama());
        this.kvPool = new KvBlockPool(transformer.kvLayout(KV_BLOCK_TOKENS, limits.kvCacheType()), limits.kvCacheBytes());
        this.prefixCache = new PrefixCache(kvPool);
        this.ctx = new JobContext(model, transformer, prefixCache, counters);
        this.scheduler = new BatchScheduler(ctx, kvPool, limits);
        this.pinnedKv = model.derivedFiles() == null ? null
                : new PinnedKvFiles(model.derivedFiles(), model.weightsIdentity(), model.kernels() == Kernels.JAVA ? "java" : "c");
        counters.publishKv(kvPool, prefixCache);
        this.modelThread = Thread.ofPlatform().name("allinone-model").daemon().start(scheduler::runLoop);
    }

    public LoadedModel model() {
        return model;
    }

    /**
     * Scores each label as the continuation of {@code prompt} and returns probabilities normalised over the
     * labels. Labels of several tokens are scored by the product of their token probabilities.
     */
    public CompletableFuture<LabelScores> scoreLabels(int[] prompt, List<String> labels) {
        int[][] labelIds = labelTokens(labels);
        checkFits(prompt, ScoringJob.extraTokens(labelIds) + 1);
        ScoringJob job = new ScoringJob(ctx, limits.requestTimeoutMillis(), scheduler.nextOrder(), prompt, labels, labelIds);
        scheduler.submit(job);
        return job.result;
    }

    /** Starts generating a reply to {@code prompt}; text arrives through the listener on the model thread. */
    public Generation generate(int[] prompt, SamplingParams params, GenerationListener listener) {
        return generate(prompt, params, GenerationOptions.none(), listener);
    }

    /** {@link #generate(int[], SamplingParams, GenerationListener)} with a seed, stop strings or log-probabilities. */
    public Generation generate(int[] prompt, SamplingParams params, GenerationOptions options, GenerationListener listener) {
        checkFits(prompt, 1);
        GenerationJob job = new GenerationJob(ctx, limits.requestTimeoutMillis(), scheduler.nextOrder(), prompt, params,
                options, listener);
        scheduler.submit(job);
        return job;
    }

    /**
     * Computes the KV of {@code tokens} (a task's system prompt) and keeps it in the prefix cache for good, so every
     * request of that task starts after it. When the model has a directory for derived files, the KV is kept there
     * too, and a later start restores it instead of computing it ({@link PinnedKvFiles}: checked, never trusted).
     */
    public CompletableFuture<Void> pinPrefix(int[] tokens) {
        checkFits(tokens, 0);
        PinJob job = new PinJob(ctx, limits.requestTimeoutMillis(), scheduler.nextOrder(), tokens, pinnedKv);
        scheduler.submit(job);
        return job.result;
    }

    /** Drops every unpinned prefix from the cache (the next requests prefill in full). */
    public CompletableFuture<Void> clearPrefixCache() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        scheduler.command(() -> {
            prefixCache.evictAll();
            counters.publishKv(kvPool, prefixCache); // before the caller hears of it
            done.complete(null);
        });
        return done;
    }

    /** Requests waiting or running. */
    public int load() {
        return scheduler.load();
    }

    /** Requests waiting for a place in the batch (the rest of {@link #load()} is running). */
    public int waiting() {
        return scheduler.waiting();
    }

    /** Label scorings and generations this engine has finished (any outcome), counted before the caller hears of it. */
    public long scoringsDone() {
        return counters.scoringsDone.get();
    }

    public long generationsDone() {
        return counters.generationsDone.get();
    }

    /** Tokens sampled for replies so far (a cancelled reply stops adding to it). */
    public long tokensGenerated() {
        return counters.tokensGenerated.get();
    }

    /** The thread that runs every step (tests observe whether it waits with or without a timer). */
    Thread modelThread() {
        return modelThread;
    }

    /** Times the heap was compacted because the engine had gone idle. */
    public long idleCompactions() {
        return counters.idleCompactions.get();
    }

    /** Requests holding key/value memory right now (the prefix cache's own entries not counted). */
    public int activeSequences() {
        return counters.activeSequences.get();
    }

    /** Running requests that gave way to older ones because the KV budget was full (they resume later). */
    public long preemptions() {
        return counters.preemptions.get();
    }

    /** Pinned prompts whose KV came from a file written at an earlier start ({@link #pinPrefix}) instead of being computed. */
    public long pinsRestored() {
        return counters.pinsRestored.get();
    }

    /** Key/value memory and prefix reuse, as of the last finished model step. */
    public KvStats kvStats() {
        return counters.kv();
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
        int context = model.jlama().contextLength();
        if (prompt.length + extra > context) {
            throw new PromptTooLongException(prompt.length, context);
        }
        int fitsInMemory = kvPool.capacity() * KV_BLOCK_TOKENS;
        if (prompt.length + extra > fitsInMemory) {
            throw PromptTooLongException.forMemory(prompt.length, fitsInMemory);
        }
    }

    /**
     * Stops taking new requests and waits up to {@code grace} for those in progress to finish.
     *
     * @return true if everything finished in time
     */
    public boolean drain(Duration grace) throws InterruptedException {
        return scheduler.drain(grace);
    }

    /** Ends the engine; requests still waiting or running fail with {@link ShuttingDownException}. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        scheduler.close();
        modelThread.interrupt();
        try {
            modelThread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        scheduler.failAll();
        prefixCache.close();
        counters.publishKv(kvPool, prefixCache);
        model.jlama().close();
    }
}
