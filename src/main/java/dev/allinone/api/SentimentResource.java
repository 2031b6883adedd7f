package dev.allinone.api;

import dev.allinone.ai.SentimentService;
import dev.allinone.ai.SentimentVerdict;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.ExampleObject;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;

/** {@code POST /api/sentiment {"text"}} → {@code {"label":"POSITIVE","score":0.93}}. */
@Path("/api/sentiment")
public class SentimentResource {

    public record SentimentAnswer(String label, double score) {
        static SentimentAnswer of(SentimentVerdict v) {
            return new SentimentAnswer(v.label().name(), v.score());
        }
    }

    private final SentimentService sentiment;

    SentimentResource(SentimentService sentiment) {
        this.sentiment = sentiment;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "The sentiment of a text: POSITIVE or NEGATIVE, with the model's probability")
    @RequestBody(content = @Content(examples = {
            @ExampleObject(name = "中文", value = "{\"text\":\"刚拿到offer，超级开心！\"}"),
            @ExampleObject(name = "English", value = "{\"text\":\"The flight was cancelled again.\"}")}))
    @APIResponse(responseCode = "200", content = @Content(examples = @ExampleObject(name = "positive",
            value = "{\"label\":\"POSITIVE\",\"score\":0.93}")))
    public SentimentAnswer sentiment(Requests.SentimentRequest request) {
        return SentimentAnswer.of(sentiment.judge(Requests.checked(request).text()));
    }
}
