package dev.allinone.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.tools.JsonFrameListener;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A newcomer's first start: the packaged service, an empty model directory, and a stand-in hub on loopback (as
 * {@code HF_ENDPOINT}) serving the scripted checkpoint slowly enough to watch. Readiness reports the download's
 * progress, then the model loads and a chat turn gets the scripted label and reply.
 */
class FirstStartDownloadIT {

    private static final String REPO = "Org/Tiny";
    /** Bytes per chunk and pause between chunks: the ≈ 78 MB checkpoint takes a few seconds. */
    private static final int CHUNK = 1 << 20;
    private static final long PAUSE_MILLIS = 40;

    @Test
    void anEmptyModelDirectoryIsFilledFromTheHubAndTheServiceChats() throws Exception {
        Path source = TestCheckpoints.tinyScripted();
        HttpServer hub = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hub.createContext("/" + REPO + "/resolve/main/", ex -> serve(ex, source));
        hub.start();
        Path models = Files.createTempDirectory(Path.of("target"), "first-start-");
        Path modelDir = models.resolve("Tiny");
        int port = ServiceProbe.freePort();
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of("@native/jvm.options", "-Dquarkus.http.port=" + port, "-Dallinone.model.path=" + modelDir,
                "-Dallinone.model.repo=" + REPO, "-jar", "target/quarkus-app/quarkus-run.jar"));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(Path.of("target", "first-start-download-it.log").toFile());
        builder.environment().put("HF_ENDPOINT", "http://127.0.0.1:" + hub.getAddress().getPort());
        builder.environment().remove("HF_TOKEN");
        Process service = builder.start();
        ServiceProbe probe = new ServiceProbe(port);
        try {
            Set<String> states = new HashSet<>();
            int lastPercent = -1;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline && service.isAlive()) {
                JsonNode model = readiness(probe);
                if (model != null) {
                    String state = model.at("/data/state").asText();
                    states.add(state);
                    if (state.equals("DOWNLOADING")) {
                        int percent = model.at("/data/downloadPercent").asInt();
                        assertTrue(percent >= lastPercent, "progress only grows: " + model);
                        lastPercent = percent;
                        assertTrue(model.at("/data/reason").asText().startsWith("Downloading the model: "), model.toString());
                    }
                    if (model.path("status").asText().equals("UP") || state.equals("FAILED")) {
                        break;
                    }
                }
                Thread.sleep(200);
            }
            assertTrue(states.contains("DOWNLOADING"), "readiness showed the download: " + states);
            assertTrue(lastPercent >= 0, "a percentage was reported");
            probe.awaitStatus("/q/health/ready", 200, 5, service::isAlive);
            for (String file : List.of("config.json", "tokenizer.json", "model.safetensors")) {
                assertArrayEquals(Files.readAllBytes(source.resolve(file)), Files.readAllBytes(modelDir.resolve(file)), file);
            }

            BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
            WebSocket ws = probe.http.newWebSocketBuilder().buildAsync(probe.webSocket("/chat"), new JsonFrameListener(frames))
                    .get(10, TimeUnit.SECONDS);
            ws.sendText("刚拿到offer，超级开心！", true).get(10, TimeUnit.SECONDS);
            JsonNode sentiment = ServiceProbe.next(frames, 30, "the sentiment frame");
            assertEquals("POSITIVE", sentiment.path("label").asText(), sentiment.toString());
            StringBuilder reply = new StringBuilder();
            JsonNode frame;
            while ((frame = ServiceProbe.next(frames, 30, "the reply")).path("type").asText().equals("token")) {
                reply.append(frame.path("text").asText());
            }
            assertEquals("done", frame.path("type").asText(), frame.toString());
            assertEquals(TestCheckpoints.SCRIPTED_REPLY, reply.toString());
            String log = Files.readString(Path.of("target", "first-start-download-it.log"));
            assertTrue(log.contains("is missing: downloading") && log.contains("Model downloaded into"), log);
        } finally {
            service.destroyForcibly();
            hub.stop(0);
        }
    }

    private static JsonNode readiness(ServiceProbe probe) throws InterruptedException {
        try {
            HttpResponse<String> r = probe.http.send(HttpRequest.newBuilder(probe.uri("/q/health/ready")).build(),
                    HttpResponse.BodyHandlers.ofString());
            for (JsonNode check : new ObjectMapper().readTree(r.body()).path("checks")) {
                if (check.path("name").asText().equals("model")) {
                    return check;
                }
            }
        } catch (IOException e) {
            // not listening yet
        }
        return null;
    }

    /** The hub's answers: HEAD with the size, GET with the bytes in paced chunks, 404 for what the checkpoint lacks. */
    private static void serve(HttpExchange ex, Path source) throws IOException {
        String name = ex.getRequestURI().getPath().substring(("/" + REPO + "/resolve/main/").length());
        Path file = source.resolve(name);
        if (name.contains("/") || !Files.isRegularFile(file)) {
            ex.sendResponseHeaders(404, -1);
            ex.close();
            return;
        }
        long size = Files.size(file);
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().add("Content-Length", String.valueOf(size));
            ex.sendResponseHeaders(200, -1);
            ex.close();
            return;
        }
        byte[] data = Files.readAllBytes(file);
        ex.sendResponseHeaders(200, size);
        try (OutputStream out = ex.getResponseBody()) {
            for (int at = 0; at < data.length; at += CHUNK) {
                out.write(data, at, Math.min(CHUNK, data.length - at));
                out.flush();
                Thread.sleep(PAUSE_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
