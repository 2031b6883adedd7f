package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.ReadyService;
import dev.allinone.ai.PromptLibrary;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.lifecycle.ModelRuntime;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;

import java.net.URI;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The service on a Qwen3 ({@link TestCheckpoints#tinyQwen3Thinking}: Qwen3-0.6B's tokenizer files and template,
 * scripted to think when let and then answer), at the default Q4: thinking off for the chat and the tasks, on when a
 * /v1 request asks, its thinking never in the reply; the model id from the directory when no name is set.
 */
@QuarkusTest
@TestProfile(Qwen3ServiceTest.Qwen3.class)
class Qwen3ServiceTest {

    /** The directory's name: no allinone.model.name (an empty value is no value). */
    static final String MODEL = "tiny-qwen3-thinking";

    public static class Qwen3 implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyQwen3Thinking().toString(), "allinone.model.name", "");
        }
    }

    @Inject
    ModelRuntime runtime;

    @Inject
    PromptLibrary prompts;

    @TestHTTPResource("/chat")
    URI chat;

    private final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    @Test
    void theModelIdIsTheDirectorysName() {
        given().get("/v1/models").then().statusCode(200).body("data[0].id", equalTo(MODEL));
    }

    @Test
    void aWebSocketTurnAnswersWithoutThinking() throws Exception {
        assertEquals(TestCheckpoints.QWEN3_ANSWER, LayoutServiceChecks.webSocketTurn(chat, "二加二等于几？"));
    }

    @Test
    void chatCompletionsWithTopLogprobsAnswerWithoutThinking() {
        JsonPath answer = LayoutServiceChecks.chatWithTopLogprobs(MODEL, "二加二等于几？", 3);
        assertEquals(TestCheckpoints.QWEN3_ANSWER, answer.getString("choices[0].message.content"), answer.prettify());
        assertNull(answer.get("choices[0].message.reasoning_content"), answer.prettify());
    }

    @Test
    void enableThinkingLetsItThinkAndTheThoughtComesApart() {
        JsonPath answer = given().contentType(ContentType.JSON).body(thinkingRequest(false)).post("/v1/chat/completions")
                .then().statusCode(200).extract().jsonPath();
        assertEquals(TestCheckpoints.QWEN3_ANSWER, answer.getString("choices[0].message.content"), answer.prettify());
        assertEquals(TestCheckpoints.QWEN3_THOUGHT, answer.getString("choices[0].message.reasoning_content"), answer.prettify());
        assertTrue(answer.getInt("usage.completion_tokens") > TestCheckpoints.QWEN3_ANSWER.length(), "the thinking's tokens count");
    }

    @Test
    void aStreamedThoughtComesAsReasoningDeltasBeforeTheContent() throws Exception {
        String body = given().contentType(ContentType.JSON).body(thinkingRequest(true)).post("/v1/chat/completions")
                .then().statusCode(200).extract().asString();
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder();
        for (String line : body.split("\n")) {
            if (!line.startsWith("data: {")) {
                continue;
            }
            JsonNode delta = json.readTree(line.substring("data: ".length())).path("choices").path(0).path("delta");
            if (delta.hasNonNull("reasoning_content")) {
                assertTrue(content.isEmpty(), "reasoning before content: " + body);
                reasoning.append(delta.path("reasoning_content").asText());
            }
            content.append(delta.path("content").asText(""));
        }
        assertEquals(TestCheckpoints.QWEN3_THOUGHT, reasoning.toString(), body);
        assertEquals(TestCheckpoints.QWEN3_ANSWER, content.toString(), body);
        assertFalse(body.contains("think>"), body);
    }

    private static Map<String, Object> thinkingRequest(boolean stream) {
        return Map.of("model", MODEL, "temperature", 0, "stream", stream, "chat_template_kwargs", Map.of("enable_thinking", true),
                "messages", List.of(Map.of("role", "user", "content", "二加二等于几？")));
    }

    @Test
    void chatTemplateKwargsOtherThanEnableThinkingAreRefusedByName() {
        given().contentType(ContentType.JSON).body(Map.of("model", MODEL, "chat_template_kwargs", Map.of("tools_mode", "x"),
                        "messages", List.of(Map.of("role", "user", "content", "hi"))))
                .post("/v1/chat/completions").then().statusCode(400)
                .body("error.param", equalTo("chat_template_kwargs.tools_mode"));
        given().contentType(ContentType.JSON).body(Map.of("model", MODEL, "chat_template_kwargs", Map.of("enable_thinking", "yes"),
                        "messages", List.of(Map.of("role", "user", "content", "hi"))))
                .post("/v1/chat/completions").then().statusCode(400)
                .body("error.param", equalTo("chat_template_kwargs.enable_thinking"));
    }

    @Test
    void theSentimentLabelsScoreAsTheModelsOwnLikelihoodsAfterTheEmptyThinkBlock() {
        LayoutServiceChecks.sentimentScoresAsTheModelsOwnLikelihoods(runtime.engine().model(), prompts, MODEL, "这破电脑又蓝屏了");
    }
}
