package dev.allinone.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.tools.JsonFrameListener;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM to the packaged service (built by `package`, started with the production JVM flags and AOT cache):
 * readiness goes DOWN, new work is refused with shutting_down, the reply in progress keeps streaming and then gets
 * a final shutting_down error frame, and the process exits after the shutdown delay.
 */
class GracefulShutdownIT {

    private static final int PORT = 18283;

    @Test
    void sigtermDrainsThenEndsRepliesWithAFinalFrame() throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(Arrays.asList(System.getProperty("jlama.jvm.flags", "--add-modules jdk.incubator.vector").split(" ")));
        command.addAll(List.of("-XX:AOTCache=target/quarkus-app/app.aot", "-Xmx384m",
                "-Dquarkus.http.port=" + PORT, "-Dallinone.model.path=" + TestCheckpoints.tinyLooping(),
                "-Dallinone.generation.max-new-tokens=100000", "-Dallinone.model.context-length=32768",
                "-Dallinone.engine.drain-timeout=1s", "-Dquarkus.shutdown.delay=3s",
                "-jar", "target/quarkus-app/quarkus-run.jar"));
        Process service = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(Path.of("target", "graceful-shutdown-it.log").toFile()).start();
        HttpClient http = HttpClient.newHttpClient();
        try {
            awaitStatus(http, "/q/health/ready", 200, 60);
            BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
            WebSocket ws = http.newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + PORT + "/chat"), new JsonFrameListener(frames))
                    .get(10, TimeUnit.SECONDS);
            ws.sendText("讲一个很长的故事", true).get(10, TimeUnit.SECONDS);
            assertEquals("sentiment", frames.poll(30, TimeUnit.SECONDS).path("type").asText());
            assertEquals("token", frames.poll(30, TimeUnit.SECONDS).path("type").asText());

            long signalled = System.nanoTime();
            service.destroy(); // SIGTERM
            awaitStatus(http, "/q/health/ready", 503, 2);
            HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + PORT + "/api/sentiment"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"text\":\"你好\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("shutting_down"), refused.body());

            JsonNode last = null;
            int tokensAfterSignal = 0;
            while (true) {
                JsonNode frame = frames.poll(10, TimeUnit.SECONDS);
                if (frame == null || !frame.path("type").asText().equals("token")) {
                    last = frame;
                    break;
                }
                tokensAfterSignal++;
            }
            assertTrue(tokensAfterSignal > 0, "the reply kept streaming after SIGTERM");
            assertEquals("shutting_down", last == null ? null : last.path("code").asText(), String.valueOf(last));
            assertTrue(service.waitFor(20, TimeUnit.SECONDS), "the process exits");
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - signalled);
            assertTrue(seconds <= 10, "exited " + seconds + " s after SIGTERM");
        } finally {
            service.destroyForcibly();
        }
    }

    private static void awaitStatus(HttpClient http, String path, int status, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int last = -1;
        while (System.nanoTime() < deadline) {
            try {
                last = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + PORT + path)).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
                if (last == status) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                last = -1;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(path + " did not answer " + status + " within " + seconds + " s (last: " + last + ")");
    }
}
