package dev.allinone.ai;

import dev.allinone.config.AllInOneConfig;
import dev.langchain4j.model.input.PromptTemplate;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The prompts in {@code src/main/resources/prompts/}, each replaceable without a rebuild by a file of the same
 * name in {@code allinone.prompts.path}. Override files are read on every use, so an edit applies to the next
 * request.
 */
@ApplicationScoped
public class PromptLibrary {

    static final String LABELS = "labels.properties";

    private final Optional<Path> overrideDir;
    private final Properties packagedLabels;
    private final Map<String, String> packagedPrompts = new ConcurrentHashMap<>();

    @Inject
    PromptLibrary(AllInOneConfig config) {
        this(config.prompts().path());
    }

    PromptLibrary(Optional<Path> overrideDir) {
        this.overrideDir = overrideDir;
        try (InputStream in = PromptLibrary.class.getResourceAsStream("/prompts/" + LABELS)) {
            this.packagedLabels = read(new InputStreamReader(in, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The override for a prompt file, if {@code allinone.prompts.path} has one. */
    public Optional<String> override(String fileName) {
        return overrideDir.map(dir -> dir.resolve(fileName)).filter(Files::isRegularFile).map(file -> {
            try {
                return Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot read prompt override " + file, e);
            }
        });
    }

    /** The system message to use: the override file if present, else the one the AI service declares. */
    public String systemMessage(String fileName, String declared) {
        return override(fileName).orElse(declared);
    }

    /** A task's system message as the service uses it: the override file if present, else the packaged prompt. */
    public String systemMessage(String fileName) {
        return override(fileName).orElseGet(() -> packagedPrompts.computeIfAbsent(fileName, PromptLibrary::packaged));
    }

    /**
     * A task's system message with its variables' values in place of their {@code {{name}}} (LangChain4j's
     * {@link PromptTemplate}); without values, the message as it is.
     */
    public String systemMessage(String fileName, Map<String, String> values) {
        String system = systemMessage(fileName);
        return values.isEmpty() ? system : PromptTemplate.from(system).apply(new LinkedHashMap<String, Object>(values)).text();
    }

    /** Read once: the packaged prompts never change, while the sentiment cache asks for its prompt on every call. */
    private static String packaged(String fileName) {
        try (InputStream in = PromptLibrary.class.getResourceAsStream("/prompts/" + fileName)) {
            if (in == null) {
                throw new IllegalArgumentException("No packaged prompt " + fileName);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The words the model writes for each answer of a closed-set task, e.g. (sentiment, [POSITIVE]) → [正面]; the labels
     * file is read once for all of them. An enum AI service's schema is its enum's name, and its task that name in
     * lower case.
     */
    public List<String> labels(String task, List<String> values) {
        Properties labels = override(LABELS).map(text -> read(new java.io.StringReader(text))).orElse(packagedLabels);
        String prefix = task.toLowerCase(Locale.ROOT) + ".";
        return values.stream().map(value -> labels.getProperty(prefix + value, value)).toList();
    }

    /** True if the prompt file is packaged or in {@code allinone.prompts.path}. */
    public boolean exists(String fileName) {
        return overrideDir.map(dir -> Files.isRegularFile(dir.resolve(fileName))).orElse(false)
                || PromptLibrary.class.getResource("/prompts/" + fileName) != null;
    }

    /**
     * A declaration file: the packaged one with the override's tasks in place of its own — every key of a task the
     * override mentions comes from the override.
     */
    public Properties declarations(String fileName) {
        Properties packaged = read(new java.io.StringReader(packaged(fileName)));
        Optional<Properties> override = override(fileName).map(text -> read(new java.io.StringReader(text)));
        if (override.isEmpty()) {
            return packaged;
        }
        Set<String> overridden = override.get().stringPropertyNames().stream().map(PromptLibrary::taskOf)
                .collect(java.util.stream.Collectors.toSet());
        Properties merged = new Properties();
        packaged.stringPropertyNames().stream().filter(k -> !overridden.contains(taskOf(k)))
                .forEach(k -> merged.setProperty(k, packaged.getProperty(k)));
        override.get().stringPropertyNames().forEach(k -> merged.setProperty(k, override.get().getProperty(k)));
        return merged;
    }

    /** The task a declaration key belongs to: {@code intent} for {@code intent.labels}. */
    private static String taskOf(String key) {
        return key.substring(0, Math.max(0, key.indexOf('.')));
    }

    /**
     * Changes whenever what a closed-set task's answer depends on does: its system prompt as sent (after its
     * variables' values are put in) or its label words (override files are read on every use, so an edit makes a new
     * version at once).
     */
    public String version(String task, String systemPrompt, List<String> labels) {
        StringBuilder key = new StringBuilder(systemPrompt);
        List<String> words = labels(task, labels);
        for (int i = 0; i < labels.size(); i++) {
            key.append('\u0000').append(labels.get(i)).append('=').append(words.get(i));
        }
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(key.toString().getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(digest, 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Properties read(Reader reader) {
        Properties p = new Properties();
        try {
            p.load(reader);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }
}
