package dev.allinone.it;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** HTTP checks against a service the integration tests started themselves (a packaged jar or a container). */
final class ServiceProbe {

    final HttpClient http = HttpClient.newHttpClient();
    private final String base;

    ServiceProbe(int port) {
        this.base = "http://127.0.0.1:" + port;
    }

    /** A port nobody listens on right now. */
    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** The next frame, failing with what was awaited rather than a NullPointerException when none comes. */
    static JsonNode next(BlockingQueue<JsonNode> frames, int seconds, String awaited) throws InterruptedException {
        JsonNode frame = frames.poll(seconds, TimeUnit.SECONDS);
        if (frame == null) {
            throw new AssertionError("no frame within " + seconds + " s; awaited " + awaited);
        }
        return frame;
    }

    URI uri(String path) {
        return URI.create(base + path);
    }

    URI webSocket(String path) {
        return URI.create(base.replace("http:", "ws:") + path);
    }

    HttpResponse<String> postJson(String path, String body) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Polls {@code path} until it answers {@code status}; fails early once {@code alive} turns false. */
    void awaitStatus(String path, int status, int seconds, BooleanSupplier alive) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        int last = -1;
        while (System.nanoTime() < deadline && alive.getAsBoolean()) {
            try {
                last = http.send(HttpRequest.newBuilder(uri(path)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
                if (last == status) {
                    return;
                }
            } catch (IOException notYet) {
                last = -1;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(path + " did not answer " + status + " within " + seconds + " s (last: " + last
                + (alive.getAsBoolean() ? "" : "; the service is no longer running") + ")");
    }
}
