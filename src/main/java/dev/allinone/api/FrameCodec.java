package dev.allinone.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.List;
import java.util.Map;

/** Reads client messages and writes frames as JSON text. */
@ApplicationScoped
public class FrameCodec {

    private final ObjectMapper json;

    FrameCodec(ObjectMapper json) {
        this.json = json;
    }

    public String write(Frame frame) {
        try {
            ObjectNode node = json.createObjectNode().put("type", frame.type());
            node.setAll((ObjectNode) json.valueToTree(frame));
            return json.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Frame not serialisable: " + frame, e);
        }
    }

    /**
     * A chat message: {@code text}, and optionally the {@code tasks} whose analyses precede the reply (null: the
     * default) and their {@code params}.
     */
    public record ChatMessage(String text, List<String> tasks, Map<String, String> params) {
    }

    /**
     * A frame whose first non-blank character is '{' must be a JSON object with a string {@code text} (and may name
     * {@code tasks} and {@code params}); any other frame is the text itself.
     */
    public ChatMessage chatMessage(String frame) {
        if (!frame.stripLeading().startsWith("{")) {
            return new ChatMessage(frame, null, null);
        }
        JsonNode node = parseObject(frame);
        String text = requiredText(node);
        try {
            ChatMessage message = json.treeToValue(node, ChatMessage.class);
            return new ChatMessage(text, message.tasks(), message.params());
        } catch (JsonProcessingException e) {
            throw new BadInput(RequestErrors.failure(e));
        }
    }

    /** True for {@code {"type":"stop"}}: stop the reply that is streaming on this connection. */
    public boolean isStopCommand(String frame) {
        String trimmed = frame.strip();
        if (!trimmed.startsWith("{") || trimmed.length() > 200) {
            return false;
        }
        try {
            JsonNode node = json.readTree(trimmed);
            return node != null && node.isObject() && "stop".equals(node.path("type").asText()) && !node.has("text");
        } catch (JsonProcessingException e) {
            return false;
        }
    }

    /** Parses a JSON object body; anything else is a 400 naming what is wrong. */
    public JsonNode parseObject(String body) {
        JsonNode node;
        try {
            node = json.readTree(body == null ? "" : body);
        } catch (JsonProcessingException e) {
            throw new BadInput(Failure.badRequest("bad_json", null, "The body is not valid JSON: " + e.getOriginalMessage()));
        }
        if (node == null || !node.isObject()) {
            throw new BadInput(Failure.badRequest("bad_json", null, "The body must be a JSON object"));
        }
        return node;
    }

    public String requiredText(JsonNode body) {
        JsonNode text = body.get("text");
        if (text == null || text.isNull()) {
            throw new BadInput(Failure.badRequest("missing_text", "text", Requests.NEEDS_TEXT));
        }
        if (!text.isTextual()) {
            throw new BadInput(Failure.badRequest("bad_type", "text", "Field 'text' must be a string, not " + text.getNodeType().name().toLowerCase()));
        }
        return text.asText();
    }

    /** A client error found while reading the request. */
    public static final class BadInput extends RuntimeException {
        private final Failure failure;

        public BadInput(Failure failure) {
            super(failure.message());
            this.failure = failure;
        }

        public Failure failure() {
            return failure;
        }
    }
}
