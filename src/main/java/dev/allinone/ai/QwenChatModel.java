package dev.allinone.ai;

import dev.allinone.engine.GenerationFuture;
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
 * always a valid constant. Any other request is answered by generation.
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
        engine.generate(prompt, ChatMessages.sampling(request.parameters(), engine.model().defaults()), done);
        GenerationResult result = await(done.result());
        return ChatResponse.builder()
                .aiMessage(AiMessage.from(result.text()))
                .metadata(GenerationMetadata.of(result))
                .build();
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
