package dev.allinone.metrics;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.ReadyService;
import dev.allinone.ScriptedModelResource;
import dev.allinone.api.WsClient;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.net.URI;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The doors an operator opens: Prometheus metrics at {@code /q/metrics} that move with real traffic (a REST
 * sentiment call and a WebSocket chat turn), and the OpenAPI document with its Chinese and English examples.
 */
@QuarkusTest
@QuarkusTestResource(ScriptedModelResource.class)
class MetricsAndOpenApiTest {

    @TestHTTPResource("/chat")
    URI chat;

    @Test
    void metricsCountTheTrafficPerTaskEndpointAndChannel() throws Exception {
        ReadyService.await();
        String before = metrics();
        given().contentType(ContentType.JSON).body("{\"text\":\"刚拿到offer，超级开心！\"}").post("/api/sentiment").then().statusCode(200);
        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send("今天好开心");
            List<JsonNode> frames = ws.turn();
            assertEquals("done", frames.getLast().path("type").asText(), frames.toString());
        }
        String after = metrics();

        assertEquals(1, value(after, "http_server_requests_seconds_count", "uri=\"/api/sentiment\"")
                - value(before, "http_server_requests_seconds_count", "uri=\"/api/sentiment\""), 0.0);
        // the REST call and the WebSocket turn's sentiment
        assertEquals(2, value(after, "allinone_sentiment_duration_seconds_count") - value(before, "allinone_sentiment_duration_seconds_count"), 0.0);
        assertEquals(1, value(after, "allinone_chat_turn_duration_seconds_count", "channel=\"websocket\"", "outcome=\"stop\"")
                - value(before, "allinone_chat_turn_duration_seconds_count", "channel=\"websocket\"", "outcome=\"stop\""), 0.0);
        assertEquals(1, value(after, "allinone_chat_time_to_first_token_seconds_count", "channel=\"websocket\"")
                - value(before, "allinone_chat_time_to_first_token_seconds_count", "channel=\"websocket\""), 0.0);
        assertTrue(value(after, "allinone_engine_generated_tokens_total") > value(before, "allinone_engine_generated_tokens_total"));
        assertTrue(value(after, "allinone_engine_prefix_cache_hits_total") > value(before, "allinone_engine_prefix_cache_hits_total"),
                "the pinned task prompts are reused");
        assertTrue(value(after, "allinone_engine_kv_bytes_budget") > 0);
        assertTrue(value(after, "allinone_engine_kv_bytes_in_use") > 0);
        assertEquals(0, value(after, "allinone_engine_requests"), 0.0);
        assertTrue(value(after, "allinone_chat_decode_tokens_per_second_count") >= 1);
    }

    /** Every series the shipped Grafana dashboard queries is one the service exposes (after some traffic). */
    @Test
    void theGrafanaDashboardQueriesOnlyMetricsTheServiceExposes() throws Exception {
        ReadyService.await();
        given().contentType(ContentType.JSON).body("{\"text\":\"今天好开心\"}").post("/api/chat").then().statusCode(200);
        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send("你好");
            ws.turn();
        }
        String exposition = metrics();
        JsonNode dashboard = new ObjectMapper().readTree(java.nio.file.Path.of("docs", "grafana", "qwen-all-in-one.json").toFile());
        java.util.Set<String> queried = new java.util.TreeSet<>();
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                Matcher m = Pattern.compile("\\b((?:allinone|http_server|cache)_[a-z_]+)").matcher(target.path("expr").asText());
                while (m.find()) {
                    queried.add(m.group(1));
                }
            }
        }
        assertTrue(queried.size() >= 10, queried.toString());
        for (String series : queried) {
            assertTrue(Pattern.compile("^" + Pattern.quote(series) + "[{ ]", Pattern.MULTILINE).matcher(exposition).find(),
                    series + " is queried by the dashboard but not exposed");
        }
    }

    @Test
    void theOpenApiDocumentDescribesTheRestApiWithExamplesInBothLanguages() throws Exception {
        JsonNode doc = new ObjectMapper().readTree(given().queryParam("format", "json").get("/q/openapi").then().statusCode(200)
                .extract().asString());
        for (String path : List.of("/api/sentiment", "/api/chat", "/api/tokenize", "/api/detokenize", "/api/tasks", "/api/tasks/{name}",
                "/v1/chat/completions", "/v1/models")) {
            assertTrue(doc.path("paths").has(path), path + " in " + doc.path("paths").fieldNames());
        }
        String sentiment = doc.at("/paths/~1api~1sentiment/post").toString();
        assertTrue(sentiment.contains("刚拿到offer") && sentiment.contains("The flight was cancelled again."), sentiment);
        assertTrue(doc.at("/paths/~1api~1chat/post").toString().contains("今天被领导批评了"));
        String tasks = doc.at("/paths/~1api~1tasks~1{name}/post").toString();
        assertTrue(tasks.contains("我上周买的耳机坏了") && tasks.contains("The new update drains"), tasks);
        String openAi = doc.at("/paths/~1v1~1chat~1completions/post").toString();
        assertTrue(openAi.contains("刚拿到offer") && openAi.contains("I failed my exam.") && openAi.contains("top_logprobs"), openAi);
        given().get("/q/swagger-ui/").then().statusCode(200);
    }

    private static String metrics() {
        return given().get("/q/metrics").then().statusCode(200).extract().asString();
    }

    /** The sum of a metric's samples whose labels contain all of {@code labels}; 0 when there is none. */
    private static double value(String exposition, String name, String... labels) {
        Matcher m = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*\\})? (\\S+)$", Pattern.MULTILINE).matcher(exposition);
        double sum = 0;
        while (m.find()) {
            String set = m.group(1) == null ? "" : m.group(1);
            boolean all = true;
            for (String label : labels) {
                all &= set.contains(label);
            }
            if (all) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }
}
