package dev.allinone.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.allinone.engine.EngineBusyException;
import dev.allinone.engine.PromptTooLongException;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * The one mapping from failures to what clients see. The unexpected ones (a bug, an I/O fault under the model) have
 * no request that reliably causes them on a healthy model, so they are checked here, through the same problem body
 * and frame the endpoints send: code internal, 500, no retry, and no exception text that could leak internals.
 */
class FailureTest {

    @Test
    void anUnexpectedFailureIsInternal500WithoutItsMessage() {
        Failure failure = Failure.of(new CompletionException(new ExecutionException(new IllegalStateException("secret detail"))));
        assertEquals("internal", failure.code());
        assertEquals(500, failure.status());
        assertEquals(0, failure.retryAfterSeconds());
        assertFalse(failure.message().contains("secret detail"), failure.message());

        Response response = Problems.response(failure);
        assertEquals(500, response.getStatus());
        assertNull(response.getHeaderString("Retry-After"));
        @SuppressWarnings("unchecked")
        Map<String, Object> body = (Map<String, Object>) response.getEntity();
        assertEquals("internal", body.get("code"));
        assertEquals(500, body.get("status"));
        assertEquals("internal", failure.frame().code());
    }

    @Test
    void wrappedEngineFailuresKeepTheirOwnCodes() {
        assertEquals("prompt_too_long", Failure.of(new CompletionException(new PromptTooLongException(3000, 2048))).code());
        Failure busy = Failure.of(new ExecutionException(new EngineBusyException("queue full")));
        assertEquals(503, busy.status());
        assertEquals(Failure.RETRY_AFTER_SECONDS, busy.retryAfterSeconds());
    }
}
