package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.closeTo;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.ReadyService;
import dev.allinone.ScriptedModelResource;
import dev.allinone.ai.memory.ConversationStore;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.KvStats;
import dev.allinone.lifecycle.ModelRuntime;
import dev.allinone.engine.TestCheckpoints;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ChatMessageType;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(ScriptedModelResource.class)
class RestApiTest {

    @Inject
    ModelRuntime runtime;

    @Inject
    ConversationStore conversations;

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    @Test
    void sentimentAnswersALabelAndItsProbability() {
        given().contentType(ContentType.JSON).body("{\"text\":\"刚拿到offer，超级开心！\"}")
                .post("/api/sentiment")
                .then().statusCode(200)
                .body("label", equalTo("POSITIVE"))
                .body("score", greaterThan(0.99f));
    }

    @Test
    void sentimentRejectsBadInputNamingTheField() {
        given().contentType(ContentType.JSON).body("{\"text\":\"   \"}").post("/api/sentiment")
                .then().statusCode(400).contentType("application/problem+json")
                .body("code", equalTo("empty_text")).body("field", equalTo("text"));
        given().contentType(ContentType.JSON).body("{\"text\": 42}").post("/api/sentiment")
                .then().statusCode(400).body("code", equalTo("bad_type")).body("field", equalTo("text"));
        given().contentType(ContentType.JSON).body("{\"txt\":\"hi\"}").post("/api/sentiment")
                .then().statusCode(400).body("code", equalTo("missing_text")).body("field", equalTo("text"));
        given().contentType(ContentType.JSON).body("{not json").post("/api/sentiment")
                .then().statusCode(400).body("code", equalTo("bad_json"));
        given().contentType(ContentType.JSON).body("[1,2]").post("/api/sentiment")
                .then().statusCode(400).body("code", equalTo("bad_json"));
        given().contentType(ContentType.JSON).body("").post("/api/sentiment")
                .then().statusCode(400).body("code", equalTo("bad_json"));
        given().contentType(ContentType.JSON).body("null").post("/api/sentiment")
                .then().statusCode(400).body("code", equalTo("bad_json"));
        given().contentType(ContentType.JSON).body("{\"text\":\"" + "好".repeat(2001) + "\"}").post("/api/sentiment")
                .then().statusCode(413).body("code", equalTo("text_too_long")).body("field", equalTo("text"));
    }

    @Test
    void everyBodyIsCheckedBeforeUse() {
        for (String id : new String[] {"", "  ", "x".repeat(129)}) {
            given().contentType(ContentType.JSON).body(Map.of("text", "你好", "conversationId", id)).post("/api/chat")
                    .then().statusCode(400).body("code", equalTo("bad_type")).body("field", equalTo("conversationId"))
                    .body("detail", equalTo("Field 'conversationId' must be a non-empty string of at most 128 characters"));
        }
        // Only ASCII white space makes an id blank here (as the declared rule did); the conversation store refuses the rest.
        given().contentType(ContentType.JSON).body(Map.of("text", "你好", "conversationId", "\u3000")).post("/api/chat")
                .then().statusCode(400).body("code", equalTo("bad_conversation_id"));
        given().contentType(ContentType.JSON).body(Map.of("conversationId", "c")).post("/api/chat")
                .then().statusCode(400).body("code", equalTo("missing_text")).body("field", equalTo("text"));
        given().contentType(ContentType.JSON).body("{}").post("/api/tasks/sentiment")
                .then().statusCode(400).body("code", equalTo("missing_text"));
        given().contentType(ContentType.JSON).body("{}").post("/api/tokenize")
                .then().statusCode(400).body("code", equalTo("missing_text"));
        given().contentType(ContentType.JSON).body("{}").post("/api/detokenize")
                .then().statusCode(400).body("code", equalTo("missing_ids")).body("field", equalTo("ids"))
                .body("detail", equalTo("Field 'ids' must be an array of token ids"));
        given().contentType(ContentType.JSON).body("null").post("/api/detokenize")
                .then().statusCode(400).body("code", equalTo("bad_json"));
        given().contentType(ContentType.JSON).body(Map.of("text", "你好", "conversationId", "x".repeat(128))).post("/api/chat")
                .then().statusCode(200);
    }

    @Test
    void chatReturnsTheReplyAndTheSentiment() {
        given().contentType(ContentType.JSON).body("{\"text\":\"刚拿到offer，超级开心！\"}")
                .post("/api/chat")
                .then().statusCode(200)
                .body("reply", equalTo(TestCheckpoints.SCRIPTED_REPLY))
                .body("sentiment.label", equalTo("POSITIVE"))
                .body("conversationId", notNullValue())
                .body("tokens", greaterThan(0));
    }

    /**
     * A conversation id keeps the turns: the memory holds both exchanges, and the second turn's prompt starts with
     * the first one's prompt and reply, whose keys and values the prefix cache gives back (more than the whole first
     * prompt) instead of recomputing them.
     */
    @Test
    void chatKeepsAConversationById() {
        String id = given().contentType(ContentType.JSON).body("{\"text\":\"你好\",\"conversationId\":\"rest-conv-1\"}")
                .post("/api/chat").then().statusCode(200).header("X-Conversation-Turns", "0").extract().path("conversationId");
        assertEquals("rest-conv-1", id);
        KvStats before = runtime.engine().kvStats();
        given().contentType(ContentType.JSON).body("{\"text\":\"还在吗\",\"conversationId\":\"rest-conv-1\"}")
                .post("/api/chat").then().statusCode(200).body("conversationId", equalTo("rest-conv-1"))
                .header("X-Conversation-Id", "rest-conv-1").header("X-Conversation-Turns", "1");
        KvStats after = runtime.engine().kvStats();

        List<ChatMessage> memory = conversations.getMessages("rest-conv-1");
        assertEquals(List.of(ChatMessageType.SYSTEM, ChatMessageType.USER, ChatMessageType.AI, ChatMessageType.USER, ChatMessageType.AI),
                memory.stream().map(ChatMessage::type).toList(), memory.toString());
        assertEquals("你好", ((UserMessage) memory.get(1)).singleText());
        assertEquals(TestCheckpoints.SCRIPTED_REPLY, ((AiMessage) memory.get(2)).text());
        assertEquals("还在吗", ((UserMessage) memory.get(3)).singleText());

        int firstPrompt = runtime.engine().model().template().encode(
                List.of(new ChatTemplate.Message("system", ((SystemMessage) memory.get(0)).text()), new ChatTemplate.Message("user", "你好")),
                true, runtime.engine().model().tokenizer()).length;
        assertTrue(after.hits() > before.hits(), after + " vs " + before);
        assertTrue(after.reusedTokens() - before.reusedTokens() > firstPrompt,
                "the second turn reused " + (after.reusedTokens() - before.reusedTokens()) + " tokens, the first turn's prompt had " + firstPrompt);

        for (String badId : new String[] {"7", "\"  \"", "\"" + "c".repeat(129) + "\""}) {
            given().contentType(ContentType.JSON).body("{\"text\":\"x\",\"conversationId\":" + badId + "}")
                    .post("/api/chat").then().statusCode(400).body("code", equalTo("bad_type")).body("field", equalTo("conversationId"));
        }
    }

    @Test
    void chatAsServerSentEventsHasTheWebSocketFramesInOrder() {
        String body = given().contentType(ContentType.JSON).accept("text/event-stream").body("{\"text\":\"今天好开心\"}")
                .post("/api/chat").then().statusCode(200).extract().asString();
        List<String> types = body.lines().filter(l -> l.startsWith("event:")).map(l -> l.substring(6).trim()).toList();
        assertEquals("sentiment", types.getFirst(), body);
        assertEquals("done", types.getLast(), body);
        assertTrue(types.subList(1, types.size() - 1).stream().allMatch("token"::equals), body);
        assertTrue(types.size() > 3, body);
        assertTrue(body.contains("\"type\":\"sentiment\""), body);
    }

    @Test
    void tokenizeAndDetokenize() {
        given().contentType(ContentType.JSON).body("{\"text\":\"刚拿到offer，超级开心！\"}").post("/api/tokenize")
                .then().statusCode(200).body("ids", contains(99900, 104981, 25077, 3837, 104453, 102313, 6313));
        given().contentType(ContentType.JSON).body("{\"text\":\"<|im_start|>\",\"special\":true}").post("/api/tokenize")
                .then().statusCode(200).body("ids", contains(151644));
        given().contentType(ContentType.JSON).body("{\"text\":\"<|im_start|>\"}").post("/api/tokenize")
                .then().statusCode(200).body("ids.size()", greaterThan(1));
        given().contentType(ContentType.JSON).body("{\"ids\":[99900,104981,25077]}").post("/api/detokenize")
                .then().statusCode(200).body("text", equalTo("刚拿到offer"));
    }

    @Test
    void tokenizerEndpointsRejectBadInput() {
        given().contentType(ContentType.JSON).body("{\"ids\":[1,-5]}").post("/api/detokenize")
                .then().statusCode(400).body("code", equalTo("bad_id")).body("field", equalTo("ids"))
                .body("detail", containsString("ids[1]"));
        given().contentType(ContentType.JSON).body("{\"ids\":\"12\"}").post("/api/detokenize")
                .then().statusCode(400).body("field", equalTo("ids"));
        given().contentType(ContentType.JSON).body("{\"ids\":[1.5]}").post("/api/detokenize")
                .then().statusCode(400).body("code", equalTo("bad_type")).body("field", equalTo("ids"));
        given().contentType(ContentType.JSON).body("{\"text\":\"a\",\"special\":\"yes\"}").post("/api/tokenize")
                .then().statusCode(400).body("field", equalTo("special"));
    }

    @Test
    void readinessReportsTheModel() {
        given().get("/q/health/ready").then().statusCode(200)
                .body("checks.find { it.name == 'model' }.data.weights", equalTo("Q4"))
                .body("checks.find { it.name == 'model' }.data.path", containsString("tiny-scripted"))
                .body("checks.find { it.name == 'model' }.data.loadMillis", greaterThan(0))
                .body("checks.find { it.name == 'model' }.data.maxQueued", equalTo(64))
                .body("checks.find { it.name == 'model' }.data.maxInputChars", equalTo(2000))
                .body("checks.find { it.name == 'model' }.data.maxActiveRepliesPerClient", equalTo(4))
                .body("checks.find { it.name == 'model' }.data.kvCacheBudgetBytes", equalTo(192 << 20))
                .body("checks.find { it.name == 'model' }.data.kvCacheBytesInUse", greaterThan(0))
                // Both task prompts pinned before ready; the warm-up requests after it (ReadyService waited for them) started from them.
                .body("checks.find { it.name == 'model' }.data.cachedPrefixes", greaterThanOrEqualTo(2))
                .body("checks.find { it.name == 'model' }.data.prefixCacheHits", greaterThanOrEqualTo(2))
                .body("checks.find { it.name == 'model' }.data.warm", equalTo(true))
                .body("checks.find { it.name == 'model' }.data.pinMillis", greaterThan(0))
                .body("checks.find { it.name == 'model' }.data.warmUpMillis", greaterThan(0));
        given().get("/q/health/started").then().statusCode(200);
        given().get("/q/health/live").then().statusCode(200);
    }
}
