package dev.allinone;

import static io.restassured.RestAssured.given;

import io.restassured.response.Response;
import java.time.Duration;
import java.time.Instant;

/**
 * Waits until the service under test reports ready (the model loads in the background) and its warm-up after
 * readiness is done, so that a test's requests never share engine steps or counters with the warm-up's.
 */
public final class ReadyService {

    private ReadyService() {
    }

    public static void await() {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
        while (Instant.now().isBefore(deadline)) {
            Response ready = given().get("/q/health/ready");
            if (ready.statusCode() == 200 && ready.jsonPath().getBoolean("checks.find { it.name == 'model' }.data.warm")) {
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new AssertionError("The service did not become ready: " + given().get("/q/health/ready").asString());
    }
}
