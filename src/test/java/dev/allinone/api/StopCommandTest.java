package dev.allinone.api;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ReadyService;
import dev.allinone.lifecycle.ModelRuntime;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {"type":"stop"} ends the reply in progress; the conversation goes on. The looping model never ends by itself. */
@QuarkusTest
@TestProfile(StopCommandTest.LongReplies.class)
class StopCommandTest {

    public static class LongReplies implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyLooping().toString(), "allinone.generation.max-new-tokens", "1500",
                    "allinone.chat.max-active-per-client", "2", "allinone.model.name", "looper");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @Inject
    ModelRuntime runtime;

    @Test
    void stopEndsTheReplyAsCancelledAndTheConnectionGoesOn() throws Exception {
        ReadyService.await();
        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send("讲一个很长的故事");
            assertEquals("sentiment", ws.next().path("type").asText());
            assertEquals("token", ws.next().path("type").asText());
            ws.send("{\"type\":\"stop\"}");
            List<JsonNode> rest = ws.turn();
            JsonNode done = rest.getLast();
            assertEquals("done", done.path("type").asText(), rest.toString());
            assertEquals("cancelled", done.path("finish").asText(), rest.toString());
            assertTrue(done.path("tokens").asInt() < 1500, done.toString());

            ws.send("{\"text\":\"还在吗\"}");
            assertEquals("sentiment", ws.next().path("type").asText());
            ws.send("{\"type\":\"stop\"}");
            assertEquals("done", ws.turn().getLast().path("type").asText());
        }
    }

    /**
     * Closing the socket cancels the reply in progress: left running, the looping model writes all 1,500 tokens
     * before the engine goes idle.
     */
    @Test
    void closingTheSocketCancelsTheReplyInProgress() throws Exception {
        ReadyService.await();
        long before = runtime.engine().tokensGenerated();
        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send("讲一个很长的故事");
            assertEquals("sentiment", ws.next().path("type").asText());
            assertEquals("token", ws.next().path("type").asText());
        }
        long deadline = System.currentTimeMillis() + 60_000;
        while (runtime.engine().load() > 0 && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, runtime.engine().load(), "the engine must go idle");
        long written = runtime.engine().tokensGenerated() - before;
        assertTrue(written > 0 && written < 1500, written + " tokens written after the socket closed");
    }

    /**
     * An OpenAI stream arrives while the model still writes (it streams, it is not buffered), and a client that goes
     * away cancels the completion: left running, the looping model writes all 1,500 tokens.
     */
    @Test
    void closingAnOpenAiStreamCancelsTheCompletion() throws Exception {
        ReadyService.await();
        long before = runtime.engine().tokensGenerated();
        HttpRequest request = HttpRequest.newBuilder(URI.create(chat.toString().replaceFirst("/chat$", "/v1/chat/completions")))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"looper\",\"stream\":true,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"讲一个很长的故事\"}]}"))
                .build();
        try (HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            HttpResponse<InputStream> response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                String line;
                int content = 0;
                while (content < 3 && (line = lines.readLine()) != null) {
                    if (line.contains("\"content\":\"") && !line.contains("\"content\":\"\"")) {
                        content++;
                    }
                }
                assertEquals(3, content);
                assertTrue(runtime.engine().load() > 0, "the first chunks came while the reply was still being written");
            }
        }
        long deadline = System.currentTimeMillis() + 60_000;
        while (runtime.engine().load() > 0 && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, runtime.engine().load(), "the engine must go idle");
        long written = runtime.engine().tokensGenerated() - before;
        assertTrue(written > 0 && written < 1500, written + " tokens written after the client went away");
    }

    @Test
    void aClientsTurnBeyondItsShareWaitsInTheQueueInsteadOfBeingRefused() throws Exception {
        ReadyService.await();
        URI uri = URI.create(chat.toString().replaceFirst("^http", "ws"));
        try (WsClient a = new WsClient(uri); WsClient b = new WsClient(uri); WsClient c = new WsClient(uri)) {
            JsonNode waiting = thirdTurnOfOneClient(a, b, c);
            assertEquals(1, waiting.path("position").asInt(), waiting.toString());

            a.send("{\"type\":\"stop\"}");
            assertEquals("cancelled", a.turn().getLast().path("finish").asText());
            assertEquals("sentiment", c.next().path("type").asText(), "the waiting turn starts once a reply of its client ends");
            b.send("{\"type\":\"stop\"}");
            c.send("{\"type\":\"stop\"}");
            assertEquals("done", b.turn().getLast().path("type").asText());
            assertEquals("done", c.turn().getLast().path("type").asText());
        }
    }

    @Test
    void stoppingATurnThatWaitsEndsItWithoutRunningIt() throws Exception {
        ReadyService.await();
        URI uri = URI.create(chat.toString().replaceFirst("^http", "ws"));
        try (WsClient a = new WsClient(uri); WsClient b = new WsClient(uri); WsClient c = new WsClient(uri)) {
            thirdTurnOfOneClient(a, b, c);
            c.send("{\"type\":\"stop\"}");
            JsonNode done = c.next();
            assertEquals("done", done.path("type").asText(), done.toString());
            assertEquals("cancelled", done.path("finish").asText());
            assertEquals(0, done.path("tokens").asInt());
            a.send("{\"type\":\"stop\"}");
            b.send("{\"type\":\"stop\"}");
            assertEquals("done", a.turn().getLast().path("type").asText());
            assertEquals("done", b.turn().getLast().path("type").asText());
        }
    }

    /** Two endless replies fill this client's share of 2; the third socket's turn waits. Returns its queued frame. */
    private static JsonNode thirdTurnOfOneClient(WsClient a, WsClient b, WsClient c) throws Exception {
        a.send("一");
        assertEquals("sentiment", a.next().path("type").asText());
        b.send("二");
        assertEquals("sentiment", b.next().path("type").asText());
        c.send("三");
        JsonNode waiting = c.next();
        assertEquals("queued", waiting.path("type").asText(), waiting.toString());
        return waiting;
    }
}
