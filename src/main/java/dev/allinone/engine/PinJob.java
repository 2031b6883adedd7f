package dev.allinone.engine;

import dev.allinone.engine.kv.PinnedKvFiles;
import java.util.concurrent.CompletableFuture;

import org.jboss.logging.Logger;

/**
 * Computes a task prompt's KV and pins it in the prefix cache. With {@link PinnedKvFiles}, a prompt pinned at an
 * earlier start is restored from its file instead, all but its last position; the last one is computed and checked
 * against the file's, and if they differ the whole prompt is computed (and the file written anew).
 */
final class PinJob extends EngineJob {

    private static final Logger LOG = Logger.getLogger(PinJob.class);

    final CompletableFuture<Void> result = new CompletableFuture<>();
    private final int[] tokens;
    /** Null: every position is computed. */
    private final PinnedKvFiles files;
    /** The file's keys and values of the last position while they wait to be compared with the computed ones. */
    private byte[] expectedLast;
    private boolean triedFile;
    /** Positions the KV held when the job started (shared with a cached prefix), kept if the file proves stale. */
    private int startLength;
    private long restoreStart;

    PinJob(JobContext ctx, long timeoutMillis, long order, int[] tokens, PinnedKvFiles files) {
        super(ctx, timeoutMillis, order);
        this.tokens = tokens;
        this.files = files;
    }

    @Override
    int[] tokens() {
        return tokens;
    }

    @Override
    int tokenCount() {
        return tokens.length;
    }

    @Override
    boolean start() {
        if (!super.start()) {
            return false;
        }
        startLength = kv.length();
        if (files != null && !triedFile && kv.length() < tokens.length - 1) {
            triedFile = true;
            restoreStart = System.nanoTime();
            expectedLast = files.restore(tokens, kv);
        }
        return true;
    }

    /** Positions restored but not checked yet must not reach the cache, where other requests could start from them. */
    @Override
    boolean cacheOnPreempt() {
        return expectedLast == null;
    }

    @Override
    void preempt() {
        super.preempt();
        expectedLast = null; // restored (and checked) again when it resumes
        triedFile = false;
    }

    @Override
    boolean onOutput(float[] hidden, float[] logits) {
        if (expectedLast != null) {
            byte[] expected = expectedLast;
            expectedLast = null;
            double distance = PinnedKvFiles.distance(expected, kv, tokens.length - 1);
            if (distance > PinnedKvFiles.TOLERANCE) {
                LOG.warnf("Pinned-prompt KV file %s ignored: its last position is %.3g away from what the model computes now "
                        + "(the weights or the engine's arithmetic changed). The prompt is computed and the file written anew",
                        files.file(tokens, kv.layout()), distance);
                kv.truncate(startLength);
                return true;
            }
            PinnedKvFiles.keep(expected, kv, tokens.length - 1);
            ctx.counters().pinsRestored.incrementAndGet();
            LOG.infof("Pinned prompt of %d tokens restored from %s in %d ms (last position recomputed, %.1e away)", tokens.length,
                    files.file(tokens, kv.layout()).getFileName(), (System.nanoTime() - restoreStart) / 1_000_000, distance);
        } else if (files != null) {
            files.save(tokens, kv);
        }
        keepKv = true;
        end();
        result.complete(null);
        return false;
    }

    @Override
    boolean pinned() {
        return true;
    }

    @Override
    void fail(Throwable error) {
        end();
        result.completeExceptionally(error);
    }
}
