package dev.allinone.ai;

import dev.allinone.config.AllInOneConfig;
import jakarta.enterprise.context.ApplicationScoped;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
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

    PromptLibrary(AllInOneConfig config) {
        this.overrideDir = config.prompts().path();
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

    /** The words the model writes for an answer of a closed-set AI service, e.g. Sentiment.POSITIVE → 正面. */
    public String label(String schemaName, String value) {
        Properties labels = override(LABELS).map(text -> read(new java.io.StringReader(text))).orElse(packagedLabels);
        return labels.getProperty(schemaName + "." + value, value);
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
