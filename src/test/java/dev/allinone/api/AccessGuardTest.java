package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.allinone.ReadyService;
import dev.allinone.ScriptedModelResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Default settings: loopback, the service's own origin only, no API key. */
@QuarkusTest
@QuarkusTestResource(ScriptedModelResource.class)
class AccessGuardTest {

    @TestHTTPResource("/chat")
    URI chat;

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    private WebSocket open(String origin) throws Exception {
        WebSocket.Builder builder = HttpClient.newHttpClient().newWebSocketBuilder();
        if (origin != null) {
            builder.header("Origin", origin);
        }
        return builder.buildAsync(URI.create(chat.toString().replaceFirst("^http", "ws")), new WebSocket.Listener() { })
                .get(10, TimeUnit.SECONDS);
    }

    private static int refusedStatus(ExecutionException e) {
        return assertInstanceOf(WebSocketHandshakeException.class, e.getCause()).getResponse().statusCode();
    }

    @Test
    void aWebSocketFromAnotherSiteIsRefused() {
        ExecutionException refused = assertThrows(ExecutionException.class, () -> open("https://evil.example"));
        assertEquals(403, refusedStatus(refused));
        refused = assertThrows(ExecutionException.class, () -> open("http://localhost.evil.example:" + chat.getPort()));
        assertEquals(403, refusedStatus(refused));
    }

    @Test
    void theServicesOwnPageAndProgramsWithoutOriginAreServed() throws Exception {
        open("http://" + chat.getHost() + ":" + chat.getPort()).sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        open(null).sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    }

    @Test
    void aCrossSitePostIsRefusedAndASameSiteOneServed() {
        given().header("Origin", "https://evil.example").contentType(ContentType.JSON).body("{\"text\":\"好\"}")
                .post("/api/sentiment").then().statusCode(403).body("code", equalTo("forbidden_origin"));
        given().header("Origin", "http://" + chat.getHost() + ":" + chat.getPort()).contentType(ContentType.JSON)
                .body("{\"text\":\"好\"}").post("/api/sentiment").then().statusCode(200);
    }

    @Test
    void requestsAddressedToAnotherHostAreRefusedOnLoopback() {
        // What a DNS-rebinding page's requests look like: our address, someone else's name.
        given().header("Host", "rebind.evil.example").get("/q/health/live").then().statusCode(403)
                .body("code", equalTo("forbidden_host"));
        given().header("Host", "rebind.evil.example:" + chat.getPort()).contentType(ContentType.JSON)
                .body("{\"text\":\"好\"}").post("/api/sentiment").then().statusCode(403);
        given().header("Host", "127.0.0.1:" + chat.getPort()).get("/q/health/live").then().statusCode(200);
        given().header("Host", "[::1]:" + chat.getPort()).get("/q/health/live").then().statusCode(200);
    }

    @Test
    void theJarListensOnLoopbackUnlessToldOtherwise() throws Exception {
        java.util.Properties shipped = new java.util.Properties();
        try (var in = AccessGuardTest.class.getResourceAsStream("/application.properties")) {
            shipped.load(new java.io.InputStreamReader(in, java.nio.charset.StandardCharsets.UTF_8));
        }
        assertEquals("127.0.0.1", shipped.getProperty("quarkus.http.host"));
        assertEquals("127.0.0.1", org.eclipse.microprofile.config.ConfigProvider.getConfig().getValue("quarkus.http.host", String.class));
    }

    @Test
    void withoutAKeyConfiguredNothingAsksForOne() {
        given().contentType(ContentType.JSON).body("{\"text\":\"好\"}").post("/api/sentiment").then().statusCode(200);
    }
}
