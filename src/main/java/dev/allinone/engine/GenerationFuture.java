package dev.allinone.engine;

import java.util.concurrent.CompletableFuture;

/** A listener for callers that only want the finished reply: completes with the result or the error. */
public class GenerationFuture implements GenerationListener {

    private final CompletableFuture<GenerationResult> result = new CompletableFuture<>();

    public CompletableFuture<GenerationResult> result() {
        return result;
    }

    @Override
    public void onText(String piece) {
    }

    @Override
    public void onComplete(GenerationResult r) {
        result.complete(r);
    }

    @Override
    public void onError(Throwable error) {
        result.completeExceptionally(error);
    }
}
