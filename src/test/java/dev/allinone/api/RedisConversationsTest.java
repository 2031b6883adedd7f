package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.LocalServer;
import dev.allinone.ReadyService;
import dev.allinone.ai.memory.RedisConversationStore;
import dev.allinone.engine.TestCheckpoints;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessageDeserializer;
import dev.langchain4j.data.message.ChatMessageSerializer;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.redis.client.Redis;
import io.vertx.mutiny.redis.client.RedisAPI;
import io.vertx.mutiny.redis.client.Response;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.ValidatableResponse;
import jakarta.inject.Inject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code allinone.memory.store=redis} against a real {@code redis-server}: conversations are written there whole with
 * a time-to-live and any replica continues them; with Redis stopped the service keeps serving (readiness UP, the
 * {@code conversations} check and {@code allinone_memory_store_up} say so, each conversation continues on this
 * replica from its own copy), and once Redis is back the next turn writes the conversation back.
 */
@QuarkusTest
@TestProfile(RedisConversationsTest.WithRedis.class)
class RedisConversationsTest {

    /** A profile of its own, so that this application (and only it) runs with Redis. */
    public static class WithRedis implements QuarkusTestProfile {
        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(RedisServer.class));
        }
    }

    /** The model, and a Redis of its own for this class. */
    public static class RedisServer implements QuarkusTestResourceLifecycleManager {
        static final int PORT = LocalServer.freePort();
        static final LocalServer SERVER = LocalServer.redis(PORT, Path.of("target", "redis-conversations-test.log"));

        @Override
        public Map<String, String> start() {
            try {
                SERVER.start(PORT);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return Map.of("allinone.model.path", TestCheckpoints.tinyScripted().toString(), "allinone.memory.store", "redis",
                    "allinone.memory.ttl", "1h", "quarkus.redis.hosts", "redis://127.0.0.1:" + PORT);
        }

        @Override
        public void stop() {
            try {
                SERVER.stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Inject
    Vertx vertx;

    /** A client of the test's own (Vert.x' Redis client), to see what the service wrote. */
    private RedisAPI redis;

    @BeforeEach
    void ready() {
        ReadyService.await();
        redis = RedisAPI.api(Redis.createClient(vertx, "redis://127.0.0.1:" + RedisServer.PORT));
    }

    private void set(String id, String value) {
        redis.setAndAwait(List.of(RedisConversationStore.KEY_PREFIX + id, value));
    }

    private static ValidatableResponse turn(String id, String text) {
        return given().contentType(ContentType.JSON).header("X-Conversation-Id", id).body("{\"text\":\"" + text + "\"}")
                .post("/api/chat").then();
    }

    private String stored(String id) {
        Response value = redis.getAndAwait(RedisConversationStore.KEY_PREFIX + id);
        return value == null ? null : value.toString();
    }

    @Test
    void conversationsAreWrittenToRedisWithATimeToLiveAndContinuedFromIt() {
        String id = "redis-" + UUID.randomUUID();
        turn(id, "你好").statusCode(200).header("X-Conversation-Turns", "0");
        turn(id, "还在吗").statusCode(200).header("X-Conversation-Turns", "1");
        var messages = ChatMessageDeserializer.messagesFromJson(stored(id));
        assertEquals(5, messages.size(), stored(id));
        assertEquals("还在吗", ((UserMessage) messages.get(3)).singleText());
        assertEquals(TestCheckpoints.SCRIPTED_REPLY, ((AiMessage) messages.get(4)).text());
        long ttl = redis.ttlAndAwait(RedisConversationStore.KEY_PREFIX + id).toLong();
        assertTrue(ttl > 3500 && ttl <= 3600, "time-to-live " + ttl + " s, set to 1h");

        // What another replica wrote is what this one continues.
        String other = "written-elsewhere-" + UUID.randomUUID();
        set(other, ChatMessageSerializer.messagesToJson(List.of(
                SystemMessage.from("sys"), UserMessage.from("一"), AiMessage.from("答一"), UserMessage.from("二"), AiMessage.from("答二"))));
        turn(other, "三").statusCode(200).header("X-Conversation-Turns", "2");
        var continued = ChatMessageDeserializer.messagesFromJson(stored(other));
        assertEquals("三", ((UserMessage) continued.get(continued.size() - 2)).singleText());
        assertEquals(7, continued.size(), continued.toString());
    }

    @Test
    void withRedisDownTheReplicaServesFromItsOwnCopyAndWritesBackOnceRedisIsUp() throws Exception {
        String id = "outage-" + UUID.randomUUID();
        turn(id, "第一句").statusCode(200).header("X-Conversation-Turns", "0");
        given().get("/q/health/ready").then().statusCode(200).body("checks.find { it.name == 'conversations' }.data.state", equalTo("up"));

        RedisServer.SERVER.stop();
        try {
            turn(id, "第二句").statusCode(200).header("X-Conversation-Turns", "1");
            turn(id, "第三句").statusCode(200).header("X-Conversation-Turns", "2");
            given().contentType(ContentType.JSON).body("{\"text\":\"开心\"}").post("/api/sentiment").then().statusCode(200);
            given().get("/q/health/ready").then().statusCode(200)
                    .body("checks.find { it.name == 'conversations' }.data.state", containsString("unreachable"));
            given().get("/q/metrics").then().statusCode(200).body(containsString("allinone_memory_store_up 0.0"));
        } finally {
            RedisServer.SERVER.start(RedisServer.PORT); // empty: nothing was saved
        }
        Thread.sleep(2_100); // Redis is left alone for 2 s after a failure
        turn(id, "第四句").statusCode(200).header("X-Conversation-Turns", "3");
        String back = stored(id);
        assertNotNull(back, "the turn after the outage wrote the conversation back to Redis");
        assertEquals(9, ChatMessageDeserializer.messagesFromJson(back).size(), back);
        given().get("/q/health/ready").then().statusCode(200).body("checks.find { it.name == 'conversations' }.data.state", equalTo("up"));
        given().get("/q/metrics").then().body(containsString("allinone_memory_store_up 1.0"));
    }

    @Test
    void anUnreadableValueInRedisGivesWayToThisReplicasCopy() {
        String id = "garbled-" + UUID.randomUUID();
        turn(id, "第一句").statusCode(200);
        set(id, "{not json");
        turn(id, "第二句").statusCode(200).header("X-Conversation-Turns", "1");
        assertEquals(5, ChatMessageDeserializer.messagesFromJson(stored(id)).size(), "the turn wrote the conversation back whole");
    }
}
