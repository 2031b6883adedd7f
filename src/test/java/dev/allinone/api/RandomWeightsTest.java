package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ReadyService;
import dev.allinone.ai.PromptLibrary;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.LabelScores;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.lifecycle.ModelRuntime;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * On random weights, where every token of the prompt moves the answer and sampling spreads over many tokens: a
 * {@code seed} repeats a sampled reply and another seed changes it; a labels task's parameter is part of its prompt
 * and of its cached answer's key; a reply that reaches the context length ends as documented on each door.
 */
@QuarkusTest
@TestProfile(RandomWeightsTest.RandomWeights.class)
class RandomWeightsTest {

    static final int CONTEXT = 256;
    /** A labels task declared with a variable (files only, in allinone.prompts.path). */
    static final String TONE_PROMPT = "判断这句话写给{{audience}}是否合适。只回答 fits 或 misfits。";

    public static class RandomWeights implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path dir = Files.createTempDirectory("prompts");
                Files.writeString(dir.resolve("tasks.properties"), "tone.output=labels\ntone.labels=fits,misfits\n"
                        + "tone.variables=audience\ntone.description=Does the text suit the audience given as 'audience'?\n");
                Files.writeString(dir.resolve("tone.txt"), TONE_PROMPT);
                return Map.of("allinone.model.path", TestCheckpoints.tinyRandom().toString(), "allinone.prompts.path", dir.toString(),
                        "allinone.model.context-length", String.valueOf(CONTEXT), "allinone.generation.max-new-tokens", "100000");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Inject
    ModelRuntime runtime;

    @Inject
    PromptLibrary prompts;

    @TestHTTPResource("/chat")
    URI chat;

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    @Test
    void aSeedRepeatsASampledReplyAndAnotherSeedChangesIt() {
        String first = sampled(42);
        assertEquals(first, sampled(42), "the same seed, the same reply");
        assertNotEquals(first, sampled(43), "another seed, another reply");
        assertNotEquals(sampled(44), sampled(45), "another seed, another reply");
    }

    private String sampled(long seed) {
        return given().contentType(ContentType.JSON).body("{\"model\":\"Qwen1.5-0.5B-Chat\",\"temperature\":1.5,\"seed\":" + seed
                        + ",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"讲个笑话\"}]}")
                .post("/v1/chat/completions").then().statusCode(200).extract().path("choices[0].message.content");
    }

    /**
     * Two values of the parameter are two prompts, each answered by the engine's own scoring of the prompt with the
     * value in place, and two questions for the cache; the same value again is answered from the cache.
     */
    @Test
    void aLabelsTasksParameterIsInItsPromptAndInItsCacheKey() throws Exception {
        String text = "明天下午三点开会，请准时参加。";
        long scorings = runtime.engine().scoringsDone();
        JsonPath teacher = tone(text, "老师");
        JsonPath friend = tone(text, "朋友");
        assertEquals(scorings + 2, runtime.engine().scoringsDone(), "another value is another question");
        assertEquals(teacher.getFloat("score"), tone(text, "老师").getFloat("score"));
        assertEquals(scorings + 2, runtime.engine().scoringsDone(), "the same value again is answered from the cache");

        assertScoredWith(text, "老师", teacher);
        assertScoredWith(text, "朋友", friend);
        assertNotEquals(teacher.getFloat("score"), friend.getFloat("score"), "two prompts, two answers");
    }

    private static JsonPath tone(String text, String audience) {
        return given().contentType(ContentType.JSON).body(Map.of("text", text, "params", Map.of("audience", audience)))
                .post("/api/tasks/tone").then().statusCode(200).extract().jsonPath();
    }

    private void assertScoredWith(String text, String audience, JsonPath answer) throws Exception {
        InferenceEngine engine = runtime.engine();
        List<String> labels = List.of("fits", "misfits");
        int[] prompt = engine.model().template().encode(List.of(
                new ChatTemplate.Message("system", TONE_PROMPT.replace("{{audience}}", audience)),
                new ChatTemplate.Message("user", text)), true, engine.model().tokenizer());
        LabelScores expected = engine.scoreLabels(prompt, prompts.labels("tone", labels)).get(30, TimeUnit.SECONDS);
        assertEquals(labels.get(expected.bestIndex()), answer.getString("label"), audience);
        assertEquals((float) expected.bestProbability(), answer.getFloat("score"), audience);
    }

    /** Qwen1.5's layout (tiny): the sentiment words score as the model's own likelihoods (as on Qwen3 and Qwen2.5's). */
    @Test
    void theSentimentLabelsScoreAsTheModelsOwnLikelihoods() {
        LayoutServiceChecks.sentimentScoresAsTheModelsOwnLikelihoods(runtime.engine().model(), prompts, "Qwen1.5-0.5B-Chat",
                "刚拿到offer，超级开心！");
    }

    /** At the context length a reply ends: finish_reason length on /v1, finish context_full on the WebSocket. */
    @Test
    void aReplyThatReachesTheContextLengthEndsAsDocumented() throws Exception {
        JsonPath answer = given().contentType(ContentType.JSON).body("{\"model\":\"Qwen1.5-0.5B-Chat\",\"temperature\":0,"
                        + "\"messages\":[{\"role\":\"system\",\"content\":\"简短\"},{\"role\":\"user\",\"content\":\"讲个很长的故事\"}]}")
                .post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        assertEquals("length", answer.getString("choices[0].finish_reason"), answer.prettify());
        assertEquals(CONTEXT, answer.getInt("usage.total_tokens"), answer.prettify());

        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send("讲个很长的故事");
            List<JsonNode> frames = ws.turn();
            JsonNode done = frames.getLast();
            assertEquals("done", done.path("type").asText(), done.toString());
            assertEquals("context_full", done.path("finish").asText(), done.toString());
            assertTrue(done.path("tokens").asInt() > 0 && done.path("tokens").asInt() < CONTEXT, done.toString());
        }
    }
}
