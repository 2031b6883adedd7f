package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ReadyService;
import dev.allinone.ScriptedModelResource;
import dev.allinone.ai.memory.ConversationStore;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ChatMessageType;
import dev.langchain4j.data.message.UserMessage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The conversation key outside the body (issue 24): {@code X-Conversation-Id} on REST chat (JSON and SSE) with
 * {@code X-Conversation-Id} / {@code X-Conversation-Turns} on every answer, and {@code ?conversation=} on the
 * WebSocket handshake, which resumes a conversation after a reconnect (a {@code conversation} frame first) — the
 * same conversation whatever the channel, since all of them read the one store.
 */
@QuarkusTest
@QuarkusTestResource(ScriptedModelResource.class)
class ConversationKeyTest {

    @TestHTTPResource("/chat")
    URI chat;

    @Inject
    ConversationStore store;

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    private URI ws(String query) {
        return URI.create(chat.toString().replaceFirst("^http", "ws") + query);
    }

    private static Response restTurn(String id, String text) {
        return given().contentType(ContentType.JSON).header("X-Conversation-Id", id).body("{\"text\":\"" + text + "\"}")
                .post("/api/chat");
    }

    private List<String> userTexts(String id) {
        return store.getMessages(id).stream().filter(UserMessage.class::isInstance).map(m -> ((UserMessage) m).singleText()).toList();
    }

    @Test
    void theHeaderNamesTheConversationAndTheAnswerCountsItsEarlierTurns() {
        String id = "hdr-" + UUID.randomUUID();
        for (int turn = 0; turn < 3; turn++) {
            restTurn(id, "第" + turn + "句").then().statusCode(200).body("conversationId", equalTo(id))
                    .header("X-Conversation-Id", id).header("X-Conversation-Turns", String.valueOf(turn))
                    .header(ServedBy.HEADER, notNullValue());
        }
        assertEquals(List.of("第0句", "第1句", "第2句"), userTexts(id));

        // Header and body naming the same conversation is fine; naming two is refused before anything runs.
        given().contentType(ContentType.JSON).header("X-Conversation-Id", id).body("{\"text\":\"同一个\",\"conversationId\":\"" + id + "\"}")
                .post("/api/chat").then().statusCode(200).header("X-Conversation-Turns", "3");
        given().contentType(ContentType.JSON).header("X-Conversation-Id", id).body("{\"text\":\"另一个\",\"conversationId\":\"other\"}")
                .post("/api/chat").then().statusCode(400).body("code", equalTo("conversation_mismatch"));
        assertEquals(4, userTexts(id).size(), "the refused turn left the conversation as it was");

        // Without any id: a new conversation, its id in the body and the header.
        Response fresh = given().contentType(ContentType.JSON).body("{\"text\":\"你好\"}").post("/api/chat");
        fresh.then().statusCode(200).header("X-Conversation-Turns", "0");
        assertEquals(fresh.jsonPath().getString("conversationId"), fresh.header("X-Conversation-Id"));
    }

    @Test
    void aBadHeaderIdIsRefusedWithTheFieldAtFault() {
        for (String bad : new String[] {"c".repeat(129), "a\tb"}) {
            restTurn(bad, "你好").then().statusCode(400).body("code", equalTo("bad_conversation_id"))
                    .body("field", equalTo("X-Conversation-Id"));
        }
    }

    @Test
    void serverSentEventsCarryTheHeadersAndAreNotBufferedByProxies() {
        String id = "sse-" + UUID.randomUUID();
        restTurn(id, "先说一句").then().statusCode(200);
        Response sse = given().contentType(ContentType.JSON).accept("text/event-stream").header("X-Conversation-Id", id)
                .body("{\"text\":\"再说一句\"}").post("/api/chat");
        sse.then().statusCode(200).header("X-Conversation-Id", id).header("X-Conversation-Turns", "1")
                .header("X-Accel-Buffering", "no");
        assertTrue(sse.asString().contains("event:done"), sse.asString());
        assertEquals(List.of("先说一句", "再说一句"), userTexts(id));
    }

    @Test
    void aWebSocketResumesAConversationAfterAReconnectWhateverChannelBeganIt() throws Exception {
        String id = "ws-" + UUID.randomUUID();
        restTurn(id, "从REST开始").then().statusCode(200);
        String query = "?conversation=" + URLEncoder.encode(id, StandardCharsets.UTF_8);
        try (WsClient first = new WsClient(ws(query))) {
            JsonNode hello = first.next();
            assertEquals("conversation", hello.path("type").asText(), hello.toString());
            assertEquals(id, hello.path("id").asText());
            assertEquals(1, hello.path("turns").asInt());
            first.send("第二句");
            assertEquals("done", first.turn().getLast().path("type").asText());
        }
        // The connection is gone; the conversation is not.
        try (WsClient again = new WsClient(ws(query))) {
            JsonNode hello = again.next();
            assertEquals("conversation", hello.path("type").asText(), hello.toString());
            assertEquals(2, hello.path("turns").asInt(), hello.toString());
            again.send("第三句");
            List<JsonNode> frames = again.turn();
            assertEquals("done", frames.getLast().path("type").asText(), frames.toString());
        }
        assertEquals(List.of("从REST开始", "第二句", "第三句"), userTexts(id));
        List<ChatMessageType> types = store.getMessages(id).stream().map(ChatMessage::type).toList();
        assertEquals(List.of(ChatMessageType.SYSTEM, ChatMessageType.USER, ChatMessageType.AI, ChatMessageType.USER, ChatMessageType.AI,
                ChatMessageType.USER, ChatMessageType.AI), types);
        restTurn(id, "回到REST").then().statusCode(200).header("X-Conversation-Turns", "3");
    }

    @Test
    void aWebSocketWithoutAConversationStartsANewOneAndSendsNoConversationFrame() throws Exception {
        try (WsClient ws = new WsClient(ws(""))) {
            ws.send("你好");
            List<JsonNode> frames = ws.turn();
            assertEquals("sentiment", frames.getFirst().path("type").asText(), frames.toString());
        }
    }

    @Test
    void aBadConversationParameterGetsAnErrorFrameAndTheConnectionCloses() throws Exception {
        try (WsClient ws = new WsClient(ws("?conversation=" + URLEncoder.encode("a\u0001b", StandardCharsets.UTF_8)))) {
            JsonNode error = ws.next();
            assertEquals("error", error.path("type").asText(), error.toString());
            assertEquals("bad_conversation_id", error.path("code").asText());
            JsonNode closed = ws.next();
            assertEquals("closed", closed.path("type").asText(), closed.toString());
            assertEquals(1008, closed.path("status").asInt());
        }
    }
}
