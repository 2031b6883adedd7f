package dev.allinone.api;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import dev.allinone.ai.TaskResult;

/**
 * What a chat turn sends, in order (after a {@code conversation} frame when a WebSocket resumes one): {@code queued} while it waits for a free place (WebSocket only), a
 * {@code sentiment} and an {@code analysis} per other chosen task, then {@code token}s, then {@code done}; or an
 * {@code error} at any point. The same objects are
 * WebSocket text frames and Server-Sent Events.
 */
public sealed interface Frame {

    String type();

    /** First on a WebSocket opened with {@code ?conversation=}: the conversation continued and its earlier turns. */
    @JsonPropertyOrder({"type", "id", "turns"})
    record Conversation(String id, int turns) implements Frame {
        @Override
        public String type() {
            return "conversation";
        }
    }

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

    /** A task's answer other than the sentiment's, as the task runner gives it: a label and its probability, a text, or phrases. */
    record Analysis(@JsonUnwrapped TaskResult result) implements Frame {
        @Override
        public String type() {
            return "analysis";
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

    /** Written as code, message and (when one input field is at fault) field; the HTTP status stays on the server side. */
    @JsonPropertyOrder({"type", "code", "message", "field"})
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Error(@JsonIgnore Failure failure) implements Frame {
        @Override
        public String type() {
            return "error";
        }

        @JsonProperty
        public String code() {
            return failure.code();
        }

        @JsonProperty
        public String message() {
            return failure.message();
        }

        @JsonProperty
        public String field() {
            return failure.field();
        }
    }
}
