package dev.allinone.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidDefinitionException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import jakarta.ws.rs.core.Response;
import java.util.Locale;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

/**
 * What Jackson says about a request body, in the service's own problem bodies (the same codes the WebSocket uses):
 * not JSON or not an object → {@code bad_json}; a field of the wrong JSON type → {@code bad_type}, the field named.
 * {@link Requests#checked} says the same of missing fields and bounds.
 */
class RequestErrors {

    /** Each type named, so that these win over Quarkus' own mappers for them (which answer 400 or even 500 bodies of their own). */
    @ServerExceptionMapper({MismatchedInputException.class, InvalidDefinitionException.class, JsonMappingException.class,
            JsonProcessingException.class})
    Response json(JsonProcessingException e) {
        return Problems.response(failure(e));
    }

    /** Also for the parse errors Quarkus hands on inside a 400 {@code WebApplicationException} ({@link Problems}). */
    static Failure failure(JsonProcessingException e) {
        if (!(e instanceof JsonMappingException m)) {
            return Failure.badRequest("bad_json", null, "The body is not valid JSON: " + e.getOriginalMessage());
        }
        String field = field(m);
        if (field == null) {
            return Failure.badRequest("bad_json", null, "The body must be a JSON object");
        }
        Class<?> target = m instanceof MismatchedInputException mi ? mi.getTargetType() : null;
        return Failure.badRequest("bad_type", field, "Field '" + field + "' must be " + (target == null ? "of another JSON type" : describe(target)));
    }

    /** The body's top-level field the mismatch is in, or null when the body itself is of the wrong shape. */
    private static String field(JsonMappingException e) {
        return e.getPath().isEmpty() ? null : e.getPath().getFirst().getFieldName();
    }

    private static String describe(Class<?> type) {
        if (type == String.class) {
            return "a string";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "true or false";
        }
        if (type.isArray()) {
            return "an array of integers";
        }
        if (type == int.class || type == Integer.class) {
            return "an integer";
        }
        return "a " + type.getSimpleName().toLowerCase(Locale.ROOT);
    }
}
