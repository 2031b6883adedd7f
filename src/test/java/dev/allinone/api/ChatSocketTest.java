package dev.allinone.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ReadyService;
import dev.allinone.ScriptedModelResource;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(ScriptedModelResource.class)
class ChatSocketTest {

    @TestHTTPResource("/chat")
    URI chat;

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    private URI wsUri() {
        return URI.create(chat.toString().replaceFirst("^http", "ws"));
    }

    private static String replyOf(List<JsonNode> frames) {
        return frames.stream().filter(f -> f.path("type").asText().equals("token")).map(f -> f.path("text").asText())
                .collect(Collectors.joining());
    }

    @Test
    void framesComeAsSentimentThenTokensThenDone() throws Exception {
        try (WsClient ws = new WsClient(wsUri())) {
            ws.send("刚拿到offer，超级开心！");
            List<JsonNode> frames = ws.turn();
            assertEquals("sentiment", frames.getFirst().path("type").asText(), frames.toString());
            assertEquals("POSITIVE", frames.getFirst().path("label").asText());
            assertTrue(frames.getFirst().path("score").asDouble() > 0.99);
            JsonNode done = frames.getLast();
            assertEquals("done", done.path("type").asText(), frames.toString());
            assertEquals("stop", done.path("finish").asText());
            assertTrue(done.path("tokens").asInt() > 0 && done.has("ms"));
            List<JsonNode> middle = frames.subList(1, frames.size() - 1);
            assertTrue(middle.size() > 1 && middle.stream().allMatch(f -> f.path("type").asText().equals("token")), frames.toString());
            assertEquals(TestCheckpoints.SCRIPTED_REPLY, replyOf(frames));
            middle.forEach(f -> assertFalse(f.path("text").asText().contains("\uFFFD")));
        }
    }

    @Test
    void jsonMessagesWorkAndErrorsLeaveTheConnectionUsable() throws Exception {
        try (WsClient ws = new WsClient(wsUri())) {
            ws.send("{\"text\":\"今天好开心\"}");
            assertEquals(TestCheckpoints.SCRIPTED_REPLY, replyOf(ws.turn()));

            assertError(ws, "{oops", "bad_json");
            assertError(ws, "  {\"text\": 5}", "bad_type");
            assertError(ws, "{\"message\":\"hi\"}", "missing_text");
            assertError(ws, " \t\n ", "empty_text");
            assertError(ws, "好".repeat(2001), "text_too_long");
            assertError(ws, "{\"text\":\"" + "x".repeat(70_000) + "\"}", "frame_too_large");
            ws.sendBinary(new byte[] {1, 2, 3});
            JsonNode binary = ws.next();
            assertEquals("unsupported_frame", binary.path("code").asText(), binary.toString());

            ws.send("还在吗？");
            List<JsonNode> frames = ws.turn();
            assertEquals("sentiment", frames.getFirst().path("type").asText());
            assertEquals("done", frames.getLast().path("type").asText());
            assertTrue(ws.isOpen());
        }
    }

    @Test
    void aMessageSentWhileAReplyStreamsIsQueuedAndAnsweredNext() throws Exception {
        try (WsClient ws = new WsClient(wsUri())) {
            ws.send("第一条");
            ws.send("第二条");
            List<JsonNode> first = ws.turn();
            List<JsonNode> second = ws.turn();
            assertEquals("done", first.getLast().path("type").asText());
            assertEquals("sentiment", second.getFirst().path("type").asText());
            assertEquals("done", second.getLast().path("type").asText());
        }
    }

    private static void assertError(WsClient ws, String message, String code) throws Exception {
        ws.send(message);
        JsonNode frame = ws.next();
        assertEquals("error", frame.path("type").asText(), frame.toString());
        assertEquals(code, frame.path("code").asText(), frame.toString());
        assertFalse(frame.path("message").asText().isBlank());
    }

    /** A chat site behind one proxy: every user has the same address. Turns beyond the shares wait; none is refused. */
    @Test
    void sixteenConversationsFromOneAddressAllCompleteWithDefaultSettings() throws Exception {
        List<WsClient> clients = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 16; i++) {
                clients.add(new WsClient(wsUri()));
            }
            java.util.concurrent.atomic.AtomicInteger queued = new java.util.concurrent.atomic.AtomicInteger();
            List<java.util.concurrent.CompletableFuture<Void>> conversations = clients.stream()
                    .map(ws -> java.util.concurrent.CompletableFuture.runAsync(() -> {
                        try {
                            for (int turn = 0; turn < 2; turn++) {
                                ws.send("第" + turn + "轮：今天好开心");
                                List<JsonNode> frames = ws.turn();
                                int sentiment = frames.indexOf(frames.stream().filter(f -> f.path("type").asText().equals("sentiment"))
                                        .findFirst().orElseThrow(() -> new AssertionError("no sentiment frame: " + frames)));
                                for (int i = 0; i < sentiment; i++) {
                                    assertEquals("queued", frames.get(i).path("type").asText(), frames.toString());
                                    queued.incrementAndGet();
                                }
                                assertEquals("done", frames.getLast().path("type").asText(), frames.toString());
                                assertEquals(TestCheckpoints.SCRIPTED_REPLY, replyOf(frames));
                            }
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }, java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor())).toList();
            for (var c : conversations) {
                c.get(120, java.util.concurrent.TimeUnit.SECONDS);
            }
            assertTrue(queued.get() > 0, "16 at once is more than one client's share: some turns waited");
        } finally {
            for (WsClient ws : clients) {
                ws.close();
            }
        }
    }
}
