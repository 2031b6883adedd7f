package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Without a model the service stays up, says why it is not ready, and refuses work with 503 / model_not_ready. */
@QuarkusTest
@TestProfile(ModelMissingTest.NoModel.class)
class ModelMissingTest {

    public static class NoModel implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // The first start would fetch the model; this hub refuses connections, as a machine without network.
            return Map.of("allinone.model.path", "target/no-such-model", "allinone.model.hub-endpoint", "http://127.0.0.1:9");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @Test
    void readinessIsDownWithTheReasonAndLivenessIsUp() throws Exception {
        for (int i = 0; i < 200 && given().get("/q/health/ready").body().asString().matches("(?s).*(LOADING|DOWNLOADING).*"); i++) {
            Thread.sleep(50);
        }
        given().get("/q/health/ready").then().statusCode(503)
                .body("checks.find { it.name == 'model' }.data.state", equalTo("FAILED"))
                .body("checks.find { it.name == 'model' }.data.reason", containsString("is missing and downloading http://127.0.0.1:9/Qwen/Qwen1.5-0.5B-Chat (main) failed ("))
                .body("checks.find { it.name == 'model' }.data.reason", containsString("HF_ENDPOINT"));
        given().get("/q/health/live").then().statusCode(200);
    }

    /** An autoscaler's query must not break while a replica has no model: the queue gauges read 0, nothing reads NaN. */
    @Test
    void theScalingGaugesReadZeroNotNaN() {
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String gauge : new String[] {"allinone_engine_requests", "allinone_engine_requests_waiting", "allinone_engine_requests_running",
                "allinone_chat_turns_waiting"}) {
            assertTrue(java.util.regex.Pattern.compile("(?m)^" + gauge + "(\\{[^}]*\\})? 0\\.0$").matcher(metrics).find(), gauge + " in\n" + metrics);
        }
        assertTrue(metrics.lines().filter(l -> l.startsWith("allinone_")).noneMatch(l -> l.endsWith("NaN")), metrics);
    }

    @Test
    void requestsGet503WithRetryAfter() throws Exception {
        given().contentType(ContentType.JSON).body("{\"text\":\"你好\"}").post("/api/sentiment")
                .then().statusCode(503).header("Retry-After", notNullValue()).body("code", equalTo("model_not_ready"));
        given().contentType(ContentType.JSON).body("{\"text\":\"你好\"}").post("/api/chat")
                .then().statusCode(503).body("code", equalTo("model_not_ready"));
        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send("你好");
            JsonNode frame = ws.next();
            assertEquals("model_not_ready", frame.path("code").asText(), frame.toString());
        }
    }
}
