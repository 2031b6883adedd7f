package dev.allinone.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Prompts are replaced from allinone.prompts.path without a rebuild. The scripted model always favours 正面;
 * an override that swaps the verbalisations makes the same model answer NEGATIVE.
 */
@QuarkusTest
@TestProfile(PromptOverrideTest.SwappedLabels.class)
class PromptOverrideTest {

    public static class SwappedLabels implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path dir = Files.createTempDirectory("prompts");
                Files.writeString(dir.resolve("labels.properties"), "Sentiment.POSITIVE=负面\nSentiment.NEGATIVE=正面\n");
                Files.writeString(dir.resolve("sentiment.txt"), "只回答正面或负面。");
                return Map.of("allinone.prompts.path", dir.toString(), "allinone.model.path", TestCheckpoints.tinyScripted().toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Inject
    SentimentService sentiment;

    @Inject
    PromptLibrary prompts;

    @Test
    void overriddenLabelsAndSystemPromptAreUsed() {
        ReadyService.await();
        assertEquals(Sentiment.NEGATIVE, sentiment.judge("刚拿到offer，超级开心！").label());
        assertEquals("只回答正面或负面。", prompts.systemMessage("sentiment.txt", "packaged"));
        assertEquals("packaged", prompts.systemMessage("chat.txt", "packaged"));
    }
}
