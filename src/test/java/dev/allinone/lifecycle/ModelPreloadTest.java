package dev.allinone.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.allinone.config.AllInOneConfig;
import dev.allinone.config.EngineSettings;
import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.engine.model.WeightFormat;
import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.eclipse.microprofile.config.Config;
import org.junit.jupiter.api.Test;

/**
 * The preload guesses the load options from raw configuration values as the mapping would give them, and the model
 * it loaded is handed over only for exactly the options the service then runs with.
 */
class ModelPreloadTest {

    /** A configuration as Quarkus builds it: the mapping, its converters, profiles ({@code %prod.}) and expressions. */
    private static SmallRyeConfig config(Map<String, String> properties) {
        return new SmallRyeConfigBuilder()
                .addDefaultInterceptors()
                .withProfile("prod")
                .withSources(new PropertiesConfigSource(properties, "test", 300))
                .withConverter(MemorySize.class, 100, new MemorySizeConverter())
                .withConverter(Duration.class, 100, new DurationConverter())
                .withMapping(AllInOneConfig.class)
                .build();
    }

    private static void assertGuessedAsMapped(Map<String, String> properties) {
        SmallRyeConfig config = config(properties);
        assertEquals(EngineSettings.modelOptions(config.getConfigMapping(AllInOneConfig.class)), ModelPreload.guessOptions(config),
                properties.toString());
    }

    @Test
    void theGuessedOptionsAreTheMappedOnesWithDefaults() {
        assertGuessedAsMapped(Map.of());
        ModelOptions defaults = ModelPreload.guessOptions(config(Map.of()));
        assertEquals(Path.of("models/Qwen1.5-0.5B-Chat"), defaults.path());
        assertEquals(WeightFormat.Q4, defaults.weights());
        assertEquals(Kernels.AUTO, defaults.kernels());
    }

    @Test
    void theGuessedOptionsAreTheMappedOnesWhenEverythingIsSet() {
        assertGuessedAsMapped(Map.of("allinone.model.path", "/models/qwen", "allinone.model.weights", "as_stored",
                "allinone.model.quantized-path", "/cache/model-Q4", "allinone.model.threads", "3", "allinone.model.context-length", "1024",
                "allinone.engine.kernels", "avx512-vnni"));
        assertGuessedAsMapped(Map.of("%prod.allinone.model.path", "/prod/model", "allinone.model.path", "/other",
                "allinone.engine.kernels", "JAVA", "models.home", "/srv", "allinone.model.quantized-path", "${models.home}/q4"));
    }

    @Test
    void beforeQuarkusTheGuessReadsSystemPropertiesAndApplicationPropertiesWithTheProfile() {
        System.setProperty("allinone.model.threads", "3");
        System.setProperty("quarkus.profile", "test");
        try {
            Config config = ModelPreload.configBeforeQuarkus();
            assertEquals(3, ModelPreload.guessOptions(config).threads(), "a system property");
            assertEquals("Qwen All-in-One", config.getValue("quarkus.smallrye-openapi.info-title", String.class), "application.properties");
            assertEquals("Qwen1.5-0.5B-Chat", config.getValue("allinone.model.name", String.class), "its %test. line");
        } finally {
            System.clearProperty("allinone.model.threads");
            System.clearProperty("quarkus.profile");
        }
        assertEquals(Optional.empty(), ModelPreload.configBeforeQuarkus().getOptionalValue("allinone.model.name", String.class),
                "the prod profile by default");
    }

    @Test
    void aLoadBegunBeforeQuarkusIsHandedOverForTheOptionsItGuessed() throws Exception {
        System.setProperty("allinone.model.path", TestCheckpoints.tinyRandom().toString());
        System.setProperty("allinone.model.weights", "as_stored");
        try {
            ModelPreload.startBeforeQuarkus();
            ModelOptions options = ModelPreload.guessOptions(ModelPreload.configBeforeQuarkus());
            assertEquals(TestCheckpoints.tinyRandom(), options.path());
            LoadedModel taken = ModelPreload.take(options, SamplingOverrides.none());
            assertNotNull(taken, "begun before Quarkus with the same options: handed over");
            taken.close();

            System.setProperty("allinone.model.path", "/nonexistent/model");
            ModelPreload.startBeforeQuarkus();
            assertNull(ModelPreload.take(ModelPreload.guessOptions(ModelPreload.configBeforeQuarkus()), SamplingOverrides.none()),
                    "no model there: nothing begun, nothing to wait for");
        } finally {
            System.clearProperty("allinone.model.path");
            System.clearProperty("allinone.model.weights");
        }
    }

    @Test
    void thePreloadedModelIsHandedOverOnlyForTheSameOptions() throws Exception {
        ModelOptions options = new ModelOptions(TestCheckpoints.tinyRandom(), WeightFormat.AS_STORED, 0, 512);
        SamplingOverrides overrides = new SamplingOverrides(Optional.empty(), Optional.of(7), Optional.empty(), Optional.empty(),
                Optional.of(33));

        ModelPreload.start(options);
        LoadedModel taken = ModelPreload.take(options, overrides);
        assertNotNull(taken, "loaded with the service's options: handed over");
        try {
            assertEquals(7, taken.defaults().topK(), "the service's sampling settings applied");
            assertEquals(33, taken.defaults().maxNewTokens());
            assertEquals(0.8f, taken.defaults().topP(), 1e-6, "the checkpoint's where none is configured");
        } finally {
            taken.close();
        }
        assertNull(ModelPreload.take(options, overrides), "taken once");

        ModelPreload.start(options);
        assertNull(ModelPreload.take(new ModelOptions(TestCheckpoints.tinyRandom(), WeightFormat.AS_STORED, 0, 1024), overrides),
                "loaded with other options: not handed over");
        assertNull(ModelPreload.take(options, overrides), "and not kept for later");
    }
}
