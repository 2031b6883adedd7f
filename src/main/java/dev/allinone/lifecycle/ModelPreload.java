package dev.allinone.lifecycle;

import dev.allinone.config.AllInOneConfig;
import dev.allinone.config.EngineSettings;
import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.model.WeightFormat;
import io.smallrye.config.WithDefault;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.context.Initialized;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * Starts loading the model while Quarkus is still starting: as soon as CDI's application context exists, which is
 * about 1.3 s before the start-up event at which {@link ModelRuntime} begins (on our 2-core machine; most of that
 * time goes to the extensions' own start: request validation, OpenAPI, metrics, HTTP). The load then runs on the
 * other core while Quarkus finishes starting.
 *
 * <p>At that point the service's configuration mapping ({@link AllInOneConfig}) does not exist yet, so the few keys
 * the load needs are read as raw values from the configuration as it stands then (system properties, environment,
 * {@code application.properties}, with profiles), their defaults taken from {@link AllInOneConfig}'s own
 * {@link WithDefault} annotations. That is a guess, checked: {@link #take} hands the model over only if it was loaded
 * with exactly the options the mapping gives at the start-up event; otherwise it is closed and the model loaded
 * again, so the guess can cost time but never changes what the service runs.
 */
@Singleton
public class ModelPreload {

    private static final Logger LOG = Logger.getLogger(ModelPreload.class);

    /** A load started early, with the options it was started with. */
    private record Started(ModelOptions options, CompletableFuture<LoadedModel> model) {
    }

    private static volatile Started started;

    static void onApplicationContext(@Observes @Initialized(ApplicationScoped.class) Object event) {
        ModelOptions options;
        try {
            options = guessOptions(ConfigProvider.getConfig());
        } catch (RuntimeException e) {
            LOG.debugf("Not preloading the model: the configuration cannot be read yet (%s)", e);
            return;
        }
        if (!Files.isRegularFile(options.path().resolve("config.json"))) {
            return; // it is downloaded (or reported missing) once the service is up
        }
        start(options);
    }

    /** Starts loading the model with {@code options} on a thread of its own. */
    static void start(ModelOptions options) {
        discard(started); // one a previous application in this JVM (tests) never took
        CompletableFuture<LoadedModel> model = new CompletableFuture<>();
        started = new Started(options, model);
        Thread.ofPlatform().name("allinone-model-preload").daemon().start(() -> {
            try {
                model.complete(ModelLoader.load(options, SamplingOverrides.none()));
            } catch (Throwable e) {
                model.completeExceptionally(e);
            }
        });
    }

    /**
     * The preloaded model if one was started with {@code options} and loaded (waiting for it), with
     * {@code overrides} applied; null when there is none to use, and then nothing is left running or loaded.
     */
    static LoadedModel take(ModelOptions options, SamplingOverrides overrides) throws InterruptedException {
        Started preload = started;
        started = null;
        if (preload == null) {
            return null;
        }
        LoadedModel model;
        try {
            model = preload.model().get();
        } catch (ExecutionException e) {
            LOG.debugf("The preload failed (%s); loading again", e.getCause());
            return null;
        }
        if (!preload.options().equals(options)) {
            LOG.infof("The model was preloaded with %s but the configuration says %s: loading it again", preload.options(), options);
            model.close();
            return null;
        }
        return ModelLoader.withOverrides(model, overrides);
    }

    private static void discard(Started preload) {
        if (preload != null) {
            preload.model().thenAccept(LoadedModel::close);
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
