package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The service on the AVX2 kernels (what CPUs without AVX-512 VNNI run), forced with {@code allinone.engine.kernels}
 * on a checkpoint whose shape takes the production path (8-bit activations, C products, attention and SwiGLU):
 * readiness names the variant, and a sentiment call, a WebSocket turn and a {@code /v1} completion run through it.
 * That the variant computes the other variants' numbers to the bit is {@code NativeKernelsTest}'s.
 */
@QuarkusTest
@TestProfile(Avx2KernelsServiceTest.Avx2.class)
class Avx2KernelsServiceTest {

    public static class Avx2 implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.smallAligned().toString(),
                    "allinone.engine.kernels", "avx2",
                    "allinone.generation.max-new-tokens", "12");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    private static void assumeAvx2() throws Exception {
        String flags = Files.readString(Path.of("/proc/cpuinfo"));
        assumeTrue(List.of(" avx2", " fma", " f16c").stream().allMatch(flags::contains), "this CPU has no AVX2 + FMA + F16C");
    }

    @Test
    void readinessNamesTheVariantAndEveryDoorAnswersThroughIt() throws Exception {
        assumeAvx2();
        ReadyService.await();
        JsonPath ready = given().get("/q/health/ready").then().statusCode(200).extract().jsonPath();
        assertEquals("avx2", ready.getString("checks.find { it.name == 'model' }.data.kernels"), ready.prettify());

        JsonPath sentiment = given().contentType(ContentType.JSON).body("{\"text\":\"刚拿到offer，超级开心！\"}").post("/api/sentiment")
                .then().statusCode(200).extract().jsonPath();
        assertTrue(Set.of("POSITIVE", "NEGATIVE").contains(sentiment.getString("label")), sentiment.prettify());
        double score = sentiment.getDouble("score");
        assertTrue(score >= 0.5 && score <= 1, sentiment.prettify());

        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send("今天被领导批评了");
            List<JsonNode> frames = ws.turn();
            assertEquals("sentiment", frames.getFirst().path("type").asText(), frames.toString());
            JsonNode done = frames.getLast();
            assertEquals("done", done.path("type").asText(), frames.toString());
            assertTrue(done.path("tokens").asInt() >= 1, frames.toString());
            assertTrue(frames.stream().anyMatch(f -> f.path("type").asText().equals("token")), frames.toString());
        }

        JsonPath completion = given().contentType(ContentType.JSON)
                .body("{\"model\":\"Qwen1.5-0.5B-Chat\",\"messages\":[{\"role\":\"user\",\"content\":\"你好\"}],\"max_tokens\":6,\"temperature\":0,\"logprobs\":true,\"top_logprobs\":3}")
                .post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertTrue(completion.getInt("usage.completion_tokens") >= 1, completion.prettify());
        List<Float> logprobs = completion.getList("choices[0].logprobs.content.logprob", Float.class);
        assertTrue(!logprobs.isEmpty() && logprobs.stream().allMatch(p -> p <= 0 && Float.isFinite(p)), completion.prettify());
    }
}
