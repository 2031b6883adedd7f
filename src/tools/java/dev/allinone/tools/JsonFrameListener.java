package dev.allinone.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.http.WebSocket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;

/**
 * A JDK WebSocket listener that puts each of the service's JSON text frames (reassembled from fragments) on a
 * queue; an unparseable frame becomes {@code {"type":"error","code":"unparseable_frame"}} and the close of the
 * connection {@code {"type":"closed","status":N}}. Used by the load tool and the tests.
 */
public final class JsonFrameListener implements WebSocket.Listener {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final BlockingQueue<JsonNode> frames;
    private final StringBuilder partial = new StringBuilder();

    public JsonFrameListener(BlockingQueue<JsonNode> frames) {
        this.frames = frames;
    }

    @Override
    public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
            try {
                frames.add(JSON.readTree(partial.toString()));
            } catch (Exception e) {
                frames.add(JSON.createObjectNode().put("type", "error").put("code", "unparseable_frame"));
            }
            partial.setLength(0);
        }
        socket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket socket, int status, String reason) {
        frames.add(JSON.createObjectNode().put("type", "closed").put("status", status));
        return null;
    }
}
