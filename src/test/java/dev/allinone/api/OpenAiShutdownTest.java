package dev.allinone.api;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import io.quarkus.runtime.ShutdownDelayInitiatedEvent;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.enterprise.event.Event;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A /v1 stream when the service shuts down: Quarkus' shutdown-delay event (what SIGTERM fires when
 * {@code quarkus.shutdown.delay} is set; GracefulShutdownIT sends the signal to the packaged jar) makes readiness
 * DOWN and refuses new completions (503 {@code shutting_down} with Retry-After) while the stream keeps going for the
 * drain timeout, then ends with one event holding the {@code shutting_down} error. The looping model never stops
 * by itself. The test leaves the service shut: it has a profile of its own.
 */
@QuarkusTest
@TestProfile(OpenAiShutdownTest.ShortDrain.class)
class OpenAiShutdownTest {

    public static class ShortDrain implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyLooping().toString(), "allinone.engine.drain-timeout", "1s",
                    "allinone.generation.max-new-tokens", "100000", "allinone.model.context-length", "32768");
        }
    }

    private static final String REQUEST = "{\"model\":\"Qwen1.5-0.5B-Chat\",\"messages\":[{\"role\":\"user\",\"content\":\"讲个很长的故事\"}]";

    @TestHTTPResource("/v1/chat/completions")
    URI completions;

    @Inject
    Event<ShutdownDelayInitiatedEvent> shutdownDelay;

    private final ObjectMapper json = new ObjectMapper();

    @Test
    void aStreamCutByShutdownEndsWithAShuttingDownErrorEvent() throws Exception {
        ReadyService.await();
        HttpResponse<java.util.stream.Stream<String>> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(completions)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(REQUEST + ",\"stream\":true}")).build(),
                HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, response.statusCode());
        Iterator<String> events = response.body().filter(l -> !l.isEmpty()).iterator();
        while (!json.readTree(events.next().substring(6)).at("/choices/0/delta/content").isTextual()) {
            // the role chunk, then the first piece of content
        }

        shutdownDelay.fire(new ShutdownDelayInitiatedEvent());
        given().get("/q/health/ready").then().statusCode(503);
        given().contentType(ContentType.JSON).body(REQUEST + "}").post("/v1/chat/completions")
                .then().statusCode(503).contentType(ContentType.JSON).header("Retry-After", notNullValue())
                .body("error.type", equalTo("server_error")).body("error.code", equalTo("shutting_down"));

        List<String> rest = CompletableFuture.supplyAsync(() -> {
            List<String> out = new ArrayList<>();
            events.forEachRemaining(out::add);
            return out;
        }).get(30, TimeUnit.SECONDS);
        assertTrue(rest.size() > 2, "the reply went on streaming while the service drained: " + rest.size() + " events");
        JsonNode last = json.readTree(rest.getLast().substring(6));
        assertEquals("shutting_down", last.at("/error/code").asText(), rest.getLast());
        assertEquals("server_error", last.at("/error/type").asText(), rest.getLast());
        for (String event : rest.subList(0, rest.size() - 1)) {
            assertTrue(json.readTree(event.substring(6)).at("/choices/0/finish_reason").isNull(), event);
        }
    }
}
