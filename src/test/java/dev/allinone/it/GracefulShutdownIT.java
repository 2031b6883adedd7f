package dev.allinone.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.tools.JsonFrameListener;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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

    @Test
    void sigtermDrainsThenEndsRepliesWithAFinalFrame() throws Exception {
        int port = ServiceProbe.freePort();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of("@native/jvm.options", "-XX:AOTCache=target/quarkus-app/app.aot",
                "-Dquarkus.http.port=" + port, "-Dallinone.model.path=" + TestCheckpoints.tinyLooping(),
                "-Dallinone.generation.max-new-tokens=100000", "-Dallinone.model.context-length=32768",
                "-Dallinone.engine.drain-timeout=1s", "-Dquarkus.shutdown.delay=3s",
                "-jar", "target/quarkus-app/quarkus-run.jar"));
        Process service = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(Path.of("target", "graceful-shutdown-it.log").toFile()).start();
        ServiceProbe probe = new ServiceProbe(port);
        try {
            probe.awaitStatus("/q/health/ready", 200, 60, service::isAlive);
            BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
            WebSocket ws = probe.http.newWebSocketBuilder()
                    .buildAsync(probe.webSocket("/chat"), new JsonFrameListener(frames))
                    .get(10, TimeUnit.SECONDS);
            ws.sendText("讲一个很长的故事", true).get(10, TimeUnit.SECONDS);
            assertEquals("sentiment", ServiceProbe.next(frames, 30, "the sentiment frame").path("type").asText());
            assertEquals("token", ServiceProbe.next(frames, 30, "the first token").path("type").asText());

            long signalled = System.nanoTime();
            service.destroy(); // SIGTERM
            probe.awaitStatus("/q/health/ready", 503, 2, service::isAlive);
            HttpResponse<String> refused = probe.postJson("/api/sentiment", "{\"text\":\"你好\"}");
            assertEquals(503, refused.statusCode(), refused.body());
            assertTrue(refused.body().contains("shutting_down"), refused.body());

            JsonNode last;
            int tokensAfterSignal = 0;
            while ((last = ServiceProbe.next(frames, 10, "the reply's tokens, then its final frame")).path("type").asText().equals("token")) {
                tokensAfterSignal++;
            }
            assertTrue(tokensAfterSignal > 0, "the reply kept streaming after SIGTERM");
            assertEquals("shutting_down", last.path("code").asText(), last.toString());
            assertTrue(service.waitFor(20, TimeUnit.SECONDS), "the process exits");
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - signalled);
            assertTrue(seconds <= 10, "exited " + seconds + " s after SIGTERM");
            // The packaged service's entry point began the load before Quarkus, and the service took that model.
            String log = Files.readString(Path.of("target", "graceful-shutdown-it.log"));
            assertTrue(log.contains("(begun before Quarkus, while it started)"), log);
        } finally {
            service.destroyForcibly();
        }
    }
}
