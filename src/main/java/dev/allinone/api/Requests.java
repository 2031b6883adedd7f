package dev.allinone.api;

import dev.allinone.ai.Conversations;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * The REST request bodies, bound by Jackson and checked by {@link #checked} before use: a missing body or one that is
 * not an object is {@code bad_json}, a missing field {@code missing_<field>}, a field out of its bounds
 * {@code bad_type} with the field named ({@link RequestErrors} says the same of Jackson's own errors). These few
 * checks are written out rather than declared for Hibernate Validator, whose start-up cost 0.3 s of CPU
 * (docs/decisions.md).
 */
final class Requests {

    /** What a body without a string {@code text} is told, here and on the WebSocket ({@link FrameCodec}). */
    static final String NEEDS_TEXT = "The JSON object needs a string field 'text'";
    /** A conversation id needs one character that is not white space as regular expressions see it (ASCII only). */
    private static final Pattern NOT_SPACE = Pattern.compile("\\S");

    private Requests() {
    }

    /** A request body that can say what is wrong with it. */
    interface Body {
        /** @throws FrameCodec.BadInput naming the (first) field at fault */
        void check();
    }

    /** {@code body}, checked; a missing body (JSON {@code null} or none) is refused too. */
    static <B extends Body> B checked(B body) {
        if (body == null) {
            throw new FrameCodec.BadInput(Failure.badRequest("bad_json", null, "The body must be a JSON object"));
        }
        body.check();
        return body;
    }

    private static void require(Object value, String field, String message) {
        if (value == null) {
            throw new FrameCodec.BadInput(Failure.badRequest("missing_" + field, field, message));
        }
    }

    /** {@code POST /api/sentiment}. */
    record SentimentRequest(@Schema(required = true) String text) implements Body {
        @Override
        public void check() {
            require(text, "text", NEEDS_TEXT);
        }
    }

    /**
     * {@code POST /api/chat}: a text, the conversation to continue (a new one when absent), and the tasks whose
     * analyses precede the reply (sentiment when absent) with their parameters.
     */
    record ChatRequest(@Schema(required = true) String text,
            @Schema(minLength = 1, maxLength = Conversations.MAX_ID_CHARS) String conversationId, List<String> tasks,
            Map<String, String> params) implements Body {
        @Override
        public void check() {
            int max = Conversations.MAX_ID_CHARS;
            if (conversationId != null && (!NOT_SPACE.matcher(conversationId).find() || conversationId.length() > max)) {
                throw new FrameCodec.BadInput(Failure.badRequest("bad_type", "conversationId",
                        "Field 'conversationId' must be a non-empty string of at most " + max + " characters"));
            }
            require(text, "text", NEEDS_TEXT);
        }
    }

    /** {@code POST /api/tasks/{name}}: a text and the task's parameters (e.g. translate's {@code language}). */
    record TaskRequest(@Schema(required = true) String text, Map<String, String> params) implements Body {
        @Override
        public void check() {
            require(text, "text", NEEDS_TEXT);
        }
    }

    /** {@code POST /api/tokenize}: with {@code special}, {@code <|im_start|>} and the like become control ids. */
    record TokenizeRequest(@Schema(required = true) String text, boolean special) implements Body {
        @Override
        public void check() {
            require(text, "text", NEEDS_TEXT);
        }
    }

    /** {@code POST /api/detokenize}. */
    record DetokenizeRequest(@Schema(required = true) int[] ids) implements Body {
        @Override
        public void check() {
            require(ids, "ids", "Field 'ids' must be an array of token ids");
        }
    }
}
