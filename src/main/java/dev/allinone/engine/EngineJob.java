package dev.allinone.engine;

import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;

import java.util.Arrays;

/**
 * One request's work on the model, advanced a batch step at a time by the {@link BatchScheduler}. A job has a token
 * sequence its KV must hold before its next output (a prompt; for a reply, the prompt and the tokens written so
 * far); each step appends some of the missing positions, and once all are there the job gets the last position's
 * hidden state (and its logits, if it asks for them).
 */
abstract class EngineJob {

    final JobContext ctx;
    final long submitted = System.nanoTime();
    final long deadline;
    /** Order of admission: under memory pressure the newest running job gives way. */
    final long order;
    SequenceKv kv;
    /** Leave the KV to the prefix cache when the job ends (a normal end); otherwise it is freed. */
    boolean keepKv;
    /** Set by the scheduler: counts the job out of the engine's load. */
    Runnable onEnd = () -> { };
    private boolean ended;

    EngineJob(JobContext ctx, long timeoutMillis, long order) {
        this.ctx = ctx;
        this.deadline = submitted + timeoutMillis * 1_000_000;
        this.order = order;
    }

    /** The tokens the KV must hold (the array may be longer than {@link #tokenCount()}). */
    abstract int[] tokens();

    abstract int tokenCount();

    /** Positions to reserve at start beyond {@link #tokens()}, for work the job does on its own afterwards. */
    int extraAtStart() {
        return 0;
    }

    /** Where the job wants the full vocabulary's logits with its hidden state; null if it does not. */
    float[] logitsBuffer() {
        return null;
    }

    /**
     * Work on this step's logits that needs nothing but this job (a reply samples its token here): the scheduler runs
     * it for all the step's jobs at once on the kernel threads, then {@link #onOutput} for each on the model thread.
     */
    void prepare(float[] logits) {
    }

    /**
     * The KV now holds all {@link #tokens()}: {@code hidden} is the last position's final-norm state.
     *
     * @return true if the job has more to do
     */
    abstract boolean onOutput(float[] hidden, float[] logits);

    abstract void fail(Throwable error);

    /**
     * Refuses output a broken model produced (NaN or +∞, e.g. from corrupt weights): the request fails with
     * {@link IllegalStateException} instead of picking tokens or labels at random.
     */
    static void requireFinite(float[] values) {
        for (int i = 0; i < values.length; i++) {
            if (Float.isNaN(values[i]) || values[i] == Float.POSITIVE_INFINITY) {
                throw new IllegalStateException("The model produced a non-finite logit (" + values[i] + " for token " + i
                        + "): its weights are probably corrupt");
            }
        }
    }

    /** log Σ exp(logits[i]) over the first {@code vocabulary} entries, computed without overflow. */
    static double logNormalizer(float[] logits, int vocabulary) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocabulary; i++) {
            max = Math.max(max, logits[i]);
        }
        double sum = 0;
        for (int i = 0; i < vocabulary; i++) {
            sum += Math.exp(logits[i] - max);
        }
        return max + Math.log(sum);
    }

    boolean isCancelled() {
        return false;
    }

    void finishCancelled() {
    }

    boolean pinned() {
        return false;
    }

    boolean started() {
        return kv != null;
    }

    /** Takes KV memory for the job, reusing the longest cached prefix; false if the budget has no room now. */
    boolean start() {
        PrefixCache.Start start = ctx.prefixCache().start(Arrays.copyOf(tokens(), tokenCount()), extraAtStart());
        if (start == null) {
            return false;
        }
        kv = start.sequence();
        ctx.counters().activeSequences.incrementAndGet();
        return true;
    }

    /** Positions still to compute before the next output. */
    int pending() {
        return tokenCount() - kv.length();
    }

    /**
     * A job that ended normally leaves its KV to the prefix cache; any other frees it. A preempted job leaves what it
     * computed to the cache too, as an ordinary evictable entry: if it survives, the job resumes from it.
     */
    void release() {
        if (kv != null) {
            if (keepKv) {
                ctx.prefixCache().offer(kv, pinned());
            } else {
                kv.close();
            }
            kv = null;
            ctx.counters().activeSequences.decrementAndGet();
        }
    }

    /** Whether the job's KV may go to the prefix cache when it gives way (else it is freed). */
    boolean cacheOnPreempt() {
        return true;
    }

    /** Gives up the job's KV so that older jobs can go on; it starts again later from whatever the cache keeps. */
    void preempt() {
        if (kv != null) {
            if (cacheOnPreempt()) {
                ctx.prefixCache().offer(kv, false);
            } else {
                kv.close();
            }
            kv = null;
            ctx.counters().activeSequences.decrementAndGet();
            ctx.counters().preemptions.incrementAndGet();
        }
    }

    /**
     * Called by a job just before it tells its caller the outcome: its memory is released and it no longer counts
     * in the engine's load, so a caller that submits again at once finds the room this job had.
     */
    void end() {
        if (!ended) {
            ended = true;
            release();
            onEnd.run();
        }
    }

    long millisSinceSubmit() {
        return (System.nanoTime() - submitted) / 1_000_000;
    }
}
