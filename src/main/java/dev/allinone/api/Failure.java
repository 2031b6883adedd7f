package dev.allinone.api;

import dev.allinone.ai.InvalidInputException;
import dev.allinone.ai.UnknownTaskException;
import dev.allinone.engine.EngineBusyException;
import dev.allinone.engine.ModelNotReadyException;
import dev.allinone.engine.PromptTooLongException;
import dev.allinone.engine.ShuttingDownException;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * One place that turns any failure into what a client sees: a stable code, an HTTP status, a message, and
 * whether to retry. Used for WebSocket error frames, SSE error events and REST problem bodies alike.
 *
 * @param retryAfterSeconds 0 when retrying will not help
 */
public record Failure(String code, int status, String message, String field, int retryAfterSeconds) {

    static final int RETRY_AFTER_SECONDS = 5;

    public static Failure of(Throwable error) {
        Throwable e = unwrap(error);
        return switch (e) {
            case FrameCodec.BadInput b -> b.failure();
            case UnknownTaskException u -> new Failure("unknown_task", 404, u.getMessage(), null, 0);
            case InvalidInputException i -> new Failure(i.code(), i.tooLarge() ? 413 : 400, i.getMessage(), i.field(), 0);
            case PromptTooLongException p -> new Failure("prompt_too_long", 413, p.getMessage(), "text", 0);
            case ModelNotReadyException m -> new Failure("model_not_ready", 503, m.getMessage(), null, RETRY_AFTER_SECONDS);
            case EngineBusyException b -> new Failure("busy", 503, b.getMessage(), null, RETRY_AFTER_SECONDS);
            case ShuttingDownException s -> new Failure("shutting_down", 503, s.getMessage(), null, RETRY_AFTER_SECONDS);
            case TimeoutException t -> new Failure("timeout", 504, t.getMessage(), null, 0);
            default -> new Failure("internal", 500, "The request failed inside the service: " + e.getClass().getSimpleName(), null, 0);
        };
    }

    public static Failure badRequest(String code, String field, String message) {
        return new Failure(code, 400, message, field, 0);
    }

    public Frame.Error frame() {
        return new Frame.Error(this);
    }

    private static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }
}
