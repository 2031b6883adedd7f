package dev.allinone.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.ai.Completions;
import dev.allinone.engine.Generation;
import dev.allinone.engine.GenerationListener;
import dev.allinone.engine.GenerationResult;
import dev.allinone.engine.sampling.TokenLogprobs;
import io.smallrye.common.annotation.RunOnVirtualThread;
import io.vertx.core.http.HttpServerRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.ExampleObject;
import org.eclipse.microprofile.openapi.annotations.media.Schema;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The OpenAI-compatible door: {@code POST /v1/chat/completions} (a JSON answer, or with {@code "stream": true}
 * server-sent {@code data:} chunks ending in {@code data: [DONE]}), {@code POST /v1/completions} (plain text or token
 * ids, with {@code echo} and the legacy {@code logprobs}) and {@code GET /v1/models}. Failures come in OpenAI's error
 * shape.
 */
@Path("/v1")
public class OpenAiResource {

    private static final Logger LOG = Logger.getLogger(OpenAiResource.class);
    private static final String OWNER = "qwen-all-in-one";

    private final Completions completions;
    private final ObjectMapper json;
    private final long created = Instant.now().getEpochSecond();

    OpenAiResource(Completions completions, ObjectMapper json) {
        this.completions = completions;
        this.json = json;
    }

    @GET
    @Path("/models")
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "OpenAI-compatible: the one model this service serves")
    public OpenAi.ModelList models() {
        return new OpenAi.ModelList("list", List.of(model()));
    }

    @GET
    @Path("/models/{id}")
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "OpenAI-compatible: one model by id")
    public OpenAi.Model model(@PathParam("id") String id) {
        if (!id.equals(completions.modelId())) {
            throw new OpenAiError(404, "invalid_request_error", "model", "model_not_found", "The model '" + id + "' does not exist", 0);
        }
        return model();
    }

    private OpenAi.Model model() {
        return new OpenAi.Model(completions.modelId(), "model", created, OWNER);
    }

    @POST
    @Path("/chat/completions")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({MediaType.APPLICATION_JSON, MediaType.SERVER_SENT_EVENTS})
    @RunOnVirtualThread
    @Operation(summary = "OpenAI-compatible chat completion; with \"stream\": true, server-sent chunks")
    @RequestBody(content = @Content(schema = @Schema(implementation = OpenAi.ChatCompletionRequest.class), examples = {
            @ExampleObject(name = "中文", value = "{\"model\":\"Qwen1.5-0.5B-Chat\",\"messages\":[{\"role\":\"user\",\"content\":\"刚拿到offer，超级开心！\"}]}"),
            @ExampleObject(name = "English, streamed with log-probabilities", value = "{\"model\":\"Qwen1.5-0.5B-Chat\",\"stream\":true,"
                    + "\"logprobs\":true,\"top_logprobs\":3,\"messages\":[{\"role\":\"user\",\"content\":\"I failed my exam.\"}]}")}))
    public Response complete(String body, @Context HttpServerRequest http) {
        OpenAi.ChatCompletionRequest request = parse(body);
        Completions.Request completion = OpenAiRequests.read(request, completions.modelId());
        Events events = new Events();
        Generation generation = completions.start(completion, events);
        // The response's own close handler belongs to the framework; the connection's tells us the client went away.
        http.connection().closeHandler(closed -> generation.cancel());
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        long now = Instant.now().getEpochSecond();
        if (Boolean.TRUE.equals(request.stream())) {
            boolean usage = request.streamOptions() != null && Boolean.TRUE.equals(request.streamOptions().includeUsage());
            StreamingOutput stream = out -> stream(out, events, generation, id, now, usage, completion.options().logprobs());
            return Response.ok(stream, MediaType.SERVER_SENT_EVENTS).header("Cache-Control", "no-cache").build();
        }
        return Response.ok(whole(events, generation, id, now, completion.options().logprobs()), MediaType.APPLICATION_JSON).build();
    }

    @POST
    @Path("/completions")
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({MediaType.APPLICATION_JSON, MediaType.SERVER_SENT_EVENTS})
    @RunOnVirtualThread
    @Operation(summary = "OpenAI-compatible (legacy) text completion: prompt as text or token ids, echo, logprobs, stream")
    @RequestBody(content = @Content(schema = @Schema(implementation = OpenAi.CompletionRequest.class), examples = {
            @ExampleObject(name = "lm-evaluation-harness loglikelihood", value = "{\"model\":\"Qwen1.5-0.5B-Chat\",\"prompt\":[[40, 1079, 264]],"
                    + "\"temperature\":0,\"max_tokens\":1,\"logprobs\":1,\"seed\":1234,\"echo\":true}")}))
    public Response completeText(String body, @Context HttpServerRequest http) {
        OpenAi.CompletionRequest request = parse(body, OpenAi.CompletionRequest.class);
        OpenAiCompletionRequests.Read read = OpenAiCompletionRequests.read(request, completions);
        String id = "cmpl-" + UUID.randomUUID().toString().replace("-", "");
        long now = Instant.now().getEpochSecond();
        if (Boolean.TRUE.equals(request.stream())) {
            Completions.TextRequest one = read.prompts().getFirst();
            Events events = new Events();
            Generation generation = completions.start(one, events);
            http.connection().closeHandler(closed -> generation.cancel());
            boolean usage = request.streamOptions() != null && Boolean.TRUE.equals(request.streamOptions().includeUsage());
            StreamingOutput stream = out -> streamText(out, events, generation, id, now, usage, one.prompt(), read);
            return Response.ok(stream, MediaType.SERVER_SENT_EVENTS).header("Cache-Control", "no-cache").build();
        }
        List<OpenAi.CompletionChoice> choices = new ArrayList<>();
        int promptTokens = 0;
        int completionTokens = 0;
        for (int i = 0; i < read.prompts().size(); i++) {
            Completions.TextRequest prompt = read.prompts().get(i);
            Events events = new Events();
            Generation generation = completions.start(prompt, events);
            http.connection().closeHandler(closed -> generation.cancel());
            TextChoice choice = new TextChoice(prompt.prompt(), read);
            while (true) {
                Event e = events.next(generation);
                if (e instanceof Event.Failed f) {
                    throw reported(f.error());
                }
                choice.add(e);
                if (e instanceof Event.Done d) {
                    choices.add(new OpenAi.CompletionChoice(i, choice.text.toString(), choice.logprobs(), finishReason(d.result())));
                    promptTokens += d.result().promptTokens();
                    completionTokens += d.result().generatedTokens();
                    break;
                }
            }
        }
        return Response.ok(new OpenAi.Completion(id, "text_completion", now, completions.modelId(), choices,
                new OpenAi.Usage(promptTokens, completionTokens, promptTokens + completionTokens)), MediaType.APPLICATION_JSON).build();
    }

    private void streamText(OutputStream out, Events events, Generation generation, String id, long now, boolean withUsage,
            int[] prompt, OpenAiCompletionRequests.Read read) throws IOException {
        try {
            TextChoice choice = new TextChoice(prompt, read);
            while (true) {
                Event e = events.next(generation);
                if (e instanceof Event.Failed f) {
                    send(out, reported(f.error()).body());
                    return;
                }
                choice.add(e);
                if (e instanceof Event.Text) {
                    send(out, textChunk(id, now, choice.drain(), choice.drainLogprobs(), null, null));
                } else if (e instanceof Event.Done d) {
                    // what is left (an echoed prompt with no reply text after it, tokens with no text) goes with the end
                    send(out, textChunk(id, now, choice.drain(), choice.drainLogprobs(), finishReason(d.result()), null));
                    end(out, withUsage ? new OpenAi.Completion(id, "text_completion", now, completions.modelId(), List.of(), usage(d.result())) : null);
                    return;
                }
            }
        } catch (IOException e) {
            generation.cancel();
            throw e;
        }
    }

    private OpenAi.Completion textChunk(String id, long now, String text, OpenAi.CompletionLogprobs logprobs, String finish,
            OpenAi.Usage usage) {
        return new OpenAi.Completion(id, "text_completion", now, completions.modelId(),
                List.of(new OpenAi.CompletionChoice(0, text, logprobs, finish)), usage);
    }

    /**
     * One completion's text and legacy log-probabilities as its events arrive: with {@code echo} the prompt first (its
     * first token has no log-probability), then the reply. {@link #drain} and {@link #drainLogprobs} hand out what came
     * since the last call (for streaming).
     */
    private final class TextChoice {
        final StringBuilder text = new StringBuilder();
        private final boolean logprobs;
        private int drained;
        private final List<String> tokens = new ArrayList<>();
        private final List<Double> tokenLogprobs = new ArrayList<>();
        private final List<Map<String, Double>> top = new ArrayList<>();
        private final List<Integer> offsets = new ArrayList<>();
        private int drainedTokens;
        private int offset;

        TextChoice(int[] prompt, OpenAiCompletionRequests.Read read) {
            this.logprobs = read.logprobs() >= 0;
            if (read.echo()) {
                text.append(completions.decode(prompt));
                if (logprobs) {
                    addToken(completions.decode(new int[] {prompt[0]}), null, null);
                }
            }
        }

        void add(Event e) {
            switch (e) {
                case Event.PromptToken t -> add(t.logprobs());
                case Event.Token t -> add(t.logprobs());
                case Event.Text t -> text.append(t.text());
                default -> {
                }
            }
        }

        private void add(TokenLogprobs t) {
            Map<String, Double> alternatives = new LinkedHashMap<>();
            for (TokenLogprobs.Choice c : t.top()) {
                alternatives.merge(text(c), c.logprob(), Math::max);
            }
            addToken(text(t.chosen()), t.chosen().logprob(), alternatives);
        }

        private void addToken(String token, Double logprob, Map<String, Double> alternatives) {
            tokens.add(token);
            tokenLogprobs.add(logprob);
            top.add(alternatives);
            offsets.add(offset);
            offset += token.length();
        }

        OpenAi.CompletionLogprobs logprobs() {
            return logprobs ? new OpenAi.CompletionLogprobs(tokens, tokenLogprobs, top, offsets) : null;
        }

        String drain() {
            String piece = text.substring(drained);
            drained = text.length();
            return piece;
        }

        OpenAi.CompletionLogprobs drainLogprobs() {
            if (!logprobs) {
                return null;
            }
            int from = drainedTokens;
            drainedTokens = tokens.size();
            return new OpenAi.CompletionLogprobs(List.copyOf(tokens.subList(from, drainedTokens)),
                    new ArrayList<>(tokenLogprobs.subList(from, drainedTokens)), new ArrayList<>(top.subList(from, drainedTokens)),
                    List.copyOf(offsets.subList(from, drainedTokens)));
        }
    }

    private OpenAi.ChatCompletionRequest parse(String body) {
        return parse(body, OpenAi.ChatCompletionRequest.class);
    }

    private <T> T parse(String body, Class<T> type) {
        try {
            T request = json.readValue(body == null ? "" : body, type);
            if (request == null) {
                throw OpenAiError.invalid(null, "The body must be a JSON object");
            }
            return request;
        } catch (JsonProcessingException e) {
            throw OpenAiError.of(RequestErrors.failure(e));
        }
    }

    private OpenAi.ChatCompletion whole(Events events, Generation generation, String id, long now, boolean logprobs) {
        StringBuilder text = new StringBuilder();
        List<OpenAi.TokenLogprob> tokens = new ArrayList<>();
        while (true) {
            switch (events.next(generation)) {
                case Event.Text t -> text.append(t.text());
                case Event.Token t -> tokens.add(logprob(t.logprobs()));
                case Event.PromptToken t -> {
                }
                case Event.Reasoning t -> {
                }
                case Event.Failed f -> throw reported(f.error());
                case Event.Done d -> {
                    return new OpenAi.ChatCompletion(id, "chat.completion", now, completions.modelId(),
                            List.of(new OpenAi.Choice(0, new OpenAi.AssistantMessage("assistant", text.toString(),
                                    d.result().reasoning().isEmpty() ? null : d.result().reasoning()),
                                    logprobs ? new OpenAi.Logprobs(tokens) : null, finishReason(d.result()))),
                            usage(d.result()));
                }
            }
        }
    }

    private void stream(OutputStream out, Events events, Generation generation, String id, long now, boolean withUsage,
            boolean logprobs) throws IOException {
        try {
            send(out, chunk(id, now, new OpenAi.Delta("assistant", ""), null, null));
            List<OpenAi.TokenLogprob> tokens = new ArrayList<>();
            while (true) {
                switch (events.next(generation)) {
                    case Event.Token t -> tokens.add(logprob(t.logprobs()));
                    case Event.PromptToken t -> {
                    }
                    case Event.Reasoning t -> send(out, chunk(id, now, new OpenAi.Delta(null, null, t.text()), null, null));
                    case Event.Text t -> {
                        send(out, chunk(id, now, new OpenAi.Delta(null, t.text()), logprobs ? new OpenAi.Logprobs(List.copyOf(tokens)) : null, null));
                        tokens.clear();
                    }
                    case Event.Failed f -> {
                        send(out, reported(f.error()).body());
                        return;
                    }
                    case Event.Done d -> {
                        send(out, chunk(id, now, new OpenAi.Delta(null, null), logprobs && !tokens.isEmpty() ? new OpenAi.Logprobs(tokens) : null,
                                finishReason(d.result())));
                        end(out, withUsage ? new OpenAi.ChatCompletionChunk(id, "chat.completion.chunk", now, completions.modelId(), List.of(),
                                usage(d.result())) : null);
                        return;
                    }
                }
            }
        } catch (IOException e) {
            generation.cancel();
            throw e;
        }
    }

    private OpenAi.ChatCompletionChunk chunk(String id, long now, OpenAi.Delta delta, OpenAi.Logprobs logprobs, String finish) {
        return new OpenAi.ChatCompletionChunk(id, "chat.completion.chunk", now, completions.modelId(),
                List.of(new OpenAi.ChunkChoice(0, delta, logprobs, finish)), null);
    }

    /** Ends a stream: the usage chunk when asked for (else null), then {@code [DONE]}. */
    private void end(OutputStream out, Object usageChunk) throws IOException {
        if (usageChunk != null) {
            send(out, usageChunk);
        }
        out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private void send(OutputStream out, Object data) throws IOException {
        out.write(("data: " + json.writeValueAsString(data) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static OpenAi.TokenLogprob logprob(TokenLogprobs t) {
        List<OpenAi.TopLogprob> top = t.top().stream().map(c -> new OpenAi.TopLogprob(text(c), c.logprob(), unsigned(c.bytes()))).toList();
        return new OpenAi.TokenLogprob(text(t.chosen()), t.chosen().logprob(), unsigned(t.chosen().bytes()), top);
    }

    private static String text(TokenLogprobs.Choice c) {
        return new String(c.bytes(), StandardCharsets.UTF_8);
    }

    private static int[] unsigned(byte[] bytes) {
        int[] out = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = bytes[i] & 0xFF;
        }
        return out;
    }

    private static String finishReason(GenerationResult r) {
        return switch (r.finishReason()) {
            case LENGTH, CONTEXT_FULL -> "length";
            case STOP, CANCELLED -> "stop";
        };
    }

    private static OpenAi.Usage usage(GenerationResult r) {
        return new OpenAi.Usage(r.promptTokens(), r.generatedTokens(), r.promptTokens() + r.generatedTokens());
    }

    @ServerExceptionMapper
    Response failed(RuntimeException e) {
        return reported(e).response();
    }

    /** In OpenAI's shape; a failure inside the service is logged, as {@link Problems} logs the other endpoints'. */
    private static OpenAiError reported(Throwable error) {
        OpenAiError e = OpenAiError.of(error);
        if (e.status() == 500 && !(error instanceof OpenAiError)) {
            LOG.error("OpenAI-compatible request failed", error);
        }
        return e;
    }

    /** What the engine reports, in order, from its thread to the request's. */
    private sealed interface Event {
        record Text(String text) implements Event {
        }

        record Reasoning(String text) implements Event {
        }

        record Token(TokenLogprobs logprobs) implements Event {
        }

        record PromptToken(TokenLogprobs logprobs) implements Event {
        }

        record Done(GenerationResult result) implements Event {
        }

        record Failed(Throwable error) implements Event {
        }
    }

    private static final class Events implements GenerationListener {
        private final BlockingQueue<Event> queue = new LinkedBlockingQueue<>();

        @Override
        public void onText(String piece) {
            queue.add(new Event.Text(piece));
        }

        @Override
        public void onReasoning(String piece) {
            queue.add(new Event.Reasoning(piece));
        }

        @Override
        public void onToken(TokenLogprobs token) {
            queue.add(new Event.Token(token));
        }

        @Override
        public void onPromptToken(TokenLogprobs token) {
            queue.add(new Event.PromptToken(token));
        }

        @Override
        public void onComplete(GenerationResult result) {
            queue.add(new Event.Done(result));
        }

        @Override
        public void onError(Throwable error) {
            queue.add(new Event.Failed(error));
        }

        Event next(Generation generation) {
            try {
                return queue.take();
            } catch (InterruptedException e) {
                generation.cancel();
                Thread.currentThread().interrupt();
                return new Event.Failed(e);
            }
        }
    }
}
