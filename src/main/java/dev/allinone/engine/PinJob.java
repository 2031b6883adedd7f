package dev.allinone.engine;

import java.util.concurrent.CompletableFuture;

/** Computes a task prompt's KV and pins it in the prefix cache. */
final class PinJob extends EngineJob {

    final CompletableFuture<Void> result = new CompletableFuture<>();
    private final int[] tokens;

    PinJob(JobContext ctx, long timeoutMillis, long order, int[] tokens) {
        super(ctx, timeoutMillis, order);
        this.tokens = tokens;
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
    boolean onOutput(float[] hidden, float[] logits) {
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
