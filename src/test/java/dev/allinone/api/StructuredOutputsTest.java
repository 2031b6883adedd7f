package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.engine.TestModelFiles;
import dev.allinone.engine.sampling.json.BoundedSchemas;
import dev.allinone.engine.tokenizer.QwenTokenizer;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.json.JsonRawSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiChatRequestParameters;
import dev.langchain4j.model.output.FinishReason;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.io.InputStream;
import java.net.URL;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Answers a program can parse, on random weights (the golden tiny checkpoint, weights as stored): JSON-schema
 * constrained replies through LangChain4j's OpenAI client, {@code json_object}, refused schema keywords, the
 * {@code extract} task, and {@code /v1/completions} answering lm-evaluation-harness's loglikelihood request, whose
 * log-probabilities are checked against the independent reference's logits ({@code src/test/resources/golden/tiny.json}).
 */
@QuarkusTest
@TestProfile(StructuredOutputsTest.GoldenTiny.class)
class StructuredOutputsTest {

    private static final String MODEL = "Qwen1.5-0.5B-Chat";
    private static final int PER_SCHEMA = 100;
    private static final ObjectMapper JSON = new ObjectMapper();

    public static class GoldenTiny implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.goldenTiny().toString(), "allinone.model.weights", "AS_STORED");
        }
    }

    @TestHTTPResource("/v1")
    URL v1;

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    @Test
    void langChain4jStructuredOutputsValidateEveryTime() throws Exception {
        OpenAiChatModel client = OpenAiChatModel.builder().baseUrl(v1.toString()).apiKey("not-needed").modelName(MODEL)
                .maxRetries(0).strictJsonSchema(true).build();
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            for (String name : BoundedSchemas.names()) {
                String schema = BoundedSchemas.ALL.get(name);
                ResponseFormat format = ResponseFormat.builder().type(ResponseFormatType.JSON)
                        .jsonSchema(JsonSchema.builder().name(name).rootElement(JsonRawSchema.from(schema)).build()).build();
                List<Future<ChatResponse>> replies = new ArrayList<>();
                for (int i = 0; i < PER_SCHEMA; i++) {
                    int seed = i;
                    replies.add(pool.submit(() -> client.chat(ChatRequest.builder()
                            .messages(SystemMessage.from("只输出 JSON。"), UserMessage.from("客户李四：耳机左边没声音了。电话 555-0100"))
                            .parameters(OpenAiChatRequestParameters.builder().responseFormat(format).temperature(1.0).seed(seed)
                                    .maxOutputTokens(400).build())
                            .build())));
                }
                int valid = 0;
                for (Future<ChatResponse> f : replies) {
                    ChatResponse r = f.get();
                    assertEquals(FinishReason.STOP, r.finishReason(), name + ": " + r.aiMessage().text());
                    assertEquals("[]", BoundedSchemas.problems(schema, r.aiMessage().text()).toString(), name + ": " + r.aiMessage().text());
                    valid++;
                }
                assertEquals(PER_SCHEMA, valid, name);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void jsonObjectAnswersAreObjects() throws Exception {
        int complete = 0;
        for (int seed = 0; seed < 10; seed++) {
            JsonNode r = post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"seed\":" + seed + ",\"max_tokens\":300,"
                    + "\"response_format\":{\"type\":\"json_object\"},\"messages\":[{\"role\":\"user\",\"content\":\"JSON please\"}]}", 200);
            String text = r.at("/choices/0/message/content").asText();
            assertTrue(text.startsWith("{"), text);
            if (r.at("/choices/0/finish_reason").asText().equals("stop")) {
                assertTrue(JSON.readTree(text).isObject(), text);
                complete++;
            }
        }
        assertTrue(complete > 0, "some answers end within 300 tokens");
    }

    @Test
    void unsupportedSchemaKeywordsAreRefusedByName() {
        JsonNode e = post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"strict\":true,\"schema\":"
                + "{\"type\":\"object\",\"properties\":{\"phone\":{\"type\":\"string\",\"pattern\":\"^[0-9]+$\"}},"
                + "\"required\":[\"phone\"],\"additionalProperties\":false}}}}", 400);
        assertEquals("invalid_request_error", e.at("/error/type").asText());
        assertEquals("response_format.json_schema.schema.properties.phone", e.at("/error/param").asText());
        assertTrue(e.at("/error/message").asText().contains("'pattern'"), e.toString());
        JsonNode noSchema = post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\"}}}", 400);
        assertEquals("response_format.json_schema.schema", noSchema.at("/error/param").asText());
        post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"presence_penalty\":0.5,\"frequency_penalty\":0.3,\"max_tokens\":4}", 200);
        assertEquals("presence_penalty", post("/v1/chat/completions", "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"hi\"}],\"presence_penalty\":2.5}", 400).at("/error/param").asText());
    }

    @Test
    void theExtractTaskAnswersWithAParsedObject() throws Exception {
        String schema;
        try (InputStream in = getClass().getResourceAsStream("/prompts/extract.schema.json")) {
            schema = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        for (String text : List.of("我是王芳，电话13912345678，上周买的扫地机器人充不进电了。",
                "Hi, this is John Smith (555-0142). My new coffee maker leaks water everywhere.")) {
            JsonNode r = JSON.readTree(given().contentType(ContentType.JSON).body(Map.of("text", text)).post("/api/tasks/extract")
                    .then().statusCode(200).extract().asString());
            assertEquals("extract", r.path("task").asText());
            JsonNode answer = r.path("json");
            assertTrue(answer.isObject(), r.toString());
            assertEquals("[]", BoundedSchemas.problems(schema, answer.toString()).toString(), answer.toString());
            assertTrue(r.path("text").isMissingNode(), "the answer is the object, not text");
        }
        JsonNode tasks = JSON.readTree(given().get("/api/tasks").asString());
        assertTrue(tasks.toString().contains("\"extract\""), tasks.toString());
    }

    @Test
    void completionsAnswerLmEvalsLoglikelihoodRequestAsTheReferenceComputes() throws Exception {
        JsonNode golden;
        try (InputStream in = getClass().getResourceAsStream("/golden/tiny.json")) {
            golden = JSON.readTree(in);
        }
        JsonNode ids = golden.at("/reference/ids");
        int n = ids.size();
        QwenTokenizer tokenizer = QwenTokenizer.load(TestModelFiles.qwenTokenizerDir());
        // exactly what lm-evaluation-harness's local-completions sends for loglikelihood (tokenized requests)
        String body = "{\"model\": \"" + MODEL + "\", \"prompt\": [" + ids + "], \"temperature\": 0, \"max_tokens\": 1, "
                + "\"logprobs\": 1, \"seed\": 1234, \"echo\": true}";
        JsonNode r = post("/v1/completions", body, 200);
        assertEquals("text_completion", r.path("object").asText());
        JsonNode choice = r.at("/choices/0");
        JsonNode lp = choice.path("logprobs");
        assertEquals(n + 1, lp.path("tokens").size(), "the prompt's tokens, then the one written");
        assertEquals(n + 1, lp.path("token_logprobs").size());
        assertEquals(n + 1, lp.path("top_logprobs").size());
        assertTrue(lp.at("/token_logprobs/0").isNull(), "the first token has no log-probability");
        assertTrue(lp.at("/top_logprobs/0").isNull());
        assertEquals(n, r.at("/usage/prompt_tokens").asInt());
        assertTrue(choice.path("text").asText().startsWith(tokenizer.decode(ints(ids))), "echo: the prompt, then the reply");
        for (int i = 1; i <= n; i++) {
            JsonNode ref = position(golden, i - 1);
            double lse = ref.path("logsumexp").asDouble();
            JsonNode refTop = ref.path("top");
            JsonNode top = lp.at("/top_logprobs/" + i);
            assertEquals(1, top.size(), "logprobs: 1");
            String key = top.fieldNames().next();
            assertEquals(tokenizer.decode(new int[] {refTop.get(0).get(0).asInt()}), key, "position " + i);
            // the reference normalises over all 151,936 LM-head rows, we over the tokenizer's 151,646 ids
            assertEquals(refTop.get(0).get(1).asDouble() - lse, top.get(key).asDouble(), 5e-3, "position " + i);
            double chosen = lp.at("/token_logprobs/" + i).asDouble();
            assertTrue(chosen <= top.get(key).asDouble() + 1e-9, "the top-1 alternative is the likeliest");
            if (i < n) {
                for (JsonNode t : refTop) {
                    if (t.get(0).asInt() == ids.get(i).asInt()) {
                        assertEquals(t.get(1).asDouble() - lse, chosen, 5e-3, "prompt token " + i);
                    }
                }
            }
        }
        // lm-eval's parse_logprobs: the continuation's log-probability and whether it is greedy
        int ctxlen = n - 3;
        double sum = 0;
        boolean greedy = true;
        for (int i = ctxlen; i < n; i++) {
            double tok = lp.at("/token_logprobs/" + i).asDouble();
            sum += tok;
            greedy &= tok == lp.at("/top_logprobs/" + i).elements().next().asDouble();
        }
        assertTrue(sum < 0 && Double.isFinite(sum));
        assertTrue(!greedy || sum > -30, "a greedy continuation of random weights is unlikely but consistent");

        // five alternatives: their differences are the reference's logit differences (the normaliser cancels)
        JsonNode five = post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":" + ids + ",\"max_tokens\":1,"
                + "\"logprobs\":5,\"echo\":true,\"temperature\":0}", 200).at("/choices/0/logprobs");
        int comparedPositions = 0;
        for (int i = 1; i < n; i++) {
            JsonNode refTop = position(golden, i - 1).path("top");
            JsonNode top = five.at("/top_logprobs/" + i);
            List<String> keys = new ArrayList<>();
            top.fieldNames().forEachRemaining(keys::add);
            if (keys.size() < 5) {
                continue; // two of the five decode to the same text (partial characters)
            }
            double first = top.get(tokenizer.decode(new int[] {refTop.get(0).get(0).asInt()})).asDouble();
            for (int k = 1; k < 5; k++) {
                JsonNode value = top.get(tokenizer.decode(new int[] {refTop.get(k).get(0).asInt()}));
                assertTrue(value != null, "position " + i + ": the reference's #" + k + " is among the five: " + top);
                assertEquals(refTop.get(k).get(1).asDouble() - refTop.get(0).get(1).asDouble(), value.asDouble() - first, 2e-3,
                        "position " + i + " #" + k);
            }
            comparedPositions++;
        }
        assertTrue(comparedPositions > n / 2, "compared " + comparedPositions + " of " + n);
    }

    @Test
    void completionsTakeTextStopAndStream() throws Exception {
        JsonNode plain = post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Once upon a time\",\"max_tokens\":5,"
                + "\"temperature\":0}", 200);
        String text = plain.at("/choices/0/text").asText();
        assertEquals(5, plain.at("/usage/completion_tokens").asInt());
        assertTrue(plain.at("/choices/0/logprobs").isNull());
        JsonNode echoed = post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Once upon a time\",\"max_tokens\":5,"
                + "\"temperature\":0,\"echo\":true}", 200);
        assertEquals("Once upon a time" + text, echoed.at("/choices/0/text").asText());
        JsonNode two = post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":[\"Once upon a time\",\"从前\"],\"max_tokens\":3,"
                + "\"temperature\":0}", 200);
        assertEquals(2, two.path("choices").size());
        assertEquals(1, two.at("/choices/1/index").asInt());
        String streamed = given().contentType(ContentType.JSON).body("{\"model\":\"" + MODEL + "\",\"prompt\":\"Once upon a time\","
                + "\"max_tokens\":5,\"temperature\":0,\"stream\":true,\"logprobs\":0}").post("/v1/completions").then().statusCode(200)
                .extract().asString();
        StringBuilder joined = new StringBuilder();
        int logprobTokens = 0;
        String finish = null;
        for (String line : streamed.split("\n")) {
            if (line.startsWith("data: {")) {
                JsonNode chunk = JSON.readTree(line.substring(6));
                assertEquals("text_completion", chunk.path("object").asText());
                joined.append(chunk.at("/choices/0/text").asText());
                logprobTokens += chunk.at("/choices/0/logprobs/tokens").size();
                if (!chunk.at("/choices/0/finish_reason").isNull()) {
                    finish = chunk.at("/choices/0/finish_reason").asText();
                }
            }
        }
        assertTrue(streamed.strip().endsWith("data: [DONE]"));
        assertEquals(text, joined.toString());
        assertEquals(5, logprobTokens);
        assertEquals("length", finish);
        if (!text.isEmpty()) {
            String stop = text.substring(text.length() / 2, text.length() / 2 + 1);
            JsonNode stopped = post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":\"Once upon a time\",\"max_tokens\":5,"
                    + "\"temperature\":0,\"stop\":" + JSON.writeValueAsString(stop) + "}", 200);
            assertEquals(text.substring(0, text.indexOf(stop)), stopped.at("/choices/0/text").asText());
        }
        assertEquals("prompt[0][1]", post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":[[1,-5]]}", 400).at("/error/param").asText());
        assertEquals("logprobs", post("/v1/completions", "{\"model\":\"" + MODEL + "\",\"prompt\":\"x\",\"logprobs\":6}", 400).at("/error/param").asText());
        assertNotEquals(200, given().contentType(ContentType.JSON).body("{\"model\":\"" + MODEL + "\"}").post("/v1/completions").statusCode());
    }

    private static JsonNode position(JsonNode golden, int p) {
        for (Iterator<JsonNode> it = golden.at("/reference/positions").elements(); it.hasNext(); ) {
            JsonNode pos = it.next();
            if (pos.path("position").asInt() == p) {
                return pos;
            }
        }
        throw new AssertionError("no reference position " + p);
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    private static JsonNode post(String path, String body, int status) {
        try {
            return JSON.readTree(given().contentType(ContentType.JSON).body(body).post(path).then().statusCode(status).extract().asString());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
