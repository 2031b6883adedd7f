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
 * An {@code X-Forwarded-For} from an address that is not a trusted proxy does not change who the client is: with
 * forwarding on but only 192.0.2.1 trusted, every connection from loopback is the one client loopback, whatever
 * address it claims to forward (the counterpart of {@link TrustedProxyTest}).
 */
@QuarkusTest
@TestProfile(UntrustedProxyTest.ProxyElsewhere.class)
class UntrustedProxyTest {

    public static class ProxyElsewhere implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyLooping().toString(),
                    "allinone.generation.max-new-tokens", "1500",
                    "allinone.chat.max-active-per-client", "1",
                    "quarkus.http.proxy.proxy-address-forwarding", "true",
                    "quarkus.http.proxy.allow-x-forwarded", "true",
                    "quarkus.http.proxy.trusted-proxies", "192.0.2.1");
        }
    }

    @TestHTTPResource("/chat")
    URI chat;

    @Test
    void aForwardedAddressFromAnUntrustedPeerIsIgnored() throws Exception {
        ReadyService.await();
        URI uri = URI.create(chat.toString().replaceFirst("^http", "ws"));
        try (WsClient plain = new WsClient(uri, Map.of());
                WsClient claimsAnother = new WsClient(uri, Map.of("X-Forwarded-For", "203.0.113.7"));
                WsClient claimsAThird = new WsClient(uri, Map.of("X-Forwarded-For", "198.51.100.23"))) {
            plain.send("一");
            assertEquals("sentiment", plain.next().path("type").asText());
            claimsAnother.send("二");
            JsonNode waits = claimsAnother.next();
            assertEquals("queued", waits.path("type").asText(), "a forged X-Forwarded-For is still loopback's turn: " + waits);
            claimsAThird.send("三");
            waits = claimsAThird.next();
            assertEquals("queued", waits.path("type").asText(), "a forged X-Forwarded-For is still loopback's turn: " + waits);

            plain.send("{\"type\":\"stop\"}");
            assertEquals("done", plain.turn().getLast().path("type").asText());
            assertEquals("sentiment", claimsAnother.next().path("type").asText(), "the next of loopback's turns runs");
            claimsAnother.send("{\"type\":\"stop\"}");
            claimsAThird.send("{\"type\":\"stop\"}");
            assertEquals("done", claimsAnother.turn().getLast().path("type").asText());
            assertEquals("done", claimsAThird.turn().getLast().path("type").asText());
        }
    }
}
