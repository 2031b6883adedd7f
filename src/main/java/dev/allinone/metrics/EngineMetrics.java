package dev.allinone.metrics;

import dev.allinone.engine.InferenceEngine;
import dev.allinone.lifecycle.ModelRuntime;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import jakarta.inject.Singleton;
import java.util.function.ToDoubleFunction;

/**
 * The engine's state for Prometheus ({@code /q/metrics}): requests in the engine, sequences holding KV, key/value
 * memory, prefix-cache reuse, tokens generated, preemptions. Read when scraped; 0 while the model is not ready
 * (never NaN: an autoscaler's query must not break while a replica starts).
 */
@Singleton
public class EngineMetrics implements MeterBinder {

    private final ModelRuntime runtime;

    EngineMetrics(ModelRuntime runtime) {
        this.runtime = runtime;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "allinone.engine.requests", "Requests waiting or running on the model", e -> e.load());
        gauge(registry, "allinone.engine.requests.waiting", "Requests waiting for a place in the model's batch", e -> e.waiting());
        gauge(registry, "allinone.engine.requests.running", "Requests in the model's batch",
                e -> Math.max(0, e.load() - e.waiting()));
        gauge(registry, "allinone.engine.active.sequences", "Requests holding key/value memory", e -> e.activeSequences());
        gauge(registry, "allinone.engine.kv.bytes.in.use", "Key/value memory in use (running requests and cached prefixes)",
                e -> e.kvStats().bytesInUse());
        gauge(registry, "allinone.engine.kv.bytes.budget", "Key/value memory budget", e -> e.kvStats().budgetBytes());
        gauge(registry, "allinone.engine.prefix.cache.entries", "Prompt prefixes kept for reuse", e -> e.kvStats().cachedPrefixes());
        counter(registry, "allinone.engine.prefix.cache.hits", "Requests that started from a cached prefix", e -> e.kvStats().hits());
        counter(registry, "allinone.engine.prefix.cache.reused.tokens", "Prompt tokens not prefilled thanks to the cache",
                e -> e.kvStats().reusedTokens());
        counter(registry, "allinone.engine.generated.tokens", "Tokens sampled for replies", e -> e.tokensGenerated());
        counter(registry, "allinone.engine.preemptions", "Requests that gave way when the KV budget was full", e -> e.preemptions());
    }

    private void gauge(MeterRegistry registry, String name, String help, ToDoubleFunction<InferenceEngine> value) {
        Gauge.builder(name, runtime, r -> read(r, value)).description(help).register(registry);
    }

    private void counter(MeterRegistry registry, String name, String help, ToDoubleFunction<InferenceEngine> value) {
        FunctionCounter.builder(name, runtime, r -> read(r, value)).description(help).register(registry);
    }

    private static double read(ModelRuntime runtime, ToDoubleFunction<InferenceEngine> value) {
        if (runtime.state() != ModelRuntime.State.READY) {
            return 0;
        }
        return value.applyAsDouble(runtime.engine());
    }
}
