package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An error only the engine raises, as clients see it: a text within the character limit whose prompt does not fit
 * the model's context ({@code prompt_too_long}, 413, field {@code text}) on REST and WebSocket; the service stays
 * ready and the connection usable.
 */
@QuarkusTest
@TestProfile(ApiErrorsTest.SmallContext.class)
class ApiErrorsTest {

    public static class SmallContext implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyScripted().toString(), "allinone.model.context-length", "256");
        }
    }

    /** 600 characters: within allinone.input.max-chars (2000), far beyond a 256-token context. */
    private static final String LONG_TEXT = "今天的天气很好，我们去公园散步吧。".repeat(35);

    @TestHTTPResource("/chat")
    URI chat;

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    @Test
    void aPromptBeyondTheContextIs413PromptTooLong() throws Exception {
        for (String path : new String[] {"/api/sentiment", "/api/chat"}) {
            given().contentType(ContentType.JSON).body(Map.of("text", LONG_TEXT)).post(path)
                    .then().statusCode(413).body("code", equalTo("prompt_too_long")).body("field", equalTo("text"))
                    .body("detail", containsString("256"));
        }
        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send(LONG_TEXT);
            JsonNode error = ws.next();
            assertEquals("error", error.path("type").asText(), error.toString());
            assertEquals("prompt_too_long", error.path("code").asText(), error.toString());
            assertEquals("text", error.path("field").asText(), error.toString());
            assertFalse(error.path("message").asText().isBlank());
            assertTurnWorks(ws);
        }
        given().get("/q/health/ready").then().statusCode(200);
    }

    private static void assertTurnWorks(WsClient ws) throws Exception {
        ws.send("你好");
        var frames = ws.turn();
        assertEquals("sentiment", frames.getFirst().path("type").asText(), frames.toString());
        assertEquals("done", frames.getLast().path("type").asText(), frames.toString());
        assertEquals(TestCheckpoints.SCRIPTED_REPLY, frames.stream().filter(f -> f.path("type").asText().equals("token"))
                .map(f -> f.path("text").asText()).collect(java.util.stream.Collectors.joining()));
    }
}
