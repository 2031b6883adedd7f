package dev.allinone.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.allinone.lifecycle.ModelRuntime;
import dev.allinone.engine.tokenizer.QwenTokenizer;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

/** The model's tokenizer over HTTP: {@code /api/tokenize} and {@code /api/detokenize}. */
@Path("/api")
@Consumes(MediaType.APPLICATION_JSON)
@Produces(MediaType.APPLICATION_JSON)
public class TokenizerResource {

    public record Ids(int[] ids) {
    }

    public record Text(String text) {
    }

    private static final int MAX_IDS = 100_000;

    private final ModelRuntime runtime;
    private final FrameCodec codec;

    TokenizerResource(ModelRuntime runtime, FrameCodec codec) {
        this.runtime = runtime;
        this.codec = codec;
    }

    /** {@code {"text","special":false}} → {@code {"ids":[...]}}; with special, {@code <|im_start|>} etc. become control ids. */
    @POST
    @Path("/tokenize")
    public Ids tokenize(String body) {
        JsonNode json = codec.parseObject(body);
        String text = codec.requiredText(json);
        JsonNode special = json.get("special");
        if (special != null && !special.isNull() && !special.isBoolean()) {
            throw new FrameCodec.BadInput(Failure.badRequest("bad_type", "special", "Field 'special' must be true or false"));
        }
        QwenTokenizer tokenizer = runtime.tokenizer();
        return new Ids(special != null && special.asBoolean() ? tokenizer.encodeWithSpecialTokens(text) : tokenizer.encode(text));
    }

    /** {@code {"ids":[...]}} → {@code {"text"}} (special tokens included as their text). */
    @POST
    @Path("/detokenize")
    public Text detokenize(String body) {
        JsonNode ids = codec.parseObject(body).get("ids");
        if (ids == null || !ids.isArray()) {
            throw new FrameCodec.BadInput(Failure.badRequest("bad_type", "ids", "Field 'ids' must be an array of token ids"));
        }
        if (ids.size() > MAX_IDS) {
            throw new FrameCodec.BadInput(new Failure("too_many_ids", 413, "At most " + MAX_IDS + " ids", "ids", 0));
        }
        QwenTokenizer tokenizer = runtime.tokenizer();
        int[] values = new int[ids.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode id = ids.get(i);
            if (!id.canConvertToInt() || !id.isIntegralNumber() || !tokenizer.isValidId(id.asInt())) {
                throw new FrameCodec.BadInput(Failure.badRequest("bad_id", "ids",
                        "ids[" + i + "] = " + id + " is not a token id (0 to " + (tokenizer.size() - 1) + ")"));
            }
            values[i] = id.asInt();
        }
        return new Text(tokenizer.decode(values));
    }
}
