package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasSize;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.ReadyService;
import dev.allinone.ScriptedModelResource;
import dev.allinone.engine.TestCheckpoints;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.ModelNotFoundException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.LogProb;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiChatRequestParameters;
import dev.langchain4j.model.openai.OpenAiChatResponseMetadata;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;

import java.io.ByteArrayOutputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The OpenAI-compatible API through LangChain4j's own OpenAI client (plain and streaming chat models) and through
 * raw HTTP for the wire format. The scripted checkpoint replies {@link TestCheckpoints#SCRIPTED_REPLY} to any prompt.
 */
@QuarkusTest
@QuarkusTestResource(ScriptedModelResource.class)
class OpenAiApiTest {

    private static final String MODEL = "Qwen1.5-0.5B-Chat";
    private static final String REPLY = TestCheckpoints.SCRIPTED_REPLY;

    @TestHTTPResource("/v1")
    URL v1;

    private final ObjectMapper json = new ObjectMapper();

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    private OpenAiChatModel.OpenAiChatModelBuilder client() {
        return OpenAiChatModel.builder().baseUrl(v1.toString()).apiKey("not-needed").modelName(MODEL).maxRetries(0);
    }

    private OpenAiStreamingChatModel.OpenAiStreamingChatModelBuilder streamingClient() {
        return OpenAiStreamingChatModel.builder().baseUrl(v1.toString()).apiKey("not-needed").modelName(MODEL);
    }

    @Test
    void modelsListsTheServedModel() {
        given().get("/v1/models").then().statusCode(200)
                .body("object", equalTo("list")).body("data", hasSize(1))
                .body("data[0].id", equalTo(MODEL)).body("data[0].object", equalTo("model"));
        given().get("/v1/models/" + MODEL).then().statusCode(200).body("id", equalTo(MODEL));
        given().get("/v1/models/gpt-4o").then().statusCode(404).body("error.code", equalTo("model_not_found"));
    }

    @Test
    void theLangChain4jClientChats() {
        ChatResponse response = client().build().chat(ChatRequest.builder()
                .messages(SystemMessage.from("你是一个助手"), UserMessage.from("刚拿到offer，超级开心！")).build());
        assertEquals(REPLY, response.aiMessage().text());
        assertEquals(FinishReason.STOP, response.finishReason());
        assertEquals(replyTokens(), response.tokenUsage().outputTokenCount());
        assertTrue(response.tokenUsage().inputTokenCount() > 10, "prompt tokens: " + response.tokenUsage());
        assertEquals(response.tokenUsage().inputTokenCount() + response.tokenUsage().outputTokenCount(),
                response.tokenUsage().totalTokenCount());
        assertEquals(MODEL, response.modelName());
    }

    @Test
    void theLangChain4jStreamingClientStreamsTheSameReply() throws Exception {
        List<String> partials = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streamingClient().build().chat(List.of(UserMessage.from("今天被领导批评了")), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                partials.add(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(30, TimeUnit.SECONDS);
        assertEquals(REPLY, String.join("", partials));
        assertTrue(partials.size() > 3, "streamed in pieces: " + partials);
        assertFalse(partials.stream().anyMatch(p -> p.contains("\uFFFD")), "no piece splits a character: " + partials);
        assertEquals(REPLY, response.aiMessage().text());
        assertEquals(FinishReason.STOP, response.finishReason());
        assertEquals(replyTokens(), response.tokenUsage().outputTokenCount());
    }

    @Test
    void maxTokensAndStopEndTheReplyWithTheirFinishReasons() {
        ChatResponse cut = client().maxTokens(3).build().chat(ChatRequest.builder().messages(UserMessage.from("你好")).build());
        assertEquals(FinishReason.LENGTH, cut.finishReason());
        assertEquals(3, cut.tokenUsage().outputTokenCount());
        assertTrue(REPLY.startsWith(cut.aiMessage().text()) && !cut.aiMessage().text().isEmpty(), cut.aiMessage().text());

        ChatResponse stopped = client().stop(List.of("恭喜", "never")).build()
                .chat(ChatRequest.builder().messages(UserMessage.from("你好")).build());
        assertEquals(REPLY.substring(0, REPLY.indexOf("恭喜")), stopped.aiMessage().text());
        assertEquals(FinishReason.STOP, stopped.finishReason());
    }

    @Test
    void logprobsAreTheChosenTokensWithTheirBytesAndTheLikeliestAlternatives() {
        ChatResponse response = client().build().chat(ChatRequest.builder().messages(UserMessage.from("你好"))
                .parameters(OpenAiChatRequestParameters.builder().temperature(0.0).logprobs(true).topLogprobs(3).build()).build());
        List<LogProb> tokens = ((OpenAiChatResponseMetadata) response.metadata()).logProbs();
        assertEquals(replyTokens(), tokens.size());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (LogProb token : tokens) {
            token.bytes().forEach(bytes::write);
            assertTrue(token.logprob() <= 0, token.toString());
            assertEquals(3, token.topLogprobs().size());
            // greedy: the chosen token is the likeliest, and the alternatives come likeliest first
            assertEquals(token.token(), token.topLogprobs().getFirst().token());
            assertEquals(token.logprob(), token.topLogprobs().getFirst().logprob(), 1e-9);
            for (int i = 1; i < 3; i++) {
                assertTrue(token.topLogprobs().get(i).logprob() <= token.topLogprobs().get(i - 1).logprob());
            }
        }
        // the emoji is four one-byte tokens: only their bytes together make the text
        assertEquals(REPLY, bytes.toString(StandardCharsets.UTF_8));
        assertTrue(tokens.stream().anyMatch(t -> t.bytes().size() == 1 && t.bytes().getFirst() >= 0x80));
    }

    /**
     * A stop string ends the content before it, in the JSON answer and on the stream, and the log-probabilities are
     * those of the content's tokens: 恭喜 is a token of its own; 😄 is four one-byte tokens, the first three of which
     * make no text until the fourth completes the character that begins the stop string.
     */
    @Test
    void aStopStringCutsTheContentAndItsLogprobsInTheAnswerAndOnTheStream() throws Exception {
        for (String stop : List.of("恭喜", "😄")) {
            String content = REPLY.substring(0, REPLY.indexOf(stop));
            String request = "{\"model\":\"" + MODEL + "\",\"stop\":[\"never\",\"" + stop + "\"],\"logprobs\":true,\"top_logprobs\":1,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"你好\"}]";
            JsonNode whole = json.readTree(given().contentType(ContentType.JSON).body(request + "}").post("/v1/chat/completions")
                    .then().statusCode(200).extract().asString());
            assertEquals(content, whole.at("/choices/0/message/content").asText(), whole.toString());
            assertEquals("stop", whole.at("/choices/0/finish_reason").asText());
            assertEquals(content, bytesOf(whole.at("/choices/0/logprobs/content")), "the logprobs of " + stop + ": " + whole);

            List<JsonNode> chunks = chunks(given().contentType(ContentType.JSON).body(request + ",\"stream\":true}")
                    .post("/v1/chat/completions").then().statusCode(200).contentType("text/event-stream").extract().asString());
            StringBuilder streamed = new StringBuilder();
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (JsonNode chunk : chunks) {
                streamed.append(chunk.at("/choices/0/delta/content").asText(""));
                writeBytes(chunk.at("/choices/0/logprobs/content"), bytes);
            }
            assertEquals(content, streamed.toString(), chunks.toString());
            assertEquals(content, bytes.toString(StandardCharsets.UTF_8), "the streamed logprobs of " + stop + ": " + chunks);
            assertEquals("stop", chunks.getLast().at("/choices/0/finish_reason").asText(), chunks.toString());
        }
    }

    /** The log-probabilities' tokens' bytes together, as text. */
    private static String bytesOf(JsonNode tokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        writeBytes(tokens, bytes);
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static void writeBytes(JsonNode tokens, ByteArrayOutputStream out) {
        for (JsonNode token : tokens) {
            token.get("bytes").forEach(b -> out.write(b.asInt()));
        }
    }

    /** The JSON chunks of an SSE body that ends with data: [DONE]. */
    private List<JsonNode> chunks(String body) throws Exception {
        List<String> data = body.lines().filter(l -> !l.isEmpty()).toList();
        assertTrue(data.stream().allMatch(l -> l.startsWith("data: ")), body);
        assertEquals("data: [DONE]", data.getLast(), body);
        List<JsonNode> chunks = new ArrayList<>();
        for (String line : data.subList(0, data.size() - 1)) {
            chunks.add(json.readTree(line.substring(6)));
        }
        return chunks;
    }

    /** An empty or blank message is a bad request naming the message, not a failure of the service. */
    @Test
    void aBlankMessageIsRefusedByName() {
        error("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}", 400, "messages[0].content");
        error("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"system\",\"content\":\"简短\"},{\"role\":\"user\",\"content\":\" \\n \"}]}",
                400, "messages[1].content");
        error("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"system\",\"content\":\"  \"},{\"role\":\"user\",\"content\":\"你好\"}]}",
                400, "messages[0].content");
        error("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\" \"}]}]}",
                400, "messages[0].content");
        error("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"你好\"},{\"role\":\"assistant\",\"content\":\"\"},"
                + "{\"role\":\"user\",\"content\":\"在吗\"}]}", 400, "messages[1].content");
    }

    @Test
    void errorsComeInOpenAisShapeAndTheClientKnowsThem() {
        assertThrows(ModelNotFoundException.class,
                () -> client().modelName("gpt-4o").build().chat(ChatRequest.builder().messages(UserMessage.from("hi")).build()));
        assertThrows(InvalidRequestException.class,
                () -> client().frequencyPenalty(3.0).build().chat(ChatRequest.builder().messages(UserMessage.from("hi")).build()), "penalties are -2 to 2");

        error("{\"model\":\"" + MODEL + "\",\"messages\":[]}", 400, "messages");
        error("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", 400, "messages[0].role");
        error("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", 400, "messages[0].content");
        error("{\"model\":\"" + MODEL + "\",\"temperature\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "temperature");
        error("{\"model\":\"" + MODEL + "\",\"temperature\":\"hot\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "temperature");
        error("{\"model\":\"" + MODEL + "\",\"top_logprobs\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "top_logprobs");
        error("{\"model\":\"" + MODEL + "\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "stop");
        error("{\"model\":\"" + MODEL + "\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "n");
        error("{\"model\":\"" + MODEL + "\",\"tools\":[{\"type\":\"function\"}],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "tools");
        error("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 400, "model");
        error("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "很长的话".repeat(1200) + "\"}]}", 400, "messages")
                .body("error.code", equalTo("context_length_exceeded"));
        given().contentType(ContentType.JSON).body("{not json").post("/v1/chat/completions")
                .then().statusCode(400).body("error.type", equalTo("invalid_request_error"));
    }

    private io.restassured.response.ValidatableResponse error(String body, int status, String param) {
        return given().contentType(ContentType.JSON).body(body).post("/v1/chat/completions")
                .then().statusCode(status).contentType(ContentType.JSON)
                .body("error.type", equalTo("invalid_request_error")).body("error.param", equalTo(param));
    }

    @Test
    void theStreamIsDataChunksEndingWithDone() throws Exception {
        String body = given().contentType(ContentType.JSON)
                .body("{\"model\":\"" + MODEL + "\",\"stream\":true,\"logprobs\":true,\"stream_options\":{\"include_usage\":true},"
                        + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"你好\"}]}]}")
                .post("/v1/chat/completions")
                .then().statusCode(200).contentType("text/event-stream").extract().asString();
        List<JsonNode> chunks = chunks(body);
        assertEquals("assistant", chunks.getFirst().at("/choices/0/delta/role").asText());
        StringBuilder text = new StringBuilder();
        int logprobTokens = 0;
        for (JsonNode chunk : chunks) {
            assertEquals("chat.completion.chunk", chunk.get("object").asText());
            assertEquals(chunks.getFirst().get("id").asText(), chunk.get("id").asText());
            text.append(chunk.at("/choices/0/delta/content").asText(""));
            logprobTokens += chunk.at("/choices/0/logprobs/content").size();
        }
        assertEquals(REPLY, text.toString());
        assertEquals(replyTokens(), logprobTokens);
        JsonNode last = chunks.get(chunks.size() - 2);
        assertEquals("stop", last.at("/choices/0/finish_reason").asText());
        for (JsonNode chunk : chunks.subList(0, chunks.size() - 2)) {
            assertTrue(chunk.at("/choices/0/finish_reason").isNull(), chunk.toString());
        }
        JsonNode usage = chunks.getLast();
        assertEquals(0, usage.get("choices").size());
        assertEquals(replyTokens(), usage.at("/usage/completion_tokens").asInt());
    }

    @Test
    void aRequestsSystemMessageReplacesTheDefaultOne() {
        int withDefault = given().contentType(ContentType.JSON)
                .body("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"你好\"}]}")
                .post("/v1/chat/completions").then().statusCode(200).extract().path("usage.prompt_tokens");
        int withOwn = given().contentType(ContentType.JSON)
                .body("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"system\",\"content\":\"简短\"},{\"role\":\"user\",\"content\":\"你好\"}]}")
                .post("/v1/chat/completions").then().statusCode(200)
                .body("choices[0].message.role", equalTo("assistant")).extract().path("usage.prompt_tokens");
        // "<|im_start|>system\n简短<|im_end|>\n" against the chat prompt, the same user turn
        assertTrue(withOwn < 20 && withDefault > withOwn + 40, withDefault + " vs " + withOwn);
        assertNull(given().contentType(ContentType.JSON)
                .body("{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"你好\"}]}")
                .post("/v1/chat/completions").then().extract().path("choices[0].logprobs"));
    }

    /** The scripted reply's token count: 正面太棒了，恭喜你, the emoji as four byte tokens, then ！. */
    private static int replyTokens() {
        return tokens(REPLY.substring(0, REPLY.indexOf("😄"))) + 4 + tokens("！");
    }

    private static int tokens(String text) {
        List<Integer> ids = given().contentType(ContentType.JSON).body("{\"text\":\"" + text + "\"}")
                .post("/api/tokenize").then().statusCode(200).extract().path("ids");
        return ids.size();
    }
}
