package dev.allinone.api;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;

import java.util.List;
import java.util.Map;

/**
 * The REST request bodies, bound by Jackson and checked by their annotations; a violation becomes a problem body
 * whose code is {@code missing_<field>} for a missing field and {@code bad_type} otherwise ({@link RequestErrors}).
 */
final class Requests {

    private Requests() {
    }

    /** {@code POST /api/sentiment}. */
    record SentimentRequest(@NotNull(message = "The JSON object needs a string field 'text'") String text) {
    }

    /**
     * {@code POST /api/chat}: a text, the conversation to continue (a new one when absent), and the tasks whose
     * analyses precede the reply (sentiment when absent) with their parameters.
     */
    record ChatRequest(
            @NotNull(message = "The JSON object needs a string field 'text'") String text,
            @Size(min = 1, max = 128, message = "Field 'conversationId' must be a non-empty string of at most 128 characters")
            @Pattern(regexp = "(?s).*\\S.*", message = "Field 'conversationId' must be a non-empty string of at most 128 characters")
            String conversationId,
            List<String> tasks,
            Map<String, String> params) {
    }

    /** {@code POST /api/tasks/{name}}: a text and the task's parameters (e.g. translate's {@code language}). */
    record TaskRequest(@NotNull(message = "The JSON object needs a string field 'text'") String text, Map<String, String> params) {
    }

    /** {@code POST /api/tokenize}: with {@code special}, {@code <|im_start|>} and the like become control ids. */
    record TokenizeRequest(@NotNull(message = "The JSON object needs a string field 'text'") String text, boolean special) {
    }

    /** {@code POST /api/detokenize}. */
    record DetokenizeRequest(@NotNull(message = "Field 'ids' must be an array of token ids") int[] ids) {
    }
}
