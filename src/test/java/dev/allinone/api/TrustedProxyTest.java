package dev.allinone.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Behind a trusted reverse proxy each user is a client of their own (the address the proxy forwards), so one
 * user's share does not hold back the others who all arrive from the proxy's address.
 */
@QuarkusTest
@TestProfile(TrustedProxyTest.BehindAProxy.class)
class TrustedProxyTest {

    public static class BehindAProxy implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyLooping().toString(),
                    "allinone.generation.max-new-tokens", "1500",
                    "allinone.chat.max-active-per-client", "1",
                    "quarkus.http.proxy.proxy-address-forwarding", "true",
                    "quarkus.http.proxy.allow-x-forwarded", "true",
                    "quarkus.http.proxy.trusted-proxies", "127.0.0.1,[::1]");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @Test
    void theForwardedAddressIsTheClient() throws Exception {
        ReadyService.await();
        URI uri = URI.create(chat.toString().replaceFirst("^http", "ws"));
        try (WsClient alice = new WsClient(uri, Map.of("X-Forwarded-For", "203.0.113.7"));
                WsClient bob = new WsClient(uri, Map.of("X-Forwarded-For", "198.51.100.23"));
                WsClient aliceAgain = new WsClient(uri, Map.of("X-Forwarded-For", "203.0.113.7"))) {
            alice.send("一");
            assertEquals("sentiment", alice.next().path("type").asText());
            bob.send("二");
            JsonNode bobs = bob.next();
            assertEquals("sentiment", bobs.path("type").asText(), "another user behind the same proxy runs at once: " + bobs);
            aliceAgain.send("三");
            JsonNode waits = aliceAgain.next();
            assertEquals("queued", waits.path("type").asText(), "the same user's second reply waits for her share: " + waits);

            alice.send("{\"type\":\"stop\"}");
            assertEquals("done", alice.turn().getLast().path("type").asText());
            assertEquals("sentiment", aliceAgain.next().path("type").asText());
            bob.send("{\"type\":\"stop\"}");
            aliceAgain.send("{\"type\":\"stop\"}");
            assertEquals("done", bob.turn().getLast().path("type").asText());
            assertEquals("done", aliceAgain.turn().getLast().path("type").asText());
        }
    }
}
