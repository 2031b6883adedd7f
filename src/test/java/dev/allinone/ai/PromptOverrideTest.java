package dev.allinone.ai;

import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItems;

import io.restassured.http.ContentType;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.allinone.ReadyService;
import dev.allinone.config.AllInOneConfig;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.lifecycle.ModelRuntime;
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
 * an override that swaps the verbalisations makes the same model answer NEGATIVE — and a cached answer does not
 * outlive the words it was given under.
 */
@QuarkusTest
@TestProfile(PromptOverrideTest.SwappedLabels.class)
class PromptOverrideTest {

    static final String LABELS = "sentiment.POSITIVE=负面\nsentiment.NEGATIVE=正面\npoliteness.polite=正面\npoliteness.rude=负面\n";

    public static class SwappedLabels implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path dir = Files.createTempDirectory("prompts");
                Files.writeString(dir.resolve("labels.properties"), LABELS);
                Files.writeString(dir.resolve("sentiment.txt"), "只回答正面或负面。");
                // a new task by files alone: its declaration, its prompt, its label words
                Files.writeString(dir.resolve("tasks.properties"), "politeness.output=labels\npoliteness.labels=polite,rude\n"
                        + "politeness.description=Is the text polite?\n");
                Files.writeString(dir.resolve("politeness.txt"), "判断这句话是否礼貌。只回答：正面 或 负面。");
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

    @Inject
    ModelRuntime runtime;

    @Inject
    AllInOneConfig config;

    /**
     * The same text under the same prompt is answered from the cache (no scoring on the model, a hit counted);
     * editing the labels file makes it a new question, answered by the model under the new words.
     */
    @Test
    void answersAreCachedUntilThePromptOrTheLabelsChange() throws Exception {
        ReadyService.await();
        Path labels = config.prompts().path().orElseThrow().resolve("labels.properties");
        String text = "缓存测试：今天的会议取消了";
        long scorings = runtime.engine().scoringsDone();
        double hits = cacheGets("hit");
        Sentiment first = sentiment.judge(text).label();
        assertEquals(scorings + 1, runtime.engine().scoringsDone());
        assertEquals(first, sentiment.judge(text).label());
        assertEquals(first, sentiment.judge("  " + text + "  ").label(), "the cleaned text is the key");
        assertEquals(scorings + 1, runtime.engine().scoringsDone(), "answered from the cache");
        assertEquals(hits + 2, cacheGets("hit"), 0.0);

        String swapped = Files.readString(labels);
        try {
            Files.writeString(labels, LABELS.replace("POSITIVE=负面", "POSITIVE=正面").replace("NEGATIVE=正面", "NEGATIVE=负面"));
            Sentiment afterEdit = sentiment.judge(text).label();
            assertEquals(scorings + 2, runtime.engine().scoringsDone(), "a new label file is a new question");
            assertEquals(Sentiment.POSITIVE, afterEdit, "the scripted model favours 正面, now POSITIVE's word");
        } finally {
            Files.writeString(labels, swapped);
        }
    }

    private static double cacheGets(String result) {
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        return metrics.lines().filter(l -> l.startsWith("cache_gets_total{") && l.contains("cache=\"task-results\"")
                        && l.contains("result=\"" + result + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void overriddenLabelsAndSystemPromptAreUsed() {
        ReadyService.await();
        assertEquals(Sentiment.NEGATIVE, sentiment.judge("刚拿到offer，超级开心！").label());
        assertEquals("只回答正面或负面。", prompts.systemMessage("sentiment.txt", "packaged"));
        assertEquals("packaged", prompts.systemMessage("chat.txt", "packaged"));
    }

    /** A task added with three files and no Java: listed beside the packaged ones and answered by label scoring. */
    @Test
    void aTaskDeclaredInTheOverrideDirectoryRuns() {
        ReadyService.await();
        given().get("/api/tasks").then().statusCode(200)
                .body("name", hasItems("sentiment", "intent", "keywords", "summary", "translate", "politeness"))
                .body("find { it.name == 'politeness' }.labels", contains("polite", "rude"))
                .body("find { it.name == 'politeness' }.output", equalTo("labels"));
        given().contentType(ContentType.JSON).body("{\"text\":\"请问您方便吗？\"}").post("/api/tasks/politeness")
                .then().statusCode(200).body("label", equalTo("polite")).body("score", greaterThan(0.99f));
    }
}
