package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A request that fails inside the engine (here: a reply that never ends outlives the 2 s request timeout, which
 * the model thread turns into a failure of that request) ends with an error frame / problem body; the service
 * stays ready, other requests are served, and the connection stays usable.
 */
@QuarkusTest
@TestProfile(FailureIsolationTest.InstantTimeout.class)
class FailureIsolationTest {

    public static class InstantTimeout implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyLooping().toString(), "allinone.engine.request-timeout", "8s",
                    "allinone.generation.max-new-tokens", "100000", "allinone.model.context-length", "32768");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @Test
    void failedRequestsEndCleanlyAndTheServiceStaysReady() throws Exception {
        ReadyService.await();
        given().contentType(ContentType.JSON).body("{\"text\":\"你好\"}").post("/api/chat")
                .then().statusCode(504).body("code", equalTo("timeout"));
        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            for (int i = 0; i < 2; i++) {
                ws.send("{\"text\":\"\\ud800你好\"}"); // a lone surrogate via a JSON escape is dropped, not fatal
                List<JsonNode> frames = ws.turn();
                assertEquals("sentiment", frames.getFirst().path("type").asText(), frames.toString());
                assertEquals("timeout", frames.getLast().path("code").asText(), frames.getLast().toString());
            }
        }
        given().contentType(ContentType.JSON).body("{\"text\":\"你好\"}").post("/api/sentiment")
                .then().statusCode(200).body("label", equalTo("POSITIVE"));
        given().get("/q/health/ready").then().statusCode(200);
    }

    /**
     * On /v1 a completion that outlives the request timeout is a 504 {@code timeout} in OpenAI's shape; a stream that
     * had begun ends with one event holding that error (an OpenAI client raises it), without {@code [DONE]}.
     */
    @Test
    void aCompletionThatTimesOutIs504OrEndsItsStreamWithTheError() throws Exception {
        ReadyService.await();
        String request = "{\"model\":\"Qwen1.5-0.5B-Chat\",\"messages\":[{\"role\":\"user\",\"content\":\"讲个故事\"}]";
        given().contentType(ContentType.JSON).body(request + "}").post("/v1/chat/completions")
                .then().statusCode(504).contentType(ContentType.JSON)
                .body("error.type", equalTo("server_error")).body("error.code", equalTo("timeout"));
        String body = given().contentType(ContentType.JSON).body(request + ",\"stream\":true}").post("/v1/chat/completions")
                .then().statusCode(200).contentType("text/event-stream").extract().asString();
        List<String> events = body.lines().filter(l -> !l.isEmpty()).toList();
        assertTrue(events.size() > 2, "the stream began: " + body);
        JsonNode last = new ObjectMapper().readTree(events.getLast().substring("data: ".length()));
        assertEquals("timeout", last.at("/error/code").asText(), events.getLast());
        assertEquals("server_error", last.at("/error/type").asText(), events.getLast());
    }
}
