package dev.allinone.health;

import dev.allinone.config.AllInOneConfig;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.KvStats;
import dev.allinone.lifecycle.DownloadProgress;
import dev.allinone.lifecycle.ModelRuntime;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/**
 * Ready (and started) once the model is loaded and the task prompts are pinned; DOWN with the reason otherwise
 * (loading, failed, shutting down). {@code warm} turns true once the warm-up that runs after readiness is done.
 * When up, the data also reports the limits in force and the key/value memory:
 * in use, its budget, and what prefix reuse saved.
 */
@Readiness
@Startup
@ApplicationScoped
public class ModelHealthCheck implements HealthCheck {

    private final ModelRuntime runtime;
    private final AllInOneConfig config;

    ModelHealthCheck(ModelRuntime runtime, AllInOneConfig config) {
        this.runtime = runtime;
        this.config = config;
    }

    @Override
    public HealthCheckResponse call() {
        HealthCheckResponseBuilder r = HealthCheckResponse.named("model").withData("state", runtime.state().name());
        if (runtime.state() == ModelRuntime.State.DOWNLOADING) {
            DownloadProgress p = runtime.downloadProgress();
            return r.down().withData("reason", runtime.problem()).withData("downloadPercent", p.percent())
                    .withData("downloadBytes", p.done()).withData("downloadTotalBytes", p.total())
                    .withData("downloadBytesPerSecond", Math.round(p.bytesPerSecond())).withData("downloadSecondsLeft", p.secondsLeft())
                    .build();
        }
        if (runtime.state() != ModelRuntime.State.READY) {
            return r.down().withData("reason", runtime.problem()).build();
        }
        InferenceEngine engine = runtime.engine();
        KvStats kv = engine.kvStats();
        return r.up()
                .withData("path", engine.model().path().toString())
                .withData("weights", engine.model().weights().name())
                .withData("kernels", engine.model().kernels().id())
                .withData("loadMillis", engine.model().loadMillis())
                .withData("pinMillis", runtime.pinMillis())
                .withData("warm", runtime.warm())
                .withData("warmUpMillis", runtime.warmUpMillis())
                .withData("requestsInFlight", engine.load())
                .withData("maxQueued", config.engine().maxQueued())
                .withData("requestTimeout", config.engine().requestTimeout().toString())
                .withData("drainTimeout", config.engine().drainTimeout().toString())
                .withData("maxInputChars", config.input().maxChars())
                .withData("maxNewTokens", engine.model().defaults().maxNewTokens())
                .withData("contextLength", config.model().contextLength())
                .withData("maxQueuedTurnsPerConnection", config.chat().maxQueuedTurns())
                .withData("maxActiveRepliesPerClient", config.chat().maxActivePerClient())
                .withData("kvCacheBytesInUse", kv.bytesInUse())
                .withData("kvCacheBudgetBytes", kv.budgetBytes())
                .withData("cachedPrefixes", kv.cachedPrefixes())
                .withData("prefixCacheHits", kv.hits())
                .withData("reusedPromptTokens", kv.reusedTokens())
                .build();
    }
}
