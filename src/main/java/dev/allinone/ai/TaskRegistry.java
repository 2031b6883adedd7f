package dev.allinone.ai;

import jakarta.enterprise.context.ApplicationScoped;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The tasks declared in {@code prompts/tasks.properties} (and the same file in {@code allinone.prompts.path}, whose
 * lines win task by task), read once at start-up. A declaration that cannot work — an unknown output type, a labels
 * task without labels, a missing prompt file — stops the start with a message naming the line.
 */
@ApplicationScoped
public class TaskRegistry {

    public static final String FILE = "tasks.properties";
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]{0,31}");
    private static final List<String> KEYS = List.of("output", "labels", "max-tokens", "variables", "description");

    private final Map<String, TaskDefinition> tasks;

    TaskRegistry(PromptLibrary prompts) {
        this.tasks = read(prompts.declarations(FILE), prompts);
    }

    public Collection<TaskDefinition> all() {
        return tasks.values();
    }

    public Optional<TaskDefinition> find(String name) {
        return Optional.ofNullable(tasks.get(name));
    }

    /** @throws UnknownTaskException naming the tasks there are */
    public TaskDefinition require(String name) {
        return find(name).orElseThrow(() -> new UnknownTaskException(name, tasks.keySet()));
    }

    private static Map<String, TaskDefinition> read(Properties p, PromptLibrary prompts) {
        TreeSet<String> names = new TreeSet<>();
        for (String key : p.stringPropertyNames()) {
            int dot = key.indexOf('.');
            if (dot < 0 || !KEYS.contains(key.substring(dot + 1))) {
                throw invalid(key, "expected <task>.<" + String.join("|", KEYS) + ">");
            }
            names.add(key.substring(0, dot));
        }
        Map<String, TaskDefinition> tasks = new LinkedHashMap<>();
        // sentiment first (the chat's default analysis), then in name order
        List<String> ordered = new ArrayList<>(names);
        if (ordered.remove("sentiment")) {
            ordered.addFirst("sentiment");
        }
        for (String name : ordered) {
            tasks.put(name, definition(name, p, prompts));
        }
        return tasks;
    }

    private static TaskDefinition definition(String name, Properties p, PromptLibrary prompts) {
        if (!NAME.matcher(name).matches()) {
            throw invalid(name, "a task name is lower-case letters, digits and '-' (at most 32)");
        }
        String outputText = p.getProperty(name + ".output");
        if (outputText == null) {
            throw invalid(name + ".output", "missing (labels, text, phrases or json)");
        }
        TaskDefinition.Output output;
        try {
            output = TaskDefinition.Output.valueOf(outputText.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw invalid(name + ".output", "'" + outputText + "' is not labels, text, phrases or json");
        }
        List<String> labels = list(p.getProperty(name + ".labels"));
        if (output == TaskDefinition.Output.LABELS && labels.size() < 2) {
            throw invalid(name + ".labels", "a labels task needs at least two labels");
        }
        int maxTokens = 0;
        if (output != TaskDefinition.Output.LABELS) {
            try {
                maxTokens = Integer.parseInt(p.getProperty(name + ".max-tokens", "").strip());
            } catch (NumberFormatException e) {
                maxTokens = 0;
            }
            if (maxTokens < 1) {
                throw invalid(name + ".max-tokens", "a text, phrases or json task needs a positive max-tokens");
            }
        }
        TaskDefinition task = new TaskDefinition(name, p.getProperty(name + ".description", name).strip(), output, labels,
                maxTokens, list(p.getProperty(name + ".variables")));
        if (!prompts.exists(task.promptFile())) {
            throw invalid(name, "its prompt " + task.promptFile() + " is neither packaged nor in allinone.prompts.path");
        }
        if (output == TaskDefinition.Output.JSON) {
            if (!prompts.exists(task.schemaFile())) {
                throw invalid(name, "a json task needs its schema " + task.schemaFile() + " beside its prompt");
            }
            try {
                TaskRunner.schema(prompts, task);
            } catch (RuntimeException e) {
                throw invalid(name, task.schemaFile() + ": " + e.getMessage());
            }
        }
        return task;
    }

    private static List<String> list(String value) {
        return value == null ? List.of() : Arrays.stream(value.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    private static IllegalStateException invalid(String key, String problem) {
        return new IllegalStateException("prompts/" + FILE + ": " + key + ": " + problem);
    }
}
