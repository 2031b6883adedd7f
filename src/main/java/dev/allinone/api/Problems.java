package dev.allinone.api;

import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Provider;

import java.util.LinkedHashMap;
import java.util.Map;

import org.jboss.logging.Logger;

/** Every REST failure as an RFC 9457 problem body with our stable code, the field at fault and Retry-After. */
@Provider
public class Problems implements ExceptionMapper<RuntimeException> {

    private static final Logger LOG = Logger.getLogger(Problems.class);

    @Override
    public Response toResponse(RuntimeException exception) {
        if (exception instanceof jakarta.ws.rs.WebApplicationException web
                && web.getCause() instanceof com.fasterxml.jackson.core.JsonProcessingException json) {
            return response(RequestErrors.failure(json));
        }
        if (exception instanceof jakarta.ws.rs.WebApplicationException web && !(exception instanceof FrameCodec.BadInput)) {
            Response r = web.getResponse();
            return response(new Failure("http_" + r.getStatus(), r.getStatus(), web.getMessage(), null, 0));
        }
        Failure failure = Failure.of(exception);
        if (failure.status() == 500) {
            LOG.error("Request failed", exception);
        }
        return response(failure);
    }

    static Response response(Failure failure) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", "about:blank");
        body.put("title", Response.Status.fromStatusCode(failure.status()) != null
                ? Response.Status.fromStatusCode(failure.status()).getReasonPhrase() : "Error");
        body.put("status", failure.status());
        body.put("code", failure.code());
        body.put("detail", failure.message());
        if (failure.field() != null) {
            body.put("field", failure.field());
        }
        Response.ResponseBuilder r = Response.status(failure.status()).type("application/problem+json").entity(body);
        if (failure.retryAfterSeconds() > 0) {
            r.header("Retry-After", failure.retryAfterSeconds());
        }
        return r.build();
    }
}
