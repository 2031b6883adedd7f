package dev.allinone.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Defaults are stated once, in {@link AllInOneConfig}; the tables in docs/configuration.md and the README must say
 * the same, and docs/configuration.md must list every key the mapping has.
 */
public class DocumentedDefaultsTest {

    private static final Pattern ROW = Pattern.compile("^\\| `(allinone\\.[a-z0-9.-]+)`[^|]*\\| `([^`]+)`", Pattern.MULTILINE);

    /** The mapping alone, with Quarkus' converters for durations ("8s") and sizes ("192M"). */
    public static final SmallRyeConfig DEFAULTS = new SmallRyeConfigBuilder().withMapping(AllInOneConfig.class)
            .withConverter(Duration.class, 200, new DurationConverter())
            .withConverter(MemorySize.class, 200, new MemorySizeConverter()).build();

    @Test
    void theDocumentedDefaultsAreTheEffectiveOnes() throws IOException {
        for (Path doc : new Path[] {Path.of("docs", "configuration.md"), Path.of("README.md")}) {
            Map<String, String> documented = documentedDefaults(doc);
            assertTrue(documented.size() >= (doc.endsWith("README.md") ? 6 : 20), doc + " documents only " + documented.keySet());
            documented.forEach((key, value) ->
                    assertEquals(value, DEFAULTS.getConfigValue(key).getValue(), doc + " says " + key + " = " + value));
        }
    }

    @Test
    void everyKeyOfTheMappingIsDocumented() throws IOException {
        String doc = Files.readString(Path.of("docs", "configuration.md"));
        List<String> keys = keys(AllInOneConfig.class, "allinone.");
        assertTrue(keys.size() >= 25, keys.toString());
        for (String key : keys) {
            String last = key.substring(key.lastIndexOf('.'));
            assertTrue(doc.contains("`" + key + "`") || doc.contains("`" + last + "`"), "docs/configuration.md lacks " + key);
        }
    }

    /** The mapping's keys: its methods in kebab case, groups (nested interfaces) followed into. */
    private static List<String> keys(Class<?> group, String prefix) {
        List<String> keys = new ArrayList<>();
        for (Method m : group.getDeclaredMethods()) {
            String name = prefix + m.getName().replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
            if (m.getReturnType().isInterface() && m.getReturnType().getEnclosingClass() == AllInOneConfig.class) {
                keys.addAll(keys(m.getReturnType(), name + "."));
            } else {
                keys.add(name);
            }
        }
        return keys;
    }

    private static Map<String, String> documentedDefaults(Path doc) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = ROW.matcher(Files.readString(doc));
        while (m.find()) {
            out.put(m.group(1), m.group(2).replaceAll(" \\(.*\\)$", ""));
        }
        return out;
    }
}
