package dev.allinone.api;

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

    TokenizerResource(ModelRuntime runtime) {
        this.runtime = runtime;
    }

    /** {@code {"text","special":false}} → {@code {"ids":[...]}}; with special, {@code <|im_start|>} etc. become control ids. */
    @POST
    @Path("/tokenize")
    public Ids tokenize(Requests.TokenizeRequest request) {
        Requests.checked(request);
        QwenTokenizer tokenizer = runtime.tokenizer();
        return new Ids(request.special() ? tokenizer.encodeWithSpecialTokens(request.text()) : tokenizer.encode(request.text()));
    }

    /** {@code {"ids":[...]}} → {@code {"text"}} (special tokens included as their text). */
    @POST
    @Path("/detokenize")
    public Text detokenize(Requests.DetokenizeRequest request) {
        int[] ids = Requests.checked(request).ids();
        if (ids.length > MAX_IDS) {
            throw new FrameCodec.BadInput(new Failure("too_many_ids", 413, "At most " + MAX_IDS + " ids", "ids", 0));
        }
        QwenTokenizer tokenizer = runtime.tokenizer();
        for (int i = 0; i < ids.length; i++) {
            if (!tokenizer.isValidId(ids[i])) {
                throw new FrameCodec.BadInput(Failure.badRequest("bad_id", "ids",
                        "ids[" + i + "] = " + ids[i] + " is not a token id (0 to " + (tokenizer.size() - 1) + ")"));
            }
        }
        return new Text(tokenizer.decode(ids));
    }
}
