package dev.allinone.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.tools.JsonFrameListener;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The container image (built by {@code -Pcontainer}) started with podman the way the README says: a generated
 * checkpoint mounted read-only at /models, port 8080 published on loopback. The JVM is told to refuse to start
 * unless it can map the image's AOT cache ({@code -XX:AOTMode=on}), so a passing test shows the cache is used.
 */
@EnabledIfSystemProperty(named = "allinone.it.image", matches = ".+")
class ContainerImageIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final String image = System.getProperty("allinone.it.image");
    private final String name = "allinone-it-" + UUID.randomUUID().toString().substring(0, 8);
    private final Path log = Path.of("target", "container-image-it.log");

    @Test
    void servesAMountedModelAsAnUnprivilegedUserWithTheAotCache() throws Exception {
        int port = ServiceProbe.freePort();
        Path model = TestCheckpoints.tinyScripted().toAbsolutePath();
        podman("run", "--detach", "--name", name, "--publish", "127.0.0.1:" + port + ":8080",
                "--volume", model + ":/models:ro", "--env", "JDK_JAVA_OPTIONS=-XX:AOTMode=on", image);
        ServiceProbe probe = new ServiceProbe(port);
        try {
            probe.awaitStatus("/q/health/ready", 200, 90, this::running);

            HttpResponse<String> sentiment = probe.postJson("/api/sentiment", "{\"text\":\"刚拿到offer，超级开心！\"}");
            assertEquals(200, sentiment.statusCode(), sentiment.body());
            // The scripted checkpoint answers this text POSITIVE with certainty and then writes its one reply.
            assertEquals("POSITIVE", JSON.readTree(sentiment.body()).path("label").asText(), sentiment.body());

            BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
            WebSocket ws = probe.http.newWebSocketBuilder().buildAsync(probe.webSocket("/chat"), new JsonFrameListener(frames))
                    .get(10, TimeUnit.SECONDS);
            ws.sendText("{\"text\":\"刚拿到offer，超级开心！\"}", true).get(10, TimeUnit.SECONDS);
            assertEquals("sentiment", next(frames).path("type").asText());
            StringBuilder reply = new StringBuilder();
            JsonNode frame;
            while ((frame = next(frames)).path("type").asText().equals("token")) {
                reply.append(frame.path("text").asText());
            }
            assertEquals("done", frame.path("type").asText(), frame.toString());
            assertEquals(TestCheckpoints.SCRIPTED_REPLY, reply.toString());
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(10, TimeUnit.SECONDS);

            String user = podman("top", name, "huser", "user");
            assertTrue(user.contains("185"), user);
            assertFalse(user.contains("root"), user);
            assertTrue(podman("logs", name).contains("-XX:AOTCache=app.aot"), "the image starts the JVM with its AOT cache");

            // SIGTERM, then SIGKILL after the grace period the Kubernetes manifest gives (20 s): the shutdown delay
            // (10 s) must end the process before that.
            podman("stop", "--time", "20", name);
            String exitCode = podman("inspect", "--format", "{{.State.ExitCode}}", name).trim();
            assertNotEquals("137", exitCode, "the service was killed instead of stopping on SIGTERM");
        } finally {
            Files.writeString(log, run(List.of("podman", "logs", name)));
            run(List.of("podman", "rm", "--force", name));
        }
    }

    private boolean running() {
        ProcessResult state = exec(List.of("podman", "inspect", "--format", "{{.State.Running}}", name));
        return state.exit() == 0 && state.output().trim().equals("true");
    }

    private static JsonNode next(BlockingQueue<JsonNode> frames) throws InterruptedException {
        JsonNode frame = frames.poll(30, TimeUnit.SECONDS);
        if (frame == null) {
            throw new AssertionError("no frame within 30 s");
        }
        return frame;
    }

    /** Runs podman and returns its output; fails the test if it exits non-zero. */
    private static String podman(String... args) {
        List<String> command = new ArrayList<>(List.of("podman"));
        command.addAll(List.of(args));
        ProcessResult result = exec(command);
        if (result.exit() != 0) {
            throw new AssertionError(String.join(" ", command) + " exited " + result.exit() + ": " + result.output());
        }
        return result.output();
    }

    /** Runs a command for its output or its failure message; never throws. */
    private static String run(List<String> command) {
        ProcessResult result = exec(command);
        return result.exit() == 0 ? result.output() : "exit " + result.exit() + ": " + result.output();
    }

    private record ProcessResult(int exit, String output) {
    }

    private static ProcessResult exec(List<String> command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return new ProcessResult(process.waitFor(), output);
        } catch (IOException e) {
            return new ProcessResult(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new ProcessResult(-1, e.toString());
        }
    }
}
