package dev.allinone.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/** The JSON shapes of the OpenAI-compatible API (the subset of OpenAI's chat completions we serve). */
final class OpenAi {

    private OpenAi() {
    }

    /** {@code POST /v1/chat/completions}; fields OpenAI defines that we do not serve are refused by name when set. */
    record ChatCompletionRequest(
            String model,
            List<Message> messages,
            Double temperature,
            @JsonProperty("top_p") Double topP,
            @JsonProperty("max_tokens") Integer maxTokens,
            @JsonProperty("max_completion_tokens") Integer maxCompletionTokens,
            JsonNode stop,
            Long seed,
            Boolean logprobs,
            @JsonProperty("top_logprobs") Integer topLogprobs,
            Integer n,
            Boolean stream,
            @JsonProperty("stream_options") StreamOptions streamOptions,
            @JsonProperty("presence_penalty") Double presencePenalty,
            @JsonProperty("frequency_penalty") Double frequencyPenalty,
            JsonNode tools,
            JsonNode functions,
            @JsonProperty("response_format") JsonNode responseFormat,
            @JsonProperty("chat_template_kwargs") JsonNode chatTemplateKwargs) {
    }

    /**
     * {@code POST /v1/completions}: {@code prompt} is a string, an array of strings, an array of token ids or an array
     * of such arrays (one choice each); {@code logprobs} is how many alternatives to report per token (0–5).
     */
    record CompletionRequest(
            String model,
            JsonNode prompt,
            @JsonProperty("max_tokens") Integer maxTokens,
            Double temperature,
            @JsonProperty("top_p") Double topP,
            JsonNode stop,
            Long seed,
            Integer logprobs,
            Boolean echo,
            Integer n,
            @JsonProperty("best_of") Integer bestOf,
            Boolean stream,
            @JsonProperty("stream_options") StreamOptions streamOptions,
            @JsonProperty("presence_penalty") Double presencePenalty,
            @JsonProperty("frequency_penalty") Double frequencyPenalty,
            String suffix,
            @JsonProperty("logit_bias") JsonNode logitBias) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Completion(String id, String object, long created, String model, List<CompletionChoice> choices, Usage usage) {
    }

    record CompletionChoice(int index, String text, CompletionLogprobs logprobs, @JsonProperty("finish_reason") String finishReason) {
    }

    /** The legacy shape: per token its text, log-probability (null for the prompt's first), alternatives and offset. */
    record CompletionLogprobs(List<String> tokens, @JsonProperty("token_logprobs") List<Double> tokenLogprobs,
            @JsonProperty("top_logprobs") List<Map<String, Double>> topLogprobs, @JsonProperty("text_offset") List<Integer> textOffset) {
    }

    /** {@code content} is a string or an array of {@code {"type":"text","text":…}} parts. */
    record Message(String role, JsonNode content) {
    }

    record StreamOptions(@JsonProperty("include_usage") Boolean includeUsage) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChatCompletion(String id, String object, long created, String model, List<Choice> choices, Usage usage) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Choice(int index, AssistantMessage message, Logprobs logprobs,
            @JsonInclude(JsonInclude.Include.ALWAYS) @JsonProperty("finish_reason") String finishReason) {
    }

    /** @param reasoningContent the model's thinking (Qwen3 with {@code enable_thinking}), as vLLM reports it; null when none */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record AssistantMessage(String role, @JsonInclude(JsonInclude.Include.ALWAYS) String content,
            @JsonProperty("reasoning_content") String reasoningContent) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChatCompletionChunk(String id, String object, long created, String model, List<ChunkChoice> choices, Usage usage) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record ChunkChoice(int index, Delta delta, Logprobs logprobs,
            @JsonInclude(JsonInclude.Include.ALWAYS) @JsonProperty("finish_reason") String finishReason) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Delta(String role, String content, @JsonProperty("reasoning_content") String reasoningContent) {

        Delta(String role, String content) {
            this(role, content, null);
        }
    }

    record Logprobs(List<TokenLogprob> content) {
    }

    record TokenLogprob(String token, double logprob, int[] bytes, @JsonProperty("top_logprobs") List<TopLogprob> topLogprobs) {
    }

    record TopLogprob(String token, double logprob, int[] bytes) {
    }

    record Usage(@JsonProperty("prompt_tokens") int promptTokens, @JsonProperty("completion_tokens") int completionTokens,
            @JsonProperty("total_tokens") int totalTokens) {
    }

    record ModelList(String object, List<Model> data) {
    }

    record Model(String id, String object, long created, @JsonProperty("owned_by") String ownedBy) {
    }

    /** OpenAI's error body: {@code {"error":{"message","type","param","code"}}}. */
    record ErrorBody(Error error) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    record Error(String message, String type, String param, String code) {
    }
}
