package dev.allinone.api;

import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.allinone.ReadyService;
import dev.allinone.ai.PromptLibrary;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.lifecycle.ModelRuntime;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;

import java.net.URI;
import java.util.Map;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The service on a Qwen2.5-like qwen2 ({@link TestCheckpoints#smallQwen25}: 6 query heads over 1 key/value head,
 * hidden 384 = 12 blocks of 32, not a multiple of 256), random weights at the default Q4 (the C kernels where the CPU
 * has them): a WebSocket turn, /v1 with top_logprobs, and the sentiment labels scored as the model's likelihoods.
 */
@QuarkusTest
@TestProfile(Qwen25ServiceTest.Qwen25.class)
class Qwen25ServiceTest {

    static final String MODEL = "Qwen1.5-0.5B-Chat";

    public static class Qwen25 implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.smallQwen25().toString(), "allinone.generation.max-new-tokens", "8");
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
    void aWebSocketTurnGivesTheLabelThenTheReply() throws Exception {
        assertFalse(LayoutServiceChecks.webSocketTurn(chat, "刚拿到offer，超级开心！").isEmpty());
    }

    @Test
    void chatCompletionsReportTopLogprobs() {
        LayoutServiceChecks.chatWithTopLogprobs(MODEL, "讲个笑话", 5);
    }

    @Test
    void theSentimentLabelsScoreAsTheModelsOwnLikelihoods() {
        LayoutServiceChecks.sentimentScoresAsTheModelsOwnLikelihoods(runtime.engine().model(), prompts, MODEL, "刚拿到offer，超级开心！");
    }
}
