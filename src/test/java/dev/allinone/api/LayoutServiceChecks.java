package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ai.PromptLibrary;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.tokenizer.ChatTemplate;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/** What every supported layout must do in the running service: used by the tests of each generated layout. */
final class LayoutServiceChecks {

    /** The sentiment task's answers as the model writes them (labels.properties). */
    static final List<String> SENTIMENT_WORDS = List.of("正面", "负面");

    private LayoutServiceChecks() {
    }

    /** A WebSocket turn: the sentiment label first, then the reply's tokens, then done; the reply's text. */
    static String webSocketTurn(URI chat, String text) throws Exception {
        try (WsClient ws = new WsClient(URI.create(chat.toString().replaceFirst("^http", "ws")))) {
            ws.send(text);
            List<JsonNode> frames = ws.turn();
            assertEquals("sentiment", frames.getFirst().path("type").asText(), frames.toString());
            assertTrue(List.of("POSITIVE", "NEGATIVE").contains(frames.getFirst().path("label").asText()), frames.toString());
            assertEquals("done", frames.getLast().path("type").asText(), frames.toString());
            List<JsonNode> middle = frames.subList(1, frames.size() - 1);
            assertFalse(middle.isEmpty(), frames.toString());
            assertTrue(middle.stream().allMatch(f -> f.path("type").asText().equals("token")), frames.toString());
            assertTrue(frames.getLast().path("tokens").asInt() > 0, frames.toString());
            return middle.stream().map(f -> f.path("text").asText()).collect(Collectors.joining());
        }
    }

    /**
     * /v1/chat/completions with {@code top_logprobs}: each reported token is a token of the reply (their bytes make its
     * content), with a log-probability, and the requested alternatives, likeliest first, the chosen one no likelier
     * than the first.
     */
    static JsonPath chatWithTopLogprobs(String model, String user, int top) {
        JsonPath answer = given().contentType(ContentType.JSON)
                .body(Map.of("model", model, "temperature", 0, "max_tokens", 12, "logprobs", true, "top_logprobs", top,
                        "messages", List.of(Map.of("role", "user", "content", user))))
                .post("/v1/chat/completions").then().statusCode(200).extract().jsonPath();
        List<Map<String, Object>> tokens = answer.getList("choices[0].logprobs.content");
        assertFalse(tokens.isEmpty(), answer.prettify());
        List<Byte> all = new ArrayList<>();
        for (Map<String, Object> token : tokens) {
            double logprob = ((Number) token.get("logprob")).doubleValue();
            assertTrue(logprob <= 0, answer.prettify());
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> alternatives = (List<Map<String, Object>>) token.get("top_logprobs");
            assertEquals(top, alternatives.size(), answer.prettify());
            for (int i = 1; i < alternatives.size(); i++) {
                assertTrue(((Number) alternatives.get(i - 1).get("logprob")).doubleValue() >= ((Number) alternatives.get(i).get("logprob")).doubleValue(),
                        answer.prettify());
            }
            assertTrue(logprob <= ((Number) alternatives.getFirst().get("logprob")).doubleValue() + 1e-6, answer.prettify());
            @SuppressWarnings("unchecked")
            List<Integer> tokenBytes = (List<Integer>) token.get("bytes");
            tokenBytes.forEach(b -> all.add((byte) (int) b));
        }
        byte[] raw = new byte[all.size()];
        IntStream.range(0, raw.length).forEach(i -> raw[i] = all.get(i));
        assertEquals(answer.getString("choices[0].message.content"), new String(raw, StandardCharsets.UTF_8), answer.prettify());
        return answer;
    }

    /**
     * The sentiment task's answer is the model's own preference between its label words: each word's log-likelihood
     * after the task's prompt, read back through /v1/completions with {@code echo} (the prompt's tokens scored one by
     * one, another path than the label scorer's), normalised over the two, gives the label and the score the task
     * answered. The words are single tokens of the vocabulary all three families share.
     */
    static void sentimentScoresAsTheModelsOwnLikelihoods(LoadedModel model, PromptLibrary prompts, String modelId, String text) {
        JsonPath answer = given().contentType(ContentType.JSON).body(Map.of("text", text)).post("/api/sentiment")
                .then().statusCode(200).extract().jsonPath();
        int[] prompt = model.template().encode(List.of(new ChatTemplate.Message("system", prompts.systemMessage("sentiment.txt")),
                new ChatTemplate.Message("user", text)), true, model.tokenizer());
        double[] logLikelihood = new double[SENTIMENT_WORDS.size()];
        for (int i = 0; i < logLikelihood.length; i++) {
            int[] word = model.tokenizer().encode(SENTIMENT_WORDS.get(i));
            assertEquals(1, word.length, SENTIMENT_WORDS.get(i) + " is one token");
            List<Integer> ids = IntStream.concat(IntStream.of(prompt), IntStream.of(word)).boxed().toList();
            JsonPath echoed = given().contentType(ContentType.JSON)
                    .body(Map.of("model", modelId, "prompt", ids, "max_tokens", 1, "temperature", 0, "logprobs", 0, "echo", true))
                    .post("/v1/completions").then().statusCode(200).extract().jsonPath();
            List<Float> logprobs = echoed.getList("choices[0].logprobs.token_logprobs", Float.class);
            logLikelihood[i] = logprobs.get(ids.size() - 1);
        }
        // Compared as the log-odds of 正面 over 负面: the scorer prefills the prompt in one chunk (many-row kernels), echo
        // runs it one position a step (one-row kernels), and at Q4 the two differ by up to ~0.015 in a logit
        // (GoldenLogitsTest's tiny Q4 cases), so up to twice that in a difference of two.
        double echoed = logLikelihood[0] - logLikelihood[1];
        double score = answer.getDouble("score");
        double answered = Math.log(score / (1 - score)) * (answer.getString("label").equals("POSITIVE") ? 1 : -1);
        String context = answer.prettify() + " vs log-odds of 正面 " + echoed;
        assertEquals(echoed, answered, LOG_ODDS_TOLERANCE, context);
        if (Math.abs(echoed) > LOG_ODDS_TOLERANCE) {
            assertEquals(echoed > 0 ? "POSITIVE" : "NEGATIVE", answer.getString("label"), context);
        }
    }

    /** Two Q4 kernels' difference in a difference of two logits (see above). */
    private static final double LOG_ODDS_TOLERANCE = 0.04;
}
