package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A reply that outgrows the key/value memory alone ({@code allinone.engine.kv-cache-memory}), long before the
 * context length: it ends like a full context — finish_reason length on /v1, finish context_full on the WebSocket —
 * and the service goes on. The looping model's replies never end by themselves.
 */
@QuarkusTest
@TestProfile(KvBudgetTest.SmallKvBudget.class)
class KvBudgetTest {

    static final int CONTEXT = 2048;

    public static class SmallKvBudget implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // 512 bytes a token for the tiny model: room for about a thousand tokens, pinned prompts included
            return Map.of("allinone.model.path", TestCheckpoints.tinyLooping().toString(), "allinone.engine.kv-cache-memory", "512K",
                    "allinone.model.context-length", String.valueOf(CONTEXT), "allinone.generation.max-new-tokens", "100000");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @Test
    void aReplyThatOutgrowsTheKvMemoryEndsLikeAFullContext() throws Exception {
        ReadyService.await();
        int budgetTokens = given().get("/q/health/ready").then().statusCode(200).extract()
                .<Integer>path("checks.find { it.data?.kvCacheBudgetBytes != null }.data.kvCacheBudgetBytes") / 512;
        assertTrue(budgetTokens < CONTEXT, "the memory, not the context, must be the limit: " + budgetTokens);

        JsonPath answer = given().contentType(ContentType.JSON).body("{\"model\":\"Qwen1.5-0.5B-Chat\","
                        + "\"messages\":[{\"role\":\"system\",\"content\":\"简短\"},{\"role\":\"user\",\"content\":\"讲个很长的故事\"}]}")
                .post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertEquals("length", answer.getString("choices[0].finish_reason"), answer.prettify());
        int total = answer.getInt("usage.total_tokens");
        assertTrue(total <= budgetTokens && total > budgetTokens / 2, total + " tokens for a budget of " + budgetTokens);

        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send("讲个很长的故事");
            JsonNode done = ws.turn().getLast();
            assertEquals("done", done.path("type").asText(), done.toString());
            assertEquals("context_full", done.path("finish").asText(), done.toString());
            assertTrue(done.path("tokens").asInt() < budgetTokens, done.toString());
        }
        given().get("/q/health/ready").then().statusCode(200);
    }
}
