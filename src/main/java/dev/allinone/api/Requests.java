package dev.allinone.api;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;

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

    /** {@code POST /api/chat}: a text, and the conversation to continue (a new one when absent). */
    record ChatRequest(
            @NotNull(message = "The JSON object needs a string field 'text'") String text,
            @Size(min = 1, max = 128, message = "Field 'conversationId' must be a non-empty string of at most 128 characters")
            @Pattern(regexp = "(?s).*\\S.*", message = "Field 'conversationId' must be a non-empty string of at most 128 characters")
            String conversationId) {
    }

    /** {@code POST /api/tokenize}: with {@code special}, {@code <|im_start|>} and the like become control ids. */
    record TokenizeRequest(@NotNull(message = "The JSON object needs a string field 'text'") String text, boolean special) {
    }

    /** {@code POST /api/detokenize}. */
    record DetokenizeRequest(@NotNull(message = "Field 'ids' must be an array of token ids") int[] ids) {
    }
}
