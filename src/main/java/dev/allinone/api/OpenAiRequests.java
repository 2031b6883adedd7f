package dev.allinone.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ai.Completions;
import dev.allinone.engine.GenerationOptions;
import dev.allinone.engine.sampling.json.JsonConstraint;
import dev.allinone.engine.sampling.json.UnsupportedSchemaException;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequestParameters;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/** Checks an OpenAI chat-completion request field by field and turns it into a {@link Completions.Request}. */
final class OpenAiRequests {

    static final int MAX_STOP_STRINGS = 4;

    private OpenAiRequests() {
    }

    static Completions.Request read(OpenAi.ChatCompletionRequest r, String modelId) {
        if (r.model() == null) {
            throw OpenAiError.invalid("model", "The request needs a 'model' (GET /v1/models lists it: " + modelId + ")");
        }
        if (!r.model().equals(modelId)) {
            throw new OpenAiError(404, "invalid_request_error", "model", "model_not_found",
                    "The model '" + r.model() + "' does not exist; this service serves '" + modelId + "'", 0);
        }
        refuseUnsupported(r);
        Integer maxTokens = r.maxCompletionTokens() != null ? r.maxCompletionTokens() : r.maxTokens();
        if (maxTokens != null && maxTokens < 1) {
            throw OpenAiError.invalid(r.maxCompletionTokens() != null ? "max_completion_tokens" : "max_tokens", "must be at least 1");
        }
        if (r.temperature() != null && (r.temperature() < 0 || r.temperature() > 2)) {
            throw OpenAiError.invalid("temperature", "must be between 0 and 2");
        }
        if (r.topP() != null && (r.topP() <= 0 || r.topP() > 1)) {
            throw OpenAiError.invalid("top_p", "must be greater than 0 and at most 1");
        }
        penalty("presence_penalty", r.presencePenalty());
        penalty("frequency_penalty", r.frequencyPenalty());
        boolean logprobs = Boolean.TRUE.equals(r.logprobs());
        int top = r.topLogprobs() == null ? 0 : r.topLogprobs();
        if (top < 0 || top > GenerationOptions.MAX_TOP_LOGPROBS) {
            throw OpenAiError.invalid("top_logprobs", "must be between 0 and " + GenerationOptions.MAX_TOP_LOGPROBS);
        }
        if (top > 0 && !logprobs) {
            throw OpenAiError.invalid("top_logprobs", "needs 'logprobs': true");
        }
        GenerationOptions options = new GenerationOptions(
                r.seed() == null ? OptionalLong.empty() : OptionalLong.of(r.seed()), stop(r.stop()), logprobs, top)
                .withJson(responseFormat(r.responseFormat()));
        return new Completions.Request(messages(r.messages()),
                ChatRequestParameters.builder().temperature(r.temperature()).topP(r.topP()).maxOutputTokens(maxTokens)
                        .presencePenalty(r.presencePenalty()).frequencyPenalty(r.frequencyPenalty()).build(), options,
                enableThinking(r.chatTemplateKwargs()));
    }

    /**
     * vLLM's {@code "chat_template_kwargs": {"enable_thinking": true}}: Qwen3 thinks before it answers (its thinking
     * comes as {@code reasoning_content}); without it, thinking is off. Other keys are refused by name.
     */
    private static boolean enableThinking(JsonNode kwargs) {
        if (!present(kwargs)) {
            return false;
        }
        if (!kwargs.isObject()) {
            throw OpenAiError.invalid("chat_template_kwargs", "must be an object");
        }
        for (String key : (Iterable<String>) kwargs::fieldNames) {
            if (!key.equals("enable_thinking")) {
                throw OpenAiError.invalid("chat_template_kwargs." + key, "Only enable_thinking is served");
            }
        }
        JsonNode value = kwargs.path("enable_thinking");
        if (!value.isMissingNode() && !value.isNull() && !value.isBoolean()) {
            throw OpenAiError.invalid("chat_template_kwargs.enable_thinking", "must be true or false");
        }
        return value.asBoolean(false);
    }

    private static void refuseUnsupported(OpenAi.ChatCompletionRequest r) {
        if (r.n() != null && r.n() != 1) {
            throw OpenAiError.invalid("n", "Only one choice per request is served (n = 1)");
        }
        if (present(r.tools()) || present(r.functions())) {
            throw OpenAiError.invalid(present(r.tools()) ? "tools" : "functions", "Tool calling is not supported by this model");
        }
    }

    /**
     * {@code {"type":"text"}} (or none): free text; {@code {"type":"json_object"}}: any JSON object;
     * {@code {"type":"json_schema","json_schema":{"name":…,"schema":{…},"strict":true}}}: an answer valid against the
     * schema (strict or not, the schema is always enforced). A schema keyword constrained decoding does not support
     * is refused by name.
     */
    static JsonConstraint responseFormat(JsonNode format) {
        if (!present(format)) {
            return null;
        }
        if (!format.isObject()) {
            throw OpenAiError.invalid("response_format", "must be an object with a 'type'");
        }
        String type = format.path("type").asText();
        return switch (type) {
            case "text" -> null;
            case "json_object" -> JsonConstraint.anyObject();
            case "json_schema" -> {
                JsonNode schema = format.path("json_schema").path("schema");
                if (!schema.isObject()) {
                    throw OpenAiError.invalid("response_format.json_schema.schema",
                            "A json_schema response format needs 'json_schema': {'name': …, 'schema': {…}}");
                }
                try {
                    yield JsonConstraint.forSchema(schema);
                } catch (UnsupportedSchemaException e) {
                    throw OpenAiError.invalid("response_format.json_schema.schema" + (e.path().isEmpty() ? "" : e.path().replace('/', '.')),
                            e.getMessage());
                }
            }
            default -> throw OpenAiError.invalid("response_format.type", "must be text, json_object or json_schema, not '" + type + "'");
        };
    }

    /** OpenAI's range for presence and frequency penalties. */
    static void penalty(String param, Double value) {
        if (value != null && !(Math.abs(value) <= 2)) {
            throw OpenAiError.invalid(param, "must be between -2 and 2");
        }
    }

    private static boolean present(JsonNode node) {
        return node != null && !node.isNull() && !(node.isContainerNode() && node.isEmpty());
    }

    static List<String> stop(JsonNode stop) {
        if (stop == null || stop.isNull()) {
            return List.of();
        }
        List<String> strings = new ArrayList<>();
        if (stop.isTextual()) {
            strings.add(stop.asText());
        } else if (stop.isArray() && stop.size() <= MAX_STOP_STRINGS) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw OpenAiError.invalid("stop", "must be a string or an array of up to 4 strings");
                }
                strings.add(s.asText());
            }
        } else {
            throw OpenAiError.invalid("stop", "must be a string or an array of up to 4 strings");
        }
        if (strings.stream().anyMatch(String::isEmpty)) {
            throw OpenAiError.invalid("stop", "A stop string must not be empty");
        }
        return strings;
    }

    private static List<ChatMessage> messages(List<OpenAi.Message> messages) {
        if (messages == null || messages.isEmpty()) {
            throw OpenAiError.invalid("messages", "The request needs a non-empty 'messages' array");
        }
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            OpenAi.Message m = messages.get(i);
            String param = "messages[" + i + "]";
            if (m == null || m.role() == null) {
                throw OpenAiError.invalid(param + ".role", "Each message needs a 'role'");
            }
            String text = text(m.content(), param + ".content");
            if (text.isBlank()) {
                throw OpenAiError.invalid(param + ".content", "A message's content must not be empty or blank");
            }
            out.add(switch (m.role()) {
                case "system", "developer" -> SystemMessage.from(text);
                case "user" -> UserMessage.from(text);
                case "assistant" -> AiMessage.from(text);
                default -> throw OpenAiError.invalid(param + ".role",
                        "Role '" + m.role() + "' is not supported (system, developer, user or assistant)");
            });
        }
        return out;
    }

    /** A string, or an array of text parts joined in order; other part types (images, audio) are refused. */
    private static String text(JsonNode content, String param) {
        if (content != null && content.isTextual()) {
            return content.asText();
        }
        if (content != null && content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw OpenAiError.invalid(param, "Only text content parts ({\"type\":\"text\",\"text\":…}) are supported");
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        throw OpenAiError.invalid(param, "must be a string or an array of text parts");
    }
}
