package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ReadyService;
import dev.allinone.lifecycle.ModelRuntime;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The bounds the README promises: a WebSocket turn that finds the turn queue full, a message beyond a connection's
 * queued turns, and any request that finds the engine's queue full are refused at once ({@code busy}, HTTP 503 with
 * Retry-After) instead of waiting without bound. The looping model's replies never end by themselves.
 */
@QuarkusTest
@TestProfile(BusyLimitsTest.TightLimits.class)
class BusyLimitsTest {

    public static class TightLimits implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyLooping().toString(),
                    "allinone.generation.max-new-tokens", "100000",
                    "allinone.engine.max-batch", "1",
                    "allinone.engine.max-queued", "2",
                    "allinone.chat.max-waiting-turns", "1",
                    "allinone.chat.max-queued-turns", "1");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @TestHTTPResource("/api/chat")
    URI restChat;

    @Inject
    ModelRuntime runtime;

    private URI ws() {
        return URI.create(chat.toString().replaceFirst("^http", "ws"));
    }

    @Test
    void aTurnThatFindsTheTurnQueueFullAndAMessageBeyondTheConnectionsQueueAreRefused() throws Exception {
        ReadyService.await();
        try (WsClient a = new WsClient(ws()); WsClient b = new WsClient(ws()); WsClient c = new WsClient(ws())) {
            a.send("一");
            assertEquals("sentiment", a.next().path("type").asText());
            b.send("二");
            assertEquals("queued", b.next().path("type").asText());
            c.send("三");
            JsonNode refused = c.next();
            assertEquals("busy", refused.path("code").asText(), "one turn waiting already fills the queue: " + refused);

            a.send("四"); // waits on the connection behind the reply in progress (1 allowed)
            a.send("五");
            JsonNode beyond = a.next();
            while (beyond.path("type").asText().equals("token")) {
                beyond = a.next();
            }
            assertEquals("busy", beyond.path("code").asText(), beyond.toString());

            assertEquals("cancelled", stopUntilEnd(a).path("finish").asText());
            assertEquals("cancelled", stopUntilEnd(b).path("finish").asText());
            // The queued "四" then runs, waits behind b, or (if b still waits) finds the turn queue full: it ends.
            stopUntilEnd(a);
        }
    }

    @Test
    void aRequestThatFindsTheEngineQueueFullGets503WithRetryAfter() throws Exception {
        ReadyService.await();
        HttpClient http = HttpClient.newHttpClient();
        // Two endless streamed replies fill the engine's queue of 2 (one runs, one waits: max-batch 1).
        CompletableFuture<HttpResponse<InputStream>> first = stream(http, "讲个故事");
        CompletableFuture<HttpResponse<InputStream>> second = stream(http, "再讲一个");
        try {
            first.get(30, TimeUnit.SECONDS).body().read();
            long deadline = System.currentTimeMillis() + 30_000;
            while (runtime.engine().load() < 2 && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(2, runtime.engine().load());
            given().contentType(ContentType.JSON).body("{\"text\":\"今天好开心\"}")
                    .when().post("/api/sentiment")
                    .then().statusCode(503).header("Retry-After", notNullValue()).body("code", equalTo("busy"));
            for (String stream : new String[] {"false", "true"}) {
                given().contentType(ContentType.JSON).body("{\"model\":\"Qwen1.5-0.5B-Chat\",\"stream\":" + stream
                                + ",\"messages\":[{\"role\":\"user\",\"content\":\"你好\"}]}")
                        .when().post("/v1/chat/completions")
                        .then().statusCode(503).contentType(ContentType.JSON).header("Retry-After", notNullValue())
                        .body("error.type", equalTo("server_error")).body("error.code", equalTo("busy"));
            }
        } finally {
            for (CompletableFuture<HttpResponse<InputStream>> f : java.util.List.of(first, second)) {
                if (f.isDone() && !f.isCompletedExceptionally()) {
                    f.get().body().close(); // closing the stream stops its reply
                } else {
                    f.cancel(true);
                }
            }
        }
    }

    private CompletableFuture<HttpResponse<InputStream>> stream(HttpClient http, String text) {
        return http.sendAsync(HttpRequest.newBuilder(restChat).header("Content-Type", "application/json")
                .header("Accept", "text/event-stream").POST(HttpRequest.BodyPublishers.ofString("{\"text\":\"" + text + "\"}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
    }

    /**
     * Stops the connection's turn, again at every frame until it ends with {@code done} or an error (a stop sent
     * between turns is forgotten).
     */
    private static JsonNode stopUntilEnd(WsClient ws) throws Exception {
        while (true) {
            ws.send("{\"type\":\"stop\"}");
            JsonNode frame = ws.next();
            if (frame.path("type").asText().equals("done") || frame.path("type").asText().equals("error")) {
                return frame;
            }
        }
    }
}
