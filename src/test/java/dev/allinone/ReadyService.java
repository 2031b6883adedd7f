package dev.allinone;

import static io.restassured.RestAssured.given;

import java.time.Duration;
import java.time.Instant;

/** Waits until the service under test reports ready (the model loads in the background). */
public final class ReadyService {

    private ReadyService() {
    }

    public static void await() {
        Instant deadline = Instant.now().plus(Duration.ofMinutes(2));
        while (Instant.now().isBefore(deadline)) {
            if (given().get("/q/health/ready").statusCode() == 200) {
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
