package dev.allinone.ai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.engine.GenerationFuture;
import dev.allinone.engine.GenerationOptions;
import dev.allinone.engine.sampling.json.JsonConstraint;
import dev.langchain4j.internal.JsonSchemaElementUtils;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonRawSchema;
import dev.allinone.engine.GenerationResult;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.LabelScores;
import dev.allinone.lifecycle.ModelRuntime;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.json.JsonEnumSchema;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.request.json.JsonSchemaElement;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * LangChain4j's blocking chat model over the shared engine. It declares JSON-schema support so that an AI
 * service returning an enum sends its constants as a schema; such a request is answered by scoring the
 * constants' verbalisations in one forward pass, never by generating and parsing text, so the answer is
 * always a valid constant. Any other request is answered by generation; another JSON response format by generation
 * constrained to its schema ({@link JsonConstraint}).
 */
@ApplicationScoped
public class QwenChatModel implements ChatModel {

    private final ModelRuntime runtime;
    private final PromptLibrary prompts;

    QwenChatModel(ModelRuntime runtime, PromptLibrary prompts) {
        this.runtime = runtime;
        this.prompts = prompts;
    }

    @Override
    public java.util.Set<Capability> supportedCapabilities() {
        return java.util.Set.of(Capability.RESPONSE_FORMAT_JSON_SCHEMA);
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        InferenceEngine engine = runtime.engine();
        int[] prompt = ChatMessages.prompt(request, engine.model());
        Optional<ClosedSet> closedSet = ClosedSet.of(request.parameters().responseFormat());
        return closedSet.isPresent() ? classify(engine, prompt, closedSet.get()) : generate(engine, prompt, request);
    }

    private ChatResponse classify(InferenceEngine engine, int[] prompt, ClosedSet set) {
        LabelScores scores = await(engine.scoreLabels(prompt, prompts.labels(set.schemaName(), set.values())));
        String chosen = set.values().get(scores.bestIndex());
        Map<String, Double> probabilities = new LinkedHashMap<>();
        for (int i = 0; i < set.values().size(); i++) {
            probabilities.put(set.values().get(i), scores.probabilities()[i]);
        }
        String json = set.wrapped() ? "{\"value\":\"" + chosen + "\"}" : chosen;
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(json))
                .metadata(LabelScoresMetadata.builder()
                        .score(scores.bestProbability())
                        .probabilities(probabilities)
                        .tokenUsage(new TokenUsage(scores.promptTokens(), 0))
                        .finishReason(FinishReason.STOP)
                        .modelName(engine.model().path().getFileName().toString())
                        .build())
                .build();
    }

    private ChatResponse generate(InferenceEngine engine, int[] prompt, ChatRequest request) {
        GenerationFuture done = new GenerationFuture();
        engine.generate(prompt, ChatMessages.sampling(request.parameters(), engine.model().defaults()),
                GenerationOptions.none().withJson(jsonConstraint(request.parameters().responseFormat())), done);
        GenerationResult result = await(done.result());
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(result.text()))
                .metadata(GenerationMetadata.of(result))
                .build();
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A JSON response format other than a closed set: its schema (any of LangChain4j's schema elements, a raw schema
     * included) enforced by constrained decoding; JSON without a schema is any JSON object. Null for text.
     *
     * @throws dev.allinone.engine.sampling.json.UnsupportedSchemaException naming a keyword it cannot enforce
     */
    static JsonConstraint jsonConstraint(ResponseFormat format) {
        if (format == null || format.type() != ResponseFormatType.JSON) {
            return null;
        }
        if (format.jsonSchema() == null || format.jsonSchema().rootElement() == null) {
            return JsonConstraint.anyObject();
        }
        JsonSchemaElement root = format.jsonSchema().rootElement();
        JsonNode schema;
        try {
            schema = root instanceof JsonRawSchema raw ? JSON.readTree(raw.schema()) : JSON.valueToTree(JsonSchemaElementUtils.toMap(root, true));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("The response format's raw schema is not JSON: " + e.getOriginalMessage(), e);
        }
        return JsonConstraint.forSchema(schema);
    }

    static <T> T await(CompletableFuture<T> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the model", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new CompletionException(e.getCause());
        }
    }

    /**
     * The enum constants of a response format: either a root enum schema or, as LangChain4j sends for an enum
     * return type, an object whose only property is an enum.
     */
    record ClosedSet(String schemaName, List<String> values, boolean wrapped) {
        static Optional<ClosedSet> of(ResponseFormat format) {
            if (format == null || format.jsonSchema() == null) {
                return Optional.empty();
            }
            JsonSchema schema = format.jsonSchema();
            JsonSchemaElement root = schema.rootElement();
            if (root instanceof JsonEnumSchema e) {
                return Optional.of(new ClosedSet(schema.name(), e.enumValues(), false));
            }
            if (root instanceof JsonObjectSchema o && o.properties().size() == 1
                    && o.properties().values().iterator().next() instanceof JsonEnumSchema e) {
                return Optional.of(new ClosedSet(schema.name(), e.enumValues(), true));
            }
            return Optional.empty();
        }
    }
}
