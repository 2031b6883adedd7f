package dev.allinone.lifecycle;

import dev.allinone.config.AllInOneConfig;
import dev.allinone.config.EngineSettings;
import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.model.WeightFormat;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.WithDefault;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.context.Initialized;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import java.util.function.Supplier;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * Starts loading the model while Quarkus is still starting: in the packaged service from {@link Main}, before
 * Quarkus itself, else as soon as CDI's application context exists, which is about 1.3 s before the start-up event at
 * which {@link ModelRuntime} begins (on our 2-core machine; most of that time goes to the extensions' own start:
 * OpenAPI, metrics, HTTP). The load then runs on the other core while Quarkus starts.
 *
 * <p>At either point the service's configuration mapping ({@link AllInOneConfig}) does not exist yet, so the few keys
 * the load needs are read as raw values from the configuration as it stands then (system properties, environment,
 * {@code application.properties}, with profiles), their defaults taken from {@link AllInOneConfig}'s own
 * {@link WithDefault} annotations. That is a guess, checked: {@link #take} hands the model over only if it was loaded
 * with exactly the options the mapping gives at the start-up event; otherwise it is closed and the model loaded
 * again, so the guess can cost time but never changes what the service runs.
 */
@Singleton
public class ModelPreload {

    /** Not a static field: {@link Main} initialises this class, and finding the logging provider takes 0.1 s. */
    private static Logger log() {
        return Logger.getLogger(ModelPreload.class);
    }

    /** A load started early, with the options it was started with. */
    private record Started(ModelOptions options, CompletableFuture<LoadedModel> model) {
    }

    /** The load started early, once its options are known; completed with null when nothing was started. */
    private static volatile CompletableFuture<Started> started;
    /** True once {@link #startBeforeQuarkus} has run in this JVM (the packaged service). */
    private static volatile boolean beforeQuarkus;

    /**
     * From {@link Main}, before Quarkus starts. The options are guessed on the load's own thread, since reading the
     * configuration this early costs 0.2–0.3 s (the class path is searched for services) that Quarkus' start need
     * not wait for. Quarkus' configuration does not exist yet, so the guess reads the sources it will read for these
     * keys ({@link #configBeforeQuarkus}); a source it misses can only make the guess wrong, and {@link #take} then
     * loads again.
     */
    static void startBeforeQuarkus() {
        CompletableFuture<Started> early = new CompletableFuture<>();
        started = early;
        beforeQuarkus = true;
        Thread.ofPlatform().name("allinone-model-preload").daemon().start(() -> {
            try {
                ModelOptions options = guess(ModelPreload::configBeforeQuarkus);
                if (options != null) {
                    CompletableFuture<LoadedModel> model = new CompletableFuture<>();
                    early.complete(new Started(options, model));
                    load(options, model);
                }
            } finally {
                early.complete(null); // nothing started (a no-op when something was): take() never waits for good
            }
        });
    }

    /**
     * System properties, environment and {@code application.properties} with the profile from
     * {@code quarkus.profile} ({@code prod} by default), as Quarkus reads them; not {@code .env} or
     * {@code config/application.properties}.
     */
    static Config configBeforeQuarkus() {
        String profile = System.getProperty("quarkus.profile", Objects.requireNonNullElse(System.getenv("QUARKUS_PROFILE"), "prod"));
        SmallRyeConfigBuilder builder = new SmallRyeConfigBuilder().addDefaultSources().addDefaultInterceptors().withProfile(profile);
        URL properties = ModelPreload.class.getClassLoader().getResource("application.properties");
        if (properties != null) {
            try {
                builder.withSources(new PropertiesConfigSource(properties, 250)); // Quarkus' ordinal for it
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return builder.build();
    }

    /** Whether this JVM's preload was started before Quarkus (by {@link Main}) rather than with CDI. */
    static boolean startedBeforeQuarkus() {
        return beforeQuarkus;
    }

    /**
     * With CDI's application context: starts the load, unless {@link #startBeforeQuarkus} is still guessing or has
     * begun one with the options this configuration gives. When that guess found no model, or another one (a source
     * it does not read said otherwise), the load starts here, and the other is closed once loaded.
     */
    static void onApplicationContext(@Observes @Initialized(ApplicationScoped.class) Object event) {
        CompletableFuture<Started> early = started;
        if (early != null && !early.isDone()) {
            return;
        }
        Started begun = early == null ? null : early.getNow(null);
        ModelOptions options = guess(ConfigProvider::getConfig);
        if (options != null && (begun == null || !begun.options().equals(options))) {
            start(options);
        }
    }

    /** The options to preload with; null when the configuration cannot be read yet or the model is not there. */
    private static ModelOptions guess(Supplier<Config> config) {
        ModelOptions options;
        try {
            options = guessOptions(config.get());
        } catch (RuntimeException e) {
            log().debugf("Not preloading the model: the configuration cannot be read yet (%s)", e);
            return null;
        }
        // A missing model is downloaded (or reported missing) once the service is up.
        return Files.isRegularFile(options.path().resolve("config.json")) ? options : null;
    }

    /** Starts loading the model with {@code options} on a thread of its own. */
    static void start(ModelOptions options) {
        discard(started); // one a previous application in this JVM (tests) never took
        CompletableFuture<LoadedModel> model = new CompletableFuture<>();
        started = CompletableFuture.completedFuture(new Started(options, model));
        Thread.ofPlatform().name("allinone-model-preload").daemon().start(() -> load(options, model));
    }

    private static void load(ModelOptions options, CompletableFuture<LoadedModel> model) {
        try {
            LoadedModel loaded = ModelLoader.load(options, SamplingOverrides.none());
            // The chat template's first rendering costs 0.1-0.2 s of class loading and interpretation, paid here
            // while Quarkus still starts rather than by the warm-up or the first request after readiness. Only a
            // warm-up: a template that fails is reported where the service renders it.
            try {
                loaded.template().encode(List.of(new ChatTemplate.Message("system", "-"), new ChatTemplate.Message("user", "-")), true,
                        loaded.tokenizer());
            } catch (RuntimeException e) {
                log().debugf("The chat template's first rendering failed: %s", e);
            }
            model.complete(loaded);
        } catch (Throwable e) {
            model.completeExceptionally(e);
        }
    }

    /**
     * The preloaded model if one was started with {@code options} and loaded (waiting for it), with
     * {@code overrides} applied; null when there is none to use, and then nothing is left running or loaded.
     */
    static LoadedModel take(ModelOptions options, SamplingOverrides overrides) throws InterruptedException {
        CompletableFuture<Started> early = started;
        started = null;
        Started preload;
        try {
            preload = early == null ? null : early.get();
        } catch (ExecutionException e) {
            preload = null; // not reached: the future is completed with a value, never exceptionally
        }
        if (preload == null) {
            return null;
        }
        LoadedModel model;
        try {
            model = preload.model().get();
        } catch (ExecutionException e) {
            log().debugf("The preload failed (%s); loading again", e.getCause());
            return null;
        }
        if (!preload.options().equals(options)) {
            log().infof("The model was preloaded with %s but the configuration says %s: loading it again", preload.options(), options);
            model.close();
            return null;
        }
        return ModelLoader.withOverrides(model, overrides);
    }

    private static void discard(CompletableFuture<Started> early) {
        if (early != null) {
            early.thenAccept(preload -> {
                if (preload != null) {
                    preload.model().thenAccept(LoadedModel::close);
                }
            });
        }
    }

    /** {@link dev.allinone.config.EngineSettings#modelOptions}'s result, read from raw configuration values. */
    static ModelOptions guessOptions(Config config) {
        Function<String, String> model = key -> value(config, "allinone.model." + key, AllInOneConfig.Model.class, key);
        String quantizedPath = config.getOptionalValue("allinone.model.quantized-path", String.class).orElse(null);
        Path path = config.getOptionalValue("allinone.model.path", String.class).map(Path::of)
                .orElseGet(() -> EngineSettings.defaultModelPath(model.apply("repo")));
        return new ModelOptions(path, enumValue(WeightFormat.class, model.apply("weights")),
                Integer.parseInt(model.apply("threads").trim()), Integer.parseInt(model.apply("context-length").trim()),
                quantizedPath == null ? null : Path.of(quantizedPath),
                enumValue(Kernels.class, value(config, "allinone.engine.kernels", AllInOneConfig.Engine.class, "kernels")));
    }

    private static String value(Config config, String key, Class<?> group, String kebab) {
        return config.getOptionalValue(key, String.class).orElseGet(() -> defaultOf(group, kebab));
    }

    /** The {@link WithDefault} of the mapping method for a kebab-case key ({@code context-length} → {@code contextLength()}). */
    private static String defaultOf(Class<?> group, String kebab) {
        StringBuilder method = new StringBuilder();
        for (String part : kebab.split("-")) {
            method.append(method.isEmpty() ? part : Character.toUpperCase(part.charAt(0)) + part.substring(1));
        }
        try {
            return group.getMethod(method.toString()).getAnnotation(WithDefault.class).value();
        } catch (NoSuchMethodException | NullPointerException e) {
            throw new IllegalStateException("No default for " + kebab + " in " + group, e);
        }
    }

    /** As the configuration converts enums: case and hyphens do not matter ({@code avx512-vnni} → {@code AVX512_VNNI}). */
    private static <E extends Enum<E>> E enumValue(Class<E> type, String value) {
        return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    }
}
