package dev.allinone.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.LocalServer;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.tools.JsonFrameListener;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two replicas of the packaged service (tiny checkpoint, {@code allinone.memory.store=redis}) behind HAProxy with the
 * shipped configuration ({@code src/main/haproxy/haproxy.cfg}), and a real {@code redis-server}, all on loopback
 * (issue 24): a conversation's turns all reach one replica ({@code X-Served-By}); when that replica is killed the
 * next turn lands on the other and still has the earlier turns ({@code X-Conversation-Turns}); a WebSocket resumed
 * with {@code ?conversation=} after a reconnect continues; with Redis stopped, the replicas go on as the docs say.
 */
class ScaleOutIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, Process> REPLICAS = new LinkedHashMap<>();
    private static final Map<String, Integer> REPLICA_PORTS = new LinkedHashMap<>();
    private static int redisPort;
    private static LocalServer redis;
    private static LocalServer haproxy;
    private static ServiceProbe proxy;
    private static int proxyPort;

    @BeforeAll
    static void start() throws Exception {
        redisPort = LocalServer.freePort();
        redis = LocalServer.redis(redisPort, Path.of("target", "scale-out-it-redis.log")).start(redisPort);
        for (String name : List.of("a", "b")) {
            int port = ServiceProbe.freePort();
            REPLICA_PORTS.put(name, port);
            REPLICAS.put(name, startReplica(name, port));
        }
        for (var replica : REPLICA_PORTS.entrySet()) {
            new ServiceProbe(replica.getValue()).awaitStatus("/q/health/ready", 200, 90, REPLICAS.get(replica.getKey())::isAlive);
        }
        proxyPort = ServiceProbe.freePort();
        ProcessBuilder haproxyCommand = new ProcessBuilder(LocalServer.program("haproxy", "haproxy"), "-db", "-f",
                Path.of("src", "main", "haproxy", "haproxy.cfg").toString());
        haproxyCommand.environment().putAll(Map.of("ALLINONE_PROXY_BIND", "127.0.0.1:" + proxyPort,
                "ALLINONE_REPLICA_A", "127.0.0.1:" + REPLICA_PORTS.get("a"), "ALLINONE_REPLICA_B", "127.0.0.1:" + REPLICA_PORTS.get("b")));
        haproxy = new LocalServer(haproxyCommand, Path.of("target", "scale-out-it-haproxy.log")).start(proxyPort);
        proxy = new ServiceProbe(proxyPort);
        awaitBothReplicasInTheProxy();
    }

    /** HAProxy sends traffic to a replica once its first health check passed: until both answer, round-robin. */
    private static void awaitBothReplicasInTheProxy() throws Exception {
        Set<String> seen = new HashSet<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (seen.size() < 2 && System.nanoTime() < deadline) {
            try {
                proxy.http.send(HttpRequest.newBuilder(proxy.uri("/q/health/ready")).build(), HttpResponse.BodyHandlers.discarding())
                        .headers().firstValue("X-Served-By").ifPresent(seen::add);
            } catch (java.io.IOException notYet) {
                // the proxy is still starting
            }
            Thread.sleep(100);
        }
        assertEquals(Set.of("a", "b"), seen, "both replicas are in the proxy");
    }

    private static Process startReplica(String name, int port) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of("@native/jvm.options", "-XX:AOTCache=target/quarkus-app/app.aot",
                "-Dquarkus.http.port=" + port, "-Dallinone.model.path=" + TestCheckpoints.tinyScripted(),
                "-Dallinone.instance=" + name, "-Dallinone.memory.store=redis", "-Dquarkus.redis.hosts=redis://127.0.0.1:" + redisPort,
                "-jar", "target/quarkus-app/quarkus-run.jar"));
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(Path.of("target", "scale-out-it-replica-" + name + ".log").toFile()).start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (haproxy != null) {
            haproxy.stop();
        }
        REPLICAS.values().forEach(Process::destroyForcibly);
        if (redis != null) {
            redis.stop();
        }
    }

    /** One REST chat turn through the proxy: status, the replica that answered and the earlier turns it found. */
    private record Turn(int status, String servedBy, int earlierTurns, String body) {
    }

    private static Turn turn(String conversation, String text) throws Exception {
        HttpResponse<String> r = proxy.http.send(HttpRequest.newBuilder(proxy.uri("/api/chat"))
                .header("Content-Type", "application/json").header("X-Conversation-Id", conversation)
                .POST(HttpRequest.BodyPublishers.ofString("{\"text\":\"" + text + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
        return new Turn(r.statusCode(), r.headers().firstValue("X-Served-By").orElse(""),
                Integer.parseInt(r.headers().firstValue("X-Conversation-Turns").orElse("-1")), r.body());
    }

    @Test
    void conversationsFollowTheirReplicaSurviveItsDeathAndResumeOverWebSockets() throws Exception {
        // Consistent hashing on the key spreads conversations over both replicas, each one always on the same.
        Set<String> used = new HashSet<>();
        for (int i = 0; i < 8; i++) {
            used.add(turn("spread-" + i, "你好").servedBy());
        }
        assertEquals(Set.of("a", "b"), used, "conversations spread over both replicas");

        String id = "follow-me";
        Turn first = turn(id, "第一句");
        assertEquals(200, first.status(), first.body());
        for (int i = 1; i < 3; i++) {
            Turn next = turn(id, "第" + (i + 1) + "句");
            assertEquals(200, next.status(), next.body());
            assertEquals(first.servedBy(), next.servedBy(), "every turn of a conversation reaches one replica");
            assertEquals(i, next.earlierTurns());
        }

        // That replica dies; the conversation moves to the other one, which reads it from Redis.
        Process holder = REPLICAS.get(first.servedBy());
        holder.destroyForcibly();
        assertTrue(holder.waitFor(10, TimeUnit.SECONDS));
        Turn moved = turn(id, "第四句");
        assertEquals(200, moved.status(), moved.body());
        assertNotEquals(first.servedBy(), moved.servedBy());
        assertEquals(3, moved.earlierTurns(), "the other replica knows the three earlier turns");
        String survivor = moved.servedBy();

        // A WebSocket resumed with ?conversation= after a reconnect continues the conversation.
        String ws = "socket-" + System.nanoTime();
        assertEquals(List.of(0, 1), List.of(webSocketTurn(ws, "你好"), webSocketTurn(ws, "我又回来了")));
        assertEquals(2, turn(ws, "REST 也接得上").earlierTurns());

        // Redis stops: the replica keeps serving and keeps its conversations (docs/deployment.md).
        redis.stop();
        Turn withoutRedis = turn(id, "Redis 停了");
        assertEquals(200, withoutRedis.status(), withoutRedis.body());
        assertEquals(survivor, withoutRedis.servedBy());
        assertEquals(4, withoutRedis.earlierTurns(), "the replica's own copy of the conversation");
        HttpResponse<String> ready = proxy.http.send(HttpRequest.newBuilder(proxy.uri("/q/health/ready")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ready.statusCode(), ready.body());
        JsonNode conversations = null;
        for (JsonNode check : JSON.readTree(ready.body()).path("checks")) {
            if (check.path("name").asText().equals("conversations")) {
                conversations = check;
            }
        }
        assertTrue(conversations != null && conversations.path("data").path("state").asText().startsWith("unreachable"), ready.body());
    }

    /** Opens /chat?conversation=…, reads its conversation frame, runs one turn, closes; returns the earlier turns. */
    private static int webSocketTurn(String conversation, String text) throws Exception {
        BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
        WebSocket socket = proxy.http.newWebSocketBuilder()
                .buildAsync(URI.create("ws://127.0.0.1:" + proxyPort + "/chat?conversation=" + conversation), new JsonFrameListener(frames))
                .get(10, TimeUnit.SECONDS);
        try {
            JsonNode hello = ServiceProbe.next(frames, 10, "the conversation frame");
            assertEquals("conversation", hello.path("type").asText(), hello.toString());
            assertEquals(conversation, hello.path("id").asText());
            socket.sendText(text, true).get(10, TimeUnit.SECONDS);
            JsonNode frame;
            while (!(frame = ServiceProbe.next(frames, 30, "the turn's frames")).path("type").asText().equals("done")) {
                assertNotEquals("error", frame.path("type").asText(), frame.toString());
            }
            return hello.path("turns").asInt();
        } finally {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);
        }
    }
}
