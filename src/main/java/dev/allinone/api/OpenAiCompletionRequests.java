package dev.allinone.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ai.Completions;
import dev.allinone.engine.GenerationOptions;
import dev.langchain4j.model.chat.request.ChatRequestParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/** Checks an OpenAI (legacy) completion request field by field and turns each of its prompts into a {@link Completions.TextRequest}. */
final class OpenAiCompletionRequests {

    /** OpenAI's limit on {@code logprobs} for completions. */
    static final int MAX_LOGPROBS = 5;
    /** Prompts in one request at most (they are run one after another). */
    static final int MAX_PROMPTS = 64;

    /**
     * @param logprobs alternatives per token to report, or -1 for no log-probabilities
     */
    record Read(List<Completions.TextRequest> prompts, boolean echo, int logprobs) {
    }

    private OpenAiCompletionRequests() {
    }

    static Read read(OpenAi.CompletionRequest r, Completions completions) {
        if (r.model() == null) {
            throw OpenAiError.invalid("model", "The request needs a 'model' (GET /v1/models lists it: " + completions.modelId() + ")");
        }
        if (!r.model().equals(completions.modelId())) {
            throw new OpenAiError(404, "invalid_request_error", "model", "model_not_found",
                    "The model '" + r.model() + "' does not exist; this service serves '" + completions.modelId() + "'", 0);
        }
        if (r.n() != null && r.n() != 1) {
            throw OpenAiError.invalid("n", "Only one choice per prompt is served (n = 1)");
        }
        if (r.bestOf() != null && r.bestOf() != 1) {
            throw OpenAiError.invalid("best_of", "Only best_of = 1 is served");
        }
        if (r.suffix() != null && !r.suffix().isEmpty()) {
            throw OpenAiError.invalid("suffix", "is not supported (no fill-in-the-middle)");
        }
        if (r.logitBias() != null && !r.logitBias().isNull() && !r.logitBias().isEmpty()) {
            throw OpenAiError.invalid("logit_bias", "is not supported");
        }
        if (r.maxTokens() != null && r.maxTokens() < 1) {
            throw OpenAiError.invalid("max_tokens", "must be at least 1");
        }
        if (r.temperature() != null && (r.temperature() < 0 || r.temperature() > 2)) {
            throw OpenAiError.invalid("temperature", "must be between 0 and 2");
        }
        if (r.topP() != null && (r.topP() <= 0 || r.topP() > 1)) {
            throw OpenAiError.invalid("top_p", "must be greater than 0 and at most 1");
        }
        OpenAiRequests.penalty("presence_penalty", r.presencePenalty());
        OpenAiRequests.penalty("frequency_penalty", r.frequencyPenalty());
        int logprobs = r.logprobs() == null ? -1 : r.logprobs();
        if (r.logprobs() != null && (logprobs < 0 || logprobs > MAX_LOGPROBS)) {
            throw OpenAiError.invalid("logprobs", "must be between 0 and " + MAX_LOGPROBS);
        }
        boolean echo = Boolean.TRUE.equals(r.echo());
        List<int[]> prompts = prompts(r.prompt(), completions);
        if (Boolean.TRUE.equals(r.stream()) && prompts.size() > 1) {
            throw OpenAiError.invalid("prompt", "A streamed completion takes one prompt");
        }
        // echo needs the prompt scored token by token only when log-probabilities are asked for
        GenerationOptions options = new GenerationOptions(r.seed() == null ? OptionalLong.empty() : OptionalLong.of(r.seed()),
                OpenAiRequests.stop(r.stop()), logprobs >= 0, Math.max(logprobs, 0)).withEcho(echo && logprobs >= 0);
        ChatRequestParameters sampling = ChatRequestParameters.builder().temperature(r.temperature()).topP(r.topP())
                .maxOutputTokens(r.maxTokens() == null ? DEFAULT_MAX_TOKENS : r.maxTokens())
                .presencePenalty(r.presencePenalty()).frequencyPenalty(r.frequencyPenalty()).build();
        List<Completions.TextRequest> out = new ArrayList<>();
        for (int[] p : prompts) {
            out.add(new Completions.TextRequest(p, sampling, options));
        }
        return new Read(out, echo, logprobs);
    }

    /** OpenAI's default for completions. */
    static final int DEFAULT_MAX_TOKENS = 16;

    private static List<int[]> prompts(JsonNode prompt, Completions completions) {
        if (prompt == null || prompt.isNull()) {
            throw OpenAiError.invalid("prompt", "The request needs a 'prompt': text, token ids, or an array of either");
        }
        List<int[]> out = new ArrayList<>();
        if (prompt.isTextual()) {
            out.add(text(prompt.asText(), "prompt", completions));
        } else if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isIntegralNumber()) {
            out.add(ids(prompt, "prompt", completions));
        } else if (prompt.isArray() && !prompt.isEmpty()) {
            if (prompt.size() > MAX_PROMPTS) {
                throw OpenAiError.invalid("prompt", "At most " + MAX_PROMPTS + " prompts per request");
            }
            for (int i = 0; i < prompt.size(); i++) {
                JsonNode p = prompt.get(i);
                String param = "prompt[" + i + "]";
                if (p.isTextual()) {
                    out.add(text(p.asText(), param, completions));
                } else if (p.isArray()) {
                    out.add(ids(p, param, completions));
                } else {
                    throw OpenAiError.invalid(param, "must be text or an array of token ids");
                }
            }
        } else {
            throw OpenAiError.invalid("prompt", "must be text, an array of token ids, or a non-empty array of either");
        }
        return out;
    }

    private static int[] text(String text, String param, Completions completions) {
        if (text.isEmpty()) {
            throw OpenAiError.invalid(param, "must not be empty");
        }
        return completions.encode(text);
    }

    private static int[] ids(JsonNode array, String param, Completions completions) {
        if (array.isEmpty()) {
            throw OpenAiError.invalid(param, "must not be empty");
        }
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = array.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt() || !completions.isToken(id.asInt())) {
                throw OpenAiError.invalid(param + "[" + i + "]", "is not a token id of this model: " + id);
            }
            ids[i] = id.asInt();
        }
        return ids;
    }
}
