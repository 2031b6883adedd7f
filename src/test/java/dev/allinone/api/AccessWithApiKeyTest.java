package dev.allinone.api;

import dev.langchain4j.exception.AuthenticationException;
import dev.langchain4j.model.openai.OpenAiChatModel;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An API key and one extra allowed origin set. */
@QuarkusTest
@TestProfile(AccessWithApiKeyTest.WithKey.class)
class AccessWithApiKeyTest {

    static final String KEY = "s3cret-key-for-tests";

    public static class WithKey implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyScripted().toString(), "allinone.api-key", KEY,
                    "allinone.http.allowed-origins", "https://chat.example.com");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    private WebSocket open(String query, String origin) throws Exception {
        WebSocket.Builder builder = HttpClient.newHttpClient().newWebSocketBuilder();
        if (origin != null) {
            builder.header("Origin", origin);
        }
        return builder.buildAsync(URI.create(chat.toString().replaceFirst("^http", "ws") + query), new WebSocket.Listener() { })
                .get(10, TimeUnit.SECONDS);
    }

    @Test
    void restNeedsTheKey() {
        given().contentType(ContentType.JSON).body("{\"text\":\"好\"}").post("/api/sentiment").then().statusCode(401)
                .header("WWW-Authenticate", "Bearer").body("code", equalTo("unauthorized"))
                .body("detail", not(containsString(KEY)));
        given().header("Authorization", "Bearer wrong").contentType(ContentType.JSON).body("{\"text\":\"好\"}")
                .post("/api/sentiment").then().statusCode(401);
        given().header("Authorization", "Bearer " + KEY).contentType(ContentType.JSON).body("{\"text\":\"好\"}")
                .post("/api/sentiment").then().statusCode(200);
    }

    /** OpenAI clients send the key as OpenAI's do, and hear a refusal in OpenAI's shape (LangChain4j: AuthenticationException). */
    @Test
    void theOpenAiApiTakesTheKeyAsOpenAiClientsSendIt() {
        given().get("/v1/models").then().statusCode(401).body("error.code", equalTo("invalid_api_key"))
                .body("error.type", equalTo("invalid_request_error"));
        OpenAiChatModel.OpenAiChatModelBuilder client = OpenAiChatModel.builder()
                .baseUrl(chat.toString().replaceFirst("/chat$", "/v1")).modelName("Qwen1.5-0.5B-Chat").maxRetries(0);
        assertThrows(AuthenticationException.class, () -> client.apiKey("wrong").build().chat("你好"));
        assertEquals(dev.allinone.engine.TestCheckpoints.SCRIPTED_REPLY, client.apiKey(KEY).build().chat("你好"));
    }

    @Test
    void probesAndThePageStayOpen() {
        given().get("/q/health/ready").then().statusCode(200);
        given().get("/q/health/live").then().statusCode(200);
        given().get("/q/health/started").then().statusCode(200);
        given().get("/").then().statusCode(200);
        given().get("/app.js").then().statusCode(200);
        // The page's packaged libraries, and nothing else under /webjars/ (their licences and maps need the key).
        given().get("/webjars/marked/15.0.12/marked.min.js").then().statusCode(200);
        given().get("/webjars/dompurify/3.2.6/dist/purify.min.js").then().statusCode(200);
        given().head("/webjars/dompurify/3.2.6/dist/purify.min.js").then().statusCode(200);
        given().get("/webjars/dompurify/3.2.6/dist/purify.min.js.map").then().statusCode(401);
        given().post("/webjars/marked/15.0.12/marked.min.js").then().statusCode(401);
        given().header("Authorization", "Bearer " + KEY).get("/webjars/marked/15.0.12/LICENSE.md").then().statusCode(200);
    }

    @Test
    void theWebSocketTakesTheKeyAsHeaderOrQueryParameter() throws Exception {
        ExecutionException refused = assertThrows(ExecutionException.class, () -> open("", null));
        assertEquals(401, assertInstanceOf(WebSocketHandshakeException.class, refused.getCause()).getResponse().statusCode());
        open("?api_key=" + KEY, null).sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        HttpClient.newHttpClient().newWebSocketBuilder().header("Authorization", "Bearer " + KEY)
                .buildAsync(URI.create(chat.toString().replaceFirst("^http", "ws")), new WebSocket.Listener() { })
                .get(10, TimeUnit.SECONDS).sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    }

    @Test
    void aConfiguredOriginIsAllowedAndOthersStillRefused() throws Exception {
        open("?api_key=" + KEY, "https://chat.example.com").sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        ExecutionException refused = assertThrows(ExecutionException.class, () -> open("?api_key=" + KEY, "https://evil.example"));
        assertEquals(403, assertInstanceOf(WebSocketHandshakeException.class, refused.getCause()).getResponse().statusCode());
    }
}
