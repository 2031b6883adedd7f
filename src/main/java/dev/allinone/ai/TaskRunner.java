package dev.allinone.ai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.engine.sampling.json.JsonConstraint;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonEnumSchema;
import dev.langchain4j.model.chat.request.json.JsonRawSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Runs any declared task on a text through the one chat model: a labels task by label scoring (its answers sent as
 * a JSON enum schema, so {@link QwenChatModel} scores their words instead of generating), a text or phrases task by
 * greedy generation, a json task by greedy generation constrained to its schema. Sentiment goes through its own AI service. Closed-set answers are cached.
 */
@ApplicationScoped
public class TaskRunner {

    public static final int MAX_PHRASES = 10;
    private static final int MAX_PARAMETER_CHARS = 64;
    private static final Pattern PHRASE_SEPARATORS = Pattern.compile("[\\n,，、;；]+");
    private static final Pattern LIST_MARKER = Pattern.compile("^\\s*(?:[-*•·]|\\d+[.)、．]|[（(]?\\d+[）)])\\s*");

    private final TaskRegistry registry;
    private final SentimentService sentiment;
    private final QwenChatModel model;
    private final PromptLibrary prompts;
    private final InputCleaner cleaner;
    private final ClosedSetAnswers answers;
    private final MeterRegistry metrics;

    TaskRunner(TaskRegistry registry, SentimentService sentiment, QwenChatModel model, PromptLibrary prompts,
            InputCleaner cleaner, ClosedSetAnswers answers, MeterRegistry metrics) {
        this.registry = registry;
        this.sentiment = sentiment;
        this.model = model;
        this.prompts = prompts;
        this.cleaner = cleaner;
        this.answers = answers;
        this.metrics = metrics;
        registry.find(SentimentService.TASK).ifPresent(TaskRunner::requireSentimentAsServed);
    }

    /** The sentiment AI service answers with its enum: a declaration must say exactly that. */
    private static void requireSentimentAsServed(TaskDefinition task) {
        if (task.output() != TaskDefinition.Output.LABELS || !task.labels().equals(SentimentService.LABELS)) {
            throw new IllegalStateException("prompts/tasks.properties: sentiment is served by its AI service and must be "
                    + "output=labels with labels=" + String.join(",", SentimentService.LABELS));
        }
    }

    /**
     * Cleans the text for the task and runs it.
     *
     * @throws UnknownTaskException  for a task no declaration defines
     * @throws InvalidInputException for bad text or a missing or bad parameter
     */
    public TaskResult run(String task, String text, Map<String, String> parameters) {
        TaskDefinition definition = registry.require(task);
        String cleaned = definition.output() == TaskDefinition.Output.LABELS ? cleaner.forClassification(text) : cleaner.forChat(text);
        return runCleaned(definition, cleaned, checkParameters(definition, parameters));
    }

    /**
     * For a chat message already cleaned for every use ({@link ChatTurn.Message}), with the values
     * {@link #checkParameters} returned when the turn was prepared.
     */
    TaskResult runCleaned(TaskDefinition definition, ChatTurn.Message message, Map<String, String> values) {
        return runCleaned(definition, definition.output() == TaskDefinition.Output.LABELS
                ? message.forClassification() : message.forChat(), values);
    }

    /** Checks a request's parameters against the task's variables before anything runs. */
    public Map<String, String> checkParameters(TaskDefinition task, Map<String, String> parameters) {
        Map<String, String> given = parameters == null ? Map.of() : parameters;
        for (String name : given.keySet()) {
            if (!task.variables().contains(name)) {
                throw InvalidInputException.invalid("unknown_param", "params." + name,
                        "Task '" + task.name() + "' takes " + (task.variables().isEmpty() ? "no parameters" : "the parameters " + task.variables()));
            }
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (String name : task.variables()) {
            String value = given.get(name);
            if (value == null || value.isBlank()) {
                throw InvalidInputException.invalid("missing_param", "params." + name, "Task '" + task.name() + "' needs the parameter '" + name + "'");
            }
            if (value.length() > MAX_PARAMETER_CHARS || value.contains("\n")) {
                throw InvalidInputException.invalid("bad_param", "params." + name,
                        "Parameter '" + name + "' must be one line of at most " + MAX_PARAMETER_CHARS + " characters");
            }
            values.put(name, value.strip());
        }
        return values;
    }

    private TaskResult runCleaned(TaskDefinition task, String text, Map<String, String> values) {
        Timer.Sample sample = Timer.start();
        try {
            return switch (task.output()) {
                case LABELS -> classify(task, text, values);
                case TEXT -> TaskResult.text(task.name(), generate(task, text, values).strip());
                case PHRASES -> TaskResult.phrases(task.name(), phrases(generate(task, text, values)));
                case JSON -> TaskResult.json(task.name(), json(task, text, values));
            };
        } finally {
            sample.stop(Timer.builder("allinone.task.duration").description("Time to a task's answer, from the cleaned text on")
                    .tag("task", task.name()).publishPercentileHistogram().register(metrics));
        }
    }

    /**
     * Sentiment through its AI service, any other labels task here; both cached by prompt version, which covers the
     * task's parameters (their values are part of the system prompt).
     */
    private TaskResult classify(TaskDefinition task, String text, Map<String, String> values) {
        if (task.name().equals(SentimentService.TASK)) {
            SentimentVerdict verdict = sentiment.judgeCleaned(text);
            return TaskResult.label(task.name(), verdict.label().name(), verdict.score());
        }
        String system = prompts.systemMessage(task.promptFile(), values);
        return answers.get(task.name(), prompts.version(task.name(), system, task.labels()), text, () -> scoreLabels(task, system, text));
    }

    private TaskResult scoreLabels(TaskDefinition task, String system, String text) {
        ChatResponse response = model.chat(ChatRequest.builder()
                .messages(SystemMessage.from(system), UserMessage.from(text))
                .parameters(ChatRequestParameters.builder().responseFormat(ResponseFormat.builder().type(ResponseFormatType.JSON)
                        .jsonSchema(JsonSchema.builder().name(task.name())
                                .rootElement(JsonEnumSchema.builder().enumValues(task.labels()).build()).build())
                        .build()).build())
                .build());
        LabelScoresMetadata scores = (LabelScoresMetadata) response.metadata();
        return TaskResult.label(task.name(), response.aiMessage().text(), scores.score());
    }

    private String generate(TaskDefinition task, String text, Map<String, String> values) {
        return model.chat(ChatRequest.builder()
                .messages(SystemMessage.from(prompts.systemMessage(task.promptFile(), values)), UserMessage.from(text))
                .parameters(ChatRequestParameters.builder().temperature(0.0).maxOutputTokens(task.maxTokens()).build())
                .build()).aiMessage().text();
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A json task's schema as its file says (the override's, else the packaged one). */
    static JsonNode schema(PromptLibrary prompts, TaskDefinition task) {
        try {
            JsonNode schema = JSON.readTree(prompts.systemMessage(task.schemaFile()));
            JsonConstraint.forSchema(schema); // refuses what constrained decoding cannot enforce
            return schema;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("not JSON: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * Generated greedily under constrained decoding, so the text parses and follows the schema; an answer cut at
     * the task's max-tokens is an error, not a partial object.
     */
    private JsonNode json(TaskDefinition task, String text, Map<String, String> values) {
        ChatResponse response = model.chat(ChatRequest.builder()
                .messages(SystemMessage.from(prompts.systemMessage(task.promptFile(), values)), UserMessage.from(text))
                .parameters(ChatRequestParameters.builder().temperature(0.0).maxOutputTokens(task.maxTokens())
                        .responseFormat(ResponseFormat.builder().type(ResponseFormatType.JSON).jsonSchema(JsonSchema.builder()
                                .name(task.name()).rootElement(JsonRawSchema.from(schema(prompts, task).toString())).build()).build())
                        .build())
                .build());
        if (response.finishReason() == dev.langchain4j.model.output.FinishReason.LENGTH) {
            throw new IllegalStateException("Task '" + task.name() + "': the answer did not fit in its max-tokens ("
                    + task.maxTokens() + ")");
        }
        try {
            return JSON.readTree(response.aiMessage().text());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Task '" + task.name() + "' wrote no JSON despite its schema", e);
        }
    }

    /** One phrase per line (or comma), list markers and duplicates dropped, at most {@link #MAX_PHRASES}. */
    static List<String> phrases(String generated) {
        Set<String> phrases = new LinkedHashSet<>();
        for (String part : PHRASE_SEPARATORS.split(generated)) {
            String phrase = LIST_MARKER.matcher(part).replaceFirst("").strip();
            if (!phrase.isEmpty() && phrases.size() < MAX_PHRASES) {
                phrases.add(phrase);
            }
        }
        return new ArrayList<>(phrases);
    }
}
