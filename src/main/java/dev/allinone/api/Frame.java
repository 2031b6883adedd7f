package dev.allinone.api;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * What a chat turn sends, in order: {@code queued} while it waits for a free place (WebSocket only), one
 * {@code sentiment}, then {@code token}s, then {@code done}; or an {@code error} at any point. The same objects are
 * WebSocket text frames and Server-Sent Events.
 */
public sealed interface Frame {

    String type();

    /** @param position the turn's place in the queue, 1 = next to start */
    @JsonPropertyOrder({"type", "position"})
    record Queued(int position) implements Frame {
        @Override
        public String type() {
            return "queued";
        }
    }

    @JsonPropertyOrder({"type", "label", "score"})
    record Sentiment(String label, double score) implements Frame {
        @Override
        public String type() {
            return "sentiment";
        }
    }

    @JsonPropertyOrder({"type", "text"})
    record Token(String text) implements Frame {
        @Override
        public String type() {
            return "token";
        }
    }

    /** @param finish why the reply ended: stop, length, context_full or cancelled */
    @JsonPropertyOrder({"type", "tokens", "ms", "finish"})
    record Done(int tokens, long ms, String finish) implements Frame {
        @Override
        public String type() {
            return "done";
        }
    }

    @JsonPropertyOrder({"type", "code", "message"})
    record Error(String code, String message) implements Frame {
        @Override
        public String type() {
            return "error";
        }
    }
}
