package dev.allinone.ai;

import java.util.List;

/**
 * One prompt-defined task, as declared in {@code prompts/tasks.properties}.
 *
 * @param labels    the answers of a {@link Output#LABELS} task, in order (empty otherwise)
 * @param maxTokens the longest answer of a text, phrases or json task
 * @param variables request parameters its prompt uses as {@code {{name}}}
 */
public record TaskDefinition(String name, String description, Output output, List<String> labels, int maxTokens,
        List<String> variables) {

    public enum Output {
        /** One of a closed set, chosen by scoring each label's words: always a valid answer, with its probability. */
        LABELS,
        /** A short free text, written greedily. */
        TEXT,
        /** A list of short phrases, written one per line. */
        PHRASES,
        /** A JSON answer valid against the schema in {@link #schemaFile()}, written greedily under constrained decoding. */
        JSON
    }

    public TaskDefinition {
        labels = List.copyOf(labels);
        variables = List.copyOf(variables);
    }

    /** A json task's JSON schema, beside its prompt. */
    public String schemaFile() {
        return name + ".schema.json";
    }

    /** The system prompt's file name in the prompts directory. */
    public String promptFile() {
        return name + ".txt";
    }
}
