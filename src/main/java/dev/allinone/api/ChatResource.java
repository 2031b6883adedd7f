package dev.allinone.api;

import dev.allinone.ai.Conversations;
import dev.allinone.ai.ChatTurn;
import dev.allinone.ai.InvalidInputException;
import dev.allinone.ai.TaskResult;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.media.Content;
import org.eclipse.microprofile.openapi.annotations.media.ExampleObject;
import org.eclipse.microprofile.openapi.annotations.parameters.RequestBody;
import org.eclipse.microprofile.openapi.annotations.responses.APIResponse;
import io.smallrye.common.annotation.Blocking;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.sse.Sse;
import jakarta.ws.rs.sse.OutboundSseEvent;
import io.smallrye.mutiny.Multi;
import io.vertx.core.http.HttpServerResponse;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /api/chat {"text","conversationId"?}}: the whole turn as JSON, or with
 * {@code Accept: text/event-stream} the same frames as the WebSocket, one Server-Sent Event each. The conversation is
 * named by the {@code X-Conversation-Id} header (what proxies route on) or the body's {@code conversationId}; every
 * answer carries {@code X-Conversation-Id} and {@code X-Conversation-Turns} (the earlier turns it held).
 */
@Path("/api/chat")
public class ChatResource {

    public static final String CONVERSATION_ID = "X-Conversation-Id";
    public static final String CONVERSATION_TURNS = "X-Conversation-Turns";

    /** @param analyses the answers of the chosen tasks other than sentiment, in order */
    public record ChatAnswer(String conversationId, String reply, SentimentResource.SentimentAnswer sentiment,
            List<TaskResult> analyses, int tokens, long ms) {
    }

    private final ChatTurn turn;
    private final FrameCodec codec;
    private final Conversations conversations;

    ChatResource(ChatTurn turn, FrameCodec codec, Conversations conversations) {
        this.turn = turn;
        this.codec = codec;
        this.conversations = conversations;
    }

    /** A request read and checked once: the message with its analyses, the conversation and its earlier turns. */
    private record Turn(ChatTurn.Request request, String conversationId, int earlierTurns) {
    }

    private Turn read(Requests.ChatRequest request, String headerId) {
        // Checked once, here: bad text, tasks, parameters or ids are refused before anything is streamed.
        Requests.checked(request);
        ChatTurn.Request checked = turn.prepare(request.text(), request.tasks(), request.params());
        String id = conversationId(headerId, request.conversationId());
        return new Turn(checked, id, conversations.turns(id));
    }

    /** The header's id, the body's, or a new one; both given must agree. */
    private String conversationId(String headerId, String bodyId) {
        if (bodyId != null) {
            conversations.checkId(bodyId, "conversationId");
        }
        if (headerId == null || headerId.isEmpty()) { // an empty header (a proxy's) names nothing
            return bodyId == null ? conversations.newId() : bodyId;
        }
        conversations.checkId(headerId, CONVERSATION_ID);
        if (bodyId != null && !bodyId.equals(headerId)) {
            throw InvalidInputException.invalid("conversation_mismatch", "conversationId",
                    "The body's conversationId differs from the " + CONVERSATION_ID + " header; send one, or the same in both");
        }
        return headerId;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.APPLICATION_JSON)
    @Operation(summary = "One chat turn: the sentiment, then the whole reply (a conversationId continues a conversation)")
    @RequestBody(content = @Content(examples = {
            @ExampleObject(name = "中文", value = "{\"text\":\"今天被领导批评了，心情很低落\",\"conversationId\":\"c1\"}"),
            @ExampleObject(name = "English", value = "{\"text\":\"I finally passed my driving test!\"}"),
            @ExampleObject(name = "with intent and keywords", value = "{\"text\":\"快递三天了还没到，怎么回事？\",\"tasks\":[\"sentiment\",\"intent\",\"keywords\"]}")}))
    @APIResponse(responseCode = "200", content = @Content(examples = @ExampleObject(name = "reply", value =
            "{\"conversationId\":\"c1\",\"reply\":\"抱抱你……\",\"sentiment\":{\"label\":\"NEGATIVE\",\"score\":0.9},\"analyses\":[],\"tokens\":57,\"ms\":4100}")))
    public Response chat(Requests.ChatRequest body, @HeaderParam(CONVERSATION_ID) String headerId) {
        Turn request = read(body, headerId);
        List<Frame> frames = new ArrayList<>();
        turn.run(request.request(), request.conversationId(), "rest", new FrameListener(frames::add), () -> false);
        StringBuilder reply = new StringBuilder();
        SentimentResource.SentimentAnswer sentiment = null;
        List<TaskResult> analyses = new ArrayList<>();
        for (Frame frame : frames) {
            switch (frame) {
                case Frame.Sentiment s -> sentiment = new SentimentResource.SentimentAnswer(s.label(), s.score());
                case Frame.Analysis a -> analyses.add(a.result());
                case Frame.Token t -> reply.append(t.text());
                case Frame.Queued q -> {
                    // Only WebSocket turns wait in the turn queue.
                }
                case Frame.Conversation c -> {
                    // Only sent when a WebSocket opens.
                }
                case Frame.Error e -> {
                    return Response.fromResponse(Problems.response(e.failure())).header(CONVERSATION_ID, request.conversationId())
                            .header(CONVERSATION_TURNS, request.earlierTurns()).build();
                }
                case Frame.Done d -> {
                    return Response.ok(new ChatAnswer(request.conversationId(), reply.toString(), sentiment, analyses, d.tokens(), d.ms()))
                            .header(CONVERSATION_ID, request.conversationId()).header(CONVERSATION_TURNS, request.earlierTurns()).build();
                }
            }
        }
        throw new IllegalStateException("The chat turn ended without a final frame");
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @Operation(summary = "One chat turn as server-sent events: sentiment, token…, done (the WebSocket's frames)")
    @Blocking // reads the conversation store (Redis perhaps) before the stream starts
    public Multi<OutboundSseEvent> stream(Requests.ChatRequest body, @HeaderParam(CONVERSATION_ID) String headerId,
            @Context Sse sse, @Context HttpServerResponse response) {
        Turn request = read(body, headerId);
        // X-Accel-Buffering: nginx (ingress-nginx) passes each event on at once instead of buffering the stream.
        response.putHeader(CONVERSATION_ID, request.conversationId())
                .putHeader(CONVERSATION_TURNS, String.valueOf(request.earlierTurns()))
                .putHeader("X-Accel-Buffering", "no").putHeader("Cache-Control", "no-cache");
        return Multi.createFrom().emitter(emitter -> Thread.ofVirtual().name("sse-chat").start(() -> {
            turn.run(request.request(), request.conversationId(), "sse",
                    new FrameListener(frame -> emitter.emit(sse.newEventBuilder().name(frame.type()).data(codec.write(frame)).build())),
                    emitter::isCancelled);
            emitter.complete();
        }));
    }
}
