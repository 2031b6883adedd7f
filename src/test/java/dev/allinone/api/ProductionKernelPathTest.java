package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.either;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ReadyService;
import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.lifecycle.ModelRuntime;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The service on a checkpoint of the production kernel path: {@link TestCheckpoints#smallGrouped} at Q4 (the
 * default weights) has rows in whole groups of 256 values, so the activations are rounded to 8 bits and, on a CPU
 * with AVX-512 VNNI, every product runs on the C kernels — the path the real model takes, which the other service
 * tests (tiny checkpoints, hidden size 64) never do. A sentiment request and a WebSocket chat turn go through it;
 * the start-up log line an operator reads says which kernels run.
 */
@QuarkusTest
@TestProfile(ProductionKernelPathTest.ProductionShape.class)
class ProductionKernelPathTest {

    static final Path LOG = Path.of("target", "production-kernel-path.log");

    public static class ProductionShape implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Files.deleteIfExists(LOG);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return Map.of("allinone.model.path", TestCheckpoints.smallGrouped().toString(),
                    "allinone.generation.max-new-tokens", "12",
                    "quarkus.http.test-port", "0", // any free port: other builds share this machine
                    "quarkus.log.file.enabled", "true",
                    "quarkus.log.file.path", LOG.toString());
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @Inject
    ModelRuntime runtime;

    @BeforeEach
    void ready() throws Exception {
        assumeTrue(Files.readString(Path.of("/proc/cpuinfo")).contains("avx512_vnni"), "this CPU has no AVX-512 VNNI");
        ReadyService.await();
    }

    @Test
    void theStartUpLogAndTheLoadedModelSayTheCKernelsRun() throws Exception {
        String line = readyLine();
        assertTrue(line.contains("(Q4 weights, avx512-vnni kernels)"), line);
        assertEquals(Kernels.AVX512_VNNI, runtime.engine().model().kernels(), "the kernels the loaded model runs on");
        given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'model' }.data.weights", equalTo("Q4"))
                .body("checks.find { it.name == 'model' }.data.kernels", equalTo("avx512-vnni"));
    }

    @Test
    void aSentimentRequestAndAChatTurnRunOnIt() throws Exception {
        given().contentType(ContentType.JSON).body("{\"text\":\"刚拿到offer，超级开心！\"}").post("/api/sentiment")
                .then().statusCode(200)
                .body("label", either(equalTo("POSITIVE")).or(equalTo("NEGATIVE")))
                .body("score", greaterThan(0f)).body("score", lessThanOrEqualTo(1f));
        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send("今天天气不错，我们去公园走走吧");
            List<JsonNode> frames = ws.turn();
            assertEquals("sentiment", frames.getFirst().path("type").asText(), frames.toString());
            JsonNode done = frames.getLast();
            assertEquals("done", done.path("type").asText(), frames.toString());
            long tokens = frames.stream().filter(f -> f.path("type").asText().equals("token")).count();
            assertTrue(tokens > 0 && done.path("tokens").asInt() > 0 && done.path("tokens").asInt() <= 12, frames.toString());
        }
        assertEquals(Kernels.AVX512_VNNI, runtime.engine().model().kernels(), "the kernels the loaded model runs on");
    }

    /** The "ready" line of the start-up log (written just after readiness flips, so waited for briefly). */
    private static String readyLine() throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(10));
        while (true) {
            if (Files.exists(LOG)) {
                var line = Files.readAllLines(LOG).stream().filter(l -> l.contains("Qwen All-in-One ready")).findFirst();
                if (line.isPresent()) {
                    return line.get();
                }
            }
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("no ready line in " + LOG);
            }
            Thread.sleep(100);
        }
    }
}
