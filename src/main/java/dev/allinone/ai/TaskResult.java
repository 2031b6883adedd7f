package dev.allinone.ai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;

/**
 * A task's answer: a label with its probability (labels tasks), a text, phrases, or a parsed JSON object (json
 * tasks) — the fields of the other outputs are null (and left out of its JSON).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TaskResult(String task, String label, Double score, String text, List<String> phrases, JsonNode json) {

    static TaskResult label(String task, String label, double score) {
        return new TaskResult(task, label, score, null, null, null);
    }

    static TaskResult text(String task, String text) {
        return new TaskResult(task, null, null, text, null, null);
    }

    static TaskResult phrases(String task, List<String> phrases) {
        return new TaskResult(task, null, null, null, List.copyOf(phrases), null);
    }

    static TaskResult json(String task, JsonNode json) {
        return new TaskResult(task, null, null, null, null, json);
    }
}
