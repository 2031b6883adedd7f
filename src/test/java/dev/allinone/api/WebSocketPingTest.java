package dev.allinone.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An idle {@code /chat} connection is pinged every {@code allinone.chat.ping-interval} (here 1 s), so that a proxy's
 * idle timeout does not close it while the user pauses; the client's automatic pong keeps it open and usable.
 */
@QuarkusTest
@TestProfile(WebSocketPingTest.FastPings.class)
class WebSocketPingTest {

    public static class FastPings implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyScripted().toString(), "allinone.chat.ping-interval", "1s");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @Test
    void anIdleConnectionIsPingedAndStaysUsable() throws Exception {
        ReadyService.await();
        List<Long> pings = new CopyOnWriteArrayList<>();
        List<String> texts = new CopyOnWriteArrayList<>();
        WebSocket socket = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(URI.create(chat.toString().replaceFirst("^http", "ws")), new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
                        pings.add(System.nanoTime());
                        return WebSocket.Listener.super.onPing(webSocket, message); // answers with a pong
                    }

                    @Override
                    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                        texts.add(data.toString());
                        return WebSocket.Listener.super.onText(webSocket, data, last);
                    }
                }).get(10, TimeUnit.SECONDS);
        try {
            // Two pings come 2 s into the silence; a busy machine may delay them, so wait up to 30 s, but no message is sent.
            long pinged = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (pings.size() < 2 && System.nanoTime() < pinged) {
                Thread.sleep(50);
            }
            assertTrue(pings.size() >= 2, "pings in up to 30 s of silence at a 1 s interval: " + pings.size());
            socket.sendText("刚拿到offer，超级开心！", true).get(10, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (texts.stream().noneMatch(t -> t.contains("\"done\"")) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(texts.stream().anyMatch(t -> t.contains("\"done\"")), "the pinged connection still answers: " + texts);
            assertEquals(false, socket.isInputClosed());
        } finally {
            socket.abort();
        }
    }
}
