package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
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
            return Map.of("allinone.model.path", TestCheckpoints.tinyLooping().toString(), "allinone.engine.request-timeout", "2s",
                    "allinone.generation.max-new-tokens", "100000", "allinone.model.context-length", "32768");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @Test
    void failedRequestsEndCleanlyAndTheServiceStaysReady() throws Exception {
        for (int i = 0; i < 200 && given().get("/q/health/ready").statusCode() != 200; i++) {
            Thread.sleep(100);
        }
        given().get("/q/health/ready").then().statusCode(200);
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
}
