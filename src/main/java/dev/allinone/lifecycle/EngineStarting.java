package dev.allinone.lifecycle;

import dev.allinone.engine.InferenceEngine;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Fired once the model is loaded, before readiness goes UP. Observers pin their task prompts
 * ({@link InferenceEngine#pinPrefix}) and wait for them: readiness waits for the observers. Work that only warms
 * the JIT (a first scoring, a first reply) is submitted and handed to {@link #warmingAfterReady}: it runs in the
 * engine beside the first users' requests instead of delaying readiness (docs/fast-start.md).
 *
 * @param warming the warm-up work still running when readiness goes UP
 */
public record EngineStarting(InferenceEngine engine, List<CompletableFuture<?>> warming) {

    public EngineStarting(InferenceEngine engine) {
        this(engine, new CopyOnWriteArrayList<>());
    }

    /** Warm-up work that readiness does not wait for. */
    public void warmingAfterReady(CompletableFuture<?> work) {
        warming.add(work);
    }
}
