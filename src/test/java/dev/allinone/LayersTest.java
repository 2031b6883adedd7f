package dev.allinone;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The layers of the architecture map (README "How it works"): {@code engine} is a plain library (no Quarkus, CDI,
 * configuration or service code), {@code config} maps settings onto it, {@code lifecycle} owns the one model,
 * {@code ai} holds the AI services and use cases, and {@code api} / {@code health} are adapters nothing else uses.
 *
 * <p>Inside the engine, packages by role (docs/architecture.md): {@code tokenizer} (text ↔ ids, the chat template),
 * {@code sampling} (choosing the next token, stop strings, log-probabilities) and {@code kv} (key/value memory) stand
 * alone; {@code kernels} (matrix products, attention, threads, the weight formats' table) knows only {@code kv};
 * {@code model} (the checkpoint as numbers, the decoder) may use all four; the root package (the scheduler, jobs
 * and the public API) may use everything, and nothing inside the engine uses it.
 */
class LayersTest {

    private static final JavaClasses SERVICE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.allinone");

    @Test
    void theEngineIsAPlainLibrary() {
        noClasses().that().resideInAPackage("dev.allinone.engine..")
                .should().dependOnClassesThat().resideInAnyPackage("io.quarkus..", "jakarta..", "io.smallrye..", "io.vertx..",
                        "dev.allinone.config..", "dev.allinone.lifecycle..", "dev.allinone.ai..", "dev.allinone.api..",
                        "dev.allinone.health..", "dev.allinone.download..")
                .check(SERVICE);
    }

    private static final String ROOT = "dev.allinone.engine";
    private static final String MODEL = "dev.allinone.engine.model..";
    private static final String KERNELS = "dev.allinone.engine.kernels..";
    private static final String KV = "dev.allinone.engine.kv..";
    private static final String SAMPLING = "dev.allinone.engine.sampling..";
    private static final String TOKENIZER = "dev.allinone.engine.tokenizer..";
    private static final String FILES = "dev.allinone.engine.files..";

    @Test
    void theEngineRolesImportOnlyWhatTheyMay() {
        forbid(TOKENIZER, ROOT, MODEL, KERNELS, KV, SAMPLING);
        // Constrained decoding masks tokens by their bytes, so sampling may read the tokenizer (never the reverse).
        forbid(SAMPLING, ROOT, MODEL, KERNELS, KV);
        forbid(KV, ROOT, MODEL, KERNELS, SAMPLING, TOKENIZER);
        forbid(KERNELS, ROOT, MODEL, SAMPLING, TOKENIZER);
        forbid(MODEL, ROOT);
        forbid(FILES, ROOT, MODEL, KERNELS, KV, SAMPLING, TOKENIZER);
    }

    /**
     * Products go through the kernels' table of weight formats ({@code MatrixFormat}): the decoder picks no product
     * path by the type of a Jlama tensor. (Writing the quantized copy, {@code QuantizedCheckpoint}, names its format's tensor.)
     */
    @Test
    void theDecoderPicksProductsThroughTheFormatTable() {
        noClasses().that().resideInAPackage(MODEL).and().doNotHaveSimpleName("QuantizedCheckpoint")
                .should().dependOnClassesThat().haveNameMatching("com\\.github\\.tjake\\.jlama\\.tensor\\.Q\\d+ByteBufferTensor")
                .check(SERVICE);
    }

    private static void forbid(String role, String... others) {
        noClasses().that().resideInAPackage(role)
                .should().dependOnClassesThat().resideInAnyPackage(others)
                .check(SERVICE);
    }

    @Test
    void configurationKnowsOnlyTheEngine() {
        noClasses().that().resideInAPackage("dev.allinone.config..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.allinone.lifecycle..", "dev.allinone.ai..",
                        "dev.allinone.api..", "dev.allinone.health..")
                .check(SERVICE);
    }

    @Test
    void theAiServicesDoNotKnowTheirAdapters() {
        noClasses().that().resideInAnyPackage("dev.allinone.ai..", "dev.allinone.lifecycle..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.allinone.api..", "dev.allinone.health..")
                .check(SERVICE);
    }

    @Test
    void adaptersAreUsedByNothingElse() {
        noClasses().that().resideOutsideOfPackage("dev.allinone.api..")
                .should().dependOnClassesThat().resideInAPackage("dev.allinone.api..")
                .check(SERVICE);
        noClasses().that().resideOutsideOfPackage("dev.allinone.health..")
                .should().dependOnClassesThat().resideInAPackage("dev.allinone.health..")
                .check(SERVICE);
    }
}
