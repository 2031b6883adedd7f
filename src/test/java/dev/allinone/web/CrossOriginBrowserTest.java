package dev.allinone.web;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.chrome.ChromeDriver;

/**
 * A page of another origin calls the OpenAI API with the key, in Debian's headless Chromium: from an origin listed in
 * {@code allinone.http.allowed-origins} the preflight is answered and the reply can be read; from any other origin
 * the browser blocks it. The other origins are a JDK HTTP server on loopback: {@code http://127.0.0.1:<port>}
 * (allowed) and the same server as {@code http://localhost:<port>} (another origin, not allowed).
 */
@QuarkusTest
@QuarkusTestResource(value = CrossOriginBrowserTest.OtherOrigin.class, restrictToAnnotatedClass = true)
class CrossOriginBrowserTest {

    static final String KEY = "cors-test-key";

    /** Serves an empty page on a free loopback port, and allows its 127.0.0.1 origin. */
    public static class OtherOrigin implements QuarkusTestResourceLifecycleManager {
        private HttpServer server;

        @Override
        public Map<String, String> start() {
            try {
                server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            byte[] page = "<!doctype html><title>another origin</title><p>another origin".getBytes(StandardCharsets.UTF_8);
            server.createContext("/", exchange -> {
                exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
                exchange.sendResponseHeaders(200, page.length);
                exchange.getResponseBody().write(page);
                exchange.close();
            });
            server.start();
            return Map.of("allinone.model.path", TestCheckpoints.tinyScripted().toString(), "allinone.api-key", KEY,
                    "allinone.http.allowed-origins", "http://127.0.0.1:" + server.getAddress().getPort());
        }

        @Override
        public void inject(TestInjector testInjector) {
            testInjector.injectIntoFields(server, new TestInjector.MatchesType(HttpServer.class));
        }

        @Override
        public void stop() {
            server.stop(0);
        }
    }

    private static ChromeDriver browser;

    HttpServer otherOrigin;

    @TestHTTPResource("/v1/chat/completions")
    URI completions;

    @BeforeAll
    static void startBrowser() throws Exception {
        browser = HeadlessChromium.start();
        browser.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stopBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    /** Opens the other origin's page at {@code pageHost} and calls {@code /v1/chat/completions} from its script. */
    @SuppressWarnings("unchecked")
    private Map<String, Object> fetchFrom(String pageHost, String key) {
        browser.get("http://" + pageHost + ":" + otherOrigin.getAddress().getPort() + "/");
        return (Map<String, Object>) ((JavascriptExecutor) browser).executeAsyncScript("""
                const [url, key, done] = arguments;
                fetch(url, {method: 'POST', headers: {'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json'},
                            body: JSON.stringify({model: 'Qwen1.5-0.5B-Chat', messages: [{role: 'user', content: '你好'}]})})
                  .then(r => r.json().then(body => done({origin: location.origin, status: r.status, body})))
                  .catch(e => done({origin: location.origin, error: String(e)}));
                """, completions.toString(), key);
    }

    @Test
    @SuppressWarnings("unchecked")
    void anAllowedOriginsPageReadsTheReply() {
        Map<String, Object> answer = fetchFrom("127.0.0.1", KEY);
        assertEquals("http://127.0.0.1:" + otherOrigin.getAddress().getPort(), answer.get("origin"));
        assertEquals(200L, answer.get("status"), answer.toString());
        Map<String, Object> message = (Map<String, Object>) ((Map<String, Object>) ((java.util.List<Object>) ((Map<String, Object>) answer
                .get("body")).get("choices")).get(0)).get("message");
        assertEquals(TestCheckpoints.SCRIPTED_REPLY, message.get("content"));

        Map<String, Object> refused = fetchFrom("127.0.0.1", "wrong-key");
        assertEquals(401L, refused.get("status"), "the page can read the refusal too: " + refused);
    }

    @Test
    void anotherOriginsPageIsBlocked() {
        Map<String, Object> answer = fetchFrom("localhost", KEY);
        assertEquals("http://localhost:" + otherOrigin.getAddress().getPort(), answer.get("origin"));
        assertTrue(String.valueOf(answer.get("error")).contains("Failed to fetch"), answer.toString());
    }

    @Test
    void aPreflightGetsAllowHeadersOnlyForAnAllowedOrigin() {
        String allowed = "http://127.0.0.1:" + otherOrigin.getAddress().getPort();
        given().header("Origin", allowed).header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization,content-type")
                .options("/v1/chat/completions").then().statusCode(204)
                .header("Access-Control-Allow-Origin", equalTo(allowed))
                .header("Access-Control-Allow-Headers", equalTo("authorization,content-type"))
                .header("Access-Control-Allow-Methods", equalTo("GET, POST"));
        given().header("Origin", "http://localhost:" + otherOrigin.getAddress().getPort()).header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "authorization,content-type")
                .options("/v1/chat/completions").then().statusCode(403)
                .header("Access-Control-Allow-Origin", nullValue())
                .header("Access-Control-Allow-Headers", nullValue());
    }
}
