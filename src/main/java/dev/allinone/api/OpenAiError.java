package dev.allinone.api;

import jakarta.ws.rs.core.Response;

/**
 * A failure as OpenAI reports it: status, {@code type}, the request {@code param} at fault and a {@code code}.
 * Our own failures ({@link Failure}) map onto it, so an OpenAI client sees the statuses and retry hints it knows.
 */
final class OpenAiError extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final int retryAfterSeconds;

    OpenAiError(int status, String type, String param, String code, String message, int retryAfterSeconds) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    static OpenAiError invalid(String param, String message) {
        return new OpenAiError(400, "invalid_request_error", param, null, message, 0);
    }

    static OpenAiError of(Throwable error) {
        return error instanceof OpenAiError e ? e : of(Failure.of(error));
    }

    static OpenAiError of(Failure f) {
        return switch (f.code()) {
            case "prompt_too_long" -> new OpenAiError(400, "invalid_request_error", "messages", "context_length_exceeded", f.message(), 0);
            case "bad_json", "bad_type" -> new OpenAiError(400, "invalid_request_error", f.field(), null, f.message(), 0);
            default -> new OpenAiError(f.status(), f.status() < 500 ? "invalid_request_error" : "server_error", f.field(),
                    f.code(), f.message(), f.retryAfterSeconds());
        };
    }

    int status() {
        return status;
    }

    OpenAi.ErrorBody body() {
        return new OpenAi.ErrorBody(new OpenAi.Error(getMessage(), type, param, code));
    }

    Response response() {
        Response.ResponseBuilder r = Response.status(status).type("application/json").entity(body());
        if (retryAfterSeconds > 0) {
            r.header("Retry-After", retryAfterSeconds);
        }
        return r.build();
    }
}
