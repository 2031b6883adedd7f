package dev.allinone.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.tools.JsonFrameListener;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A real WebSocket client (the JDK's) that collects the server's JSON frames. */
public final class WsClient implements AutoCloseable {

    private final BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
    private final WebSocket socket;

    public WsClient(URI uri) throws Exception {
        this(uri, java.util.Map.of());
    }

    /** With extra handshake headers (as a reverse proxy adds them). */
    public WsClient(URI uri, java.util.Map<String, String> headers) throws Exception {
        WebSocket.Builder builder = HttpClient.newHttpClient().newWebSocketBuilder();
        headers.forEach(builder::header);
        this.socket = builder.buildAsync(uri, new JsonFrameListener(frames)).get(10, TimeUnit.SECONDS);
    }

    public void send(String text) throws Exception {
        socket.sendText(text, true).get(10, TimeUnit.SECONDS);
    }

    public void sendBinary(byte[] data) throws Exception {
        socket.sendBinary(ByteBuffer.wrap(data), true).get(10, TimeUnit.SECONDS);
    }

    public JsonNode next() throws InterruptedException {
        JsonNode frame = frames.poll(30, TimeUnit.SECONDS);
        if (frame == null) {
            throw new AssertionError("No frame within 30 s");
        }
        return frame;
    }

    /** Frames up to and including the next done or error frame. */
    public List<JsonNode> turn() throws InterruptedException {
        List<JsonNode> out = new ArrayList<>();
        while (true) {
            JsonNode frame = next();
            out.add(frame);
            String type = frame.path("type").asText();
            if (type.equals("done") || type.equals("error")) {
                return out;
            }
        }
    }

    public boolean isOpen() {
        return !socket.isInputClosed() && frames.stream().noneMatch(f -> f.path("type").asText().equals("closed"));
    }

    @Override
    public void close() {
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
    }
}
