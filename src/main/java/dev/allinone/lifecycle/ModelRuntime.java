package dev.allinone.lifecycle;

import dev.allinone.config.AllInOneConfig;
import dev.allinone.config.EngineSettings;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.ModelNotReadyException;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.model.ModelUnavailableException;
import dev.allinone.engine.ShuttingDownException;
import dev.allinone.engine.tokenizer.QwenTokenizer;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Event;
import jakarta.enterprise.event.Observes;

import java.lang.management.ManagementFactory;
import java.util.concurrent.CompletableFuture;

import org.jboss.logging.Logger;

/**
 * Owns the process's single model through the application's life: loads it once in the background at start-up
 * (so probes can answer while it loads), pins the task prompts, reports ready and warms the JIT up beside the first
 * requests, hands out the one {@link InferenceEngine}, and drains it on shutdown. Everything that runs the model
 * goes through here; the engine itself knows nothing of Quarkus.
 */
@ApplicationScoped
public class ModelRuntime {

    private static final Logger LOG = Logger.getLogger(ModelRuntime.class);

    public enum State { DOWNLOADING, LOADING, READY, FAILED, STOPPING }

    private final AllInOneConfig config;
    private final Event<EngineStarting> starting;
    private volatile State state = State.LOADING;
    private volatile String problem = "The model is loading";
    private volatile InferenceEngine engine;
    /** How long pinning the task prompts took (readiness waited for it). */
    private volatile long pinMillis;
    /** From the end of loading until the warm-up work after readiness finished; {@link #warm} once it has. */
    private volatile long warmUpMillis;
    private volatile boolean warm;
    private final java.util.concurrent.atomic.AtomicInteger loads = new java.util.concurrent.atomic.AtomicInteger();
    private final FirstStartDownload download;

    ModelRuntime(AllInOneConfig config, Event<EngineStarting> starting) {
        this.config = config;
        this.starting = starting;
        this.download = new FirstStartDownload(config.model());
    }

    void onStart(@Observes StartupEvent event) {
        Thread.ofPlatform().name("allinone-model-loader").daemon().start(this::loadAndWarmUp);
    }

    /**
     * SIGTERM with {@code quarkus.shutdown.delay} set: readiness goes DOWN and new work is refused at once, while the
     * HTTP server keeps serving the replies in progress; those still running after {@code allinone.engine.drain-timeout}
     * (shorter than the delay) end with a {@code shutting_down} error frame before the server closes.
     */
    void onShutdownDelay(@Observes ShutdownDelayInitiatedEvent event) {
        state = State.STOPPING;
        problem = "The service is shutting down";
        InferenceEngine current = engine;
        if (current != null) {
            Thread.ofVirtual().start(() -> {
                try {
                    if (!current.drain(config.engine().drainTimeout())) {
                        // End what is left while connections are still open, so each gets its final error frame.
                        LOG.warnf("Ending requests still running after the %s drain timeout", config.engine().drainTimeout());
                        current.close();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
    }

    /** Replies still running get the rest of the drain timeout, then end with a "shutting_down" error. */
    void onStop(@Observes ShutdownEvent event) {
        state = State.STOPPING;
        problem = "The service is shutting down";
        InferenceEngine current = engine;
        if (current == null) {
            return;
        }
        try {
            if (!current.drain(config.engine().drainTimeout())) {
                LOG.warnf("Requests still running after the %s drain timeout are being ended", config.engine().drainTimeout());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        current.close();
    }

    private void loadAndWarmUp() {
        try {
            if (download.needed()) {
                state = State.DOWNLOADING;
                problem = "Downloading the model";
                try {
                    download.run();
                } catch (java.io.IOException e) {
                    fail(e.getMessage());
                    return;
                }
                state = State.LOADING;
                problem = "The model is loading";
            }
            loads.incrementAndGet();
            ModelOptions options = EngineSettings.modelOptions(config);
            SamplingOverrides overrides = EngineSettings.samplingOverrides(config);
            LoadedModel preloaded = ModelPreload.take(options, overrides);
            LoadedModel model = preloaded != null ? preloaded : ModelLoader.load(options, overrides);
            InferenceEngine loaded = new InferenceEngine(model, EngineSettings.limits(config));
            long start = System.nanoTime();
            EngineStarting event = new EngineStarting(loaded);
            starting.fire(event);
            pinMillis = (System.nanoTime() - start) / 1_000_000;
            engine = loaded;
            state = State.READY;
            problem = null;
            LOG.infof("Qwen All-in-One ready: model %s (%s weights, %s kernels) loaded in %d ms%s, prompts pinned in %d ms; %d ms after the JVM started",
                    model.path(), model.weights(), model.kernels().id(), model.loadMillis(),
                    preloaded == null ? "" : ModelPreload.startedBeforeQuarkus() ? " (begun before Quarkus, while it started)" : " (while Quarkus started)",
                    pinMillis, ManagementFactory.getRuntimeMXBean().getUptime());
            CompletableFuture.allOf(event.warming().toArray(CompletableFuture[]::new)).whenComplete((done, failure) -> {
                warmUpMillis = (System.nanoTime() - start) / 1_000_000;
                warm = true;
                if (failure != null) {
                    LOG.warnf("The warm-up after readiness failed (the service answers; its first requests may be slower): %s", failure);
                } else {
                    LOG.debugf("Warm-up done %d ms after loading", warmUpMillis);
                }
            });
        } catch (ModelUnavailableException e) {
            fail(e.getMessage());
        } catch (Exception | Error e) {
            LOG.error("Model start-up failed", e);
            fail("Model start-up failed: " + e);
        }
    }

    private void fail(String message) {
        problem = message;
        state = State.FAILED;
        LOG.error(message + " The service stays up and reports not-ready.");
    }

    /** The engine, or {@link ModelNotReadyException} while loading or after a failed load. */
    public InferenceEngine engine() {
        InferenceEngine current = engine;
        if (state == State.STOPPING) {
            throw new ShuttingDownException("The service is shutting down and takes no new requests");
        }
        if (current == null) {
            throw new ModelNotReadyException(state == State.FAILED ? "The model is not available: " + problem : "The model is still loading");
        }
        return current;
    }

    /** The loaded model's tokenizer (same readiness rules as {@link #engine()}). */
    public QwenTokenizer tokenizer() {
        return engine().model().tokenizer();
    }

    public State state() {
        return state;
    }

    /** Why the model is not ready (null when ready); while downloading, how far it has got. */
    public String problem() {
        return state == State.DOWNLOADING ? "Downloading the model: " + download.progress().describe() : problem;
    }

    /** While {@link State#DOWNLOADING}: how far the download has got. */
    public DownloadProgress downloadProgress() {
        return download.progress();
    }

    /** How many times this process has loaded a model: one, whatever number of AI services use it. */
    public int loads() {
        return loads.get();
    }

    public long pinMillis() {
        return pinMillis;
    }

    /** True once the warm-up work that runs after readiness has finished (or failed). */
    public boolean warm() {
        return warm;
    }

    public long warmUpMillis() {
        return warmUpMillis;
    }
}
