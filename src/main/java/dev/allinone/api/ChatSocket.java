package dev.allinone.api;

import dev.allinone.ai.ChatTurn;

import dev.allinone.ai.Conversations;
import dev.allinone.config.AllInOneConfig;
import dev.allinone.ai.InvalidInputException;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.quarkus.websockets.next.CloseReason;
import io.quarkus.websockets.next.OnBinaryMessage;
import io.quarkus.websockets.next.OnClose;
import io.quarkus.websockets.next.OnOpen;
import io.quarkus.websockets.next.OnTextMessage;
import io.quarkus.websockets.next.WebSocket;
import io.quarkus.websockets.next.WebSocketConnection;
import io.vertx.core.buffer.Buffer;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code /chat}: send text (or {@code {"text": "..."}}); receive {@code sentiment}, then {@code token}s, then
 * {@code done} — or an {@code error} frame, after which the connection stays usable.
 */
@WebSocket(path = "/chat")
public class ChatSocket {

    /** The handshake's query parameter naming the conversation to continue (what proxies hash on). */
    public static final String CONVERSATION_PARAMETER = "conversation";
    /** The close code for a handshake whose conversation id cannot be one (RFC 6455: policy violation). */
    private static final int POLICY_VIOLATION = 1008;

    private final ChatTurn turn;
    private final FrameCodec codec;
    private final Conversations conversations;
    private final TurnAdmission admission;
    private final int maxQueuedTurns;
    private final int maxFrameChars;
    private final Map<String, ConnectionSession> sessions = new ConcurrentHashMap<>();

    ChatSocket(ChatTurn turn, FrameCodec codec, Conversations conversations, TurnAdmission admission, AllInOneConfig config) {
        this.turn = turn;
        this.codec = codec;
        this.conversations = conversations;
        this.admission = admission;
        this.maxQueuedTurns = config.chat().maxQueuedTurns();
        this.maxFrameChars = config.input().maxFrameChars();
    }

    /**
     * Without {@code ?conversation=} the connection is a new conversation, forgotten when it closes; with it, that
     * conversation is continued (or started under that id) and kept after the close for a later resume, and a
     * {@code conversation} frame comes first.
     */
    @OnOpen
    void open(WebSocketConnection connection) {
        String query = connection.handshakeRequest().query();
        String requested = query == null ? null : new QueryStringDecoder(query, false).parameters()
                .getOrDefault(CONVERSATION_PARAMETER, List.of()).stream().findFirst().orElse(null);
        if (requested == null) {
            sessions.put(connection.id(), new ConnectionSession(connection, connection.id(), turn, codec, maxQueuedTurns, admission,
                    () -> conversations.forget(connection.id())));
            return;
        }
        String id;
        try {
            id = conversations.checkId(requested, CONVERSATION_PARAMETER);
        } catch (InvalidInputException e) {
            connection.sendTextAndAwait(codec.write(Failure.of(e).frame()));
            connection.closeAndAwait(new CloseReason(POLICY_VIOLATION, "bad conversation id"));
            return;
        }
        connection.sendTextAndAwait(codec.write(new Frame.Conversation(id, conversations.turns(id))));
        sessions.put(connection.id(), new ConnectionSession(connection, id, turn, codec, maxQueuedTurns, admission, () -> { }));
    }

    @OnTextMessage
    void message(String message, WebSocketConnection connection) {
        if (message.length() > maxFrameChars) {
            connection.sendTextAndAwait(codec.write(Failure.badRequest("frame_too_large", null,
                    "The frame has " + message.length() + " characters; frames over " + maxFrameChars + " are not read").frame()));
            return;
        }
        ConnectionSession session = sessions.get(connection.id());
        if (session != null) {
            session.receive(message);
        }
    }

    @OnBinaryMessage
    void binary(Buffer data, WebSocketConnection connection) {
        connection.sendTextAndAwait(codec.write(Failure.badRequest("unsupported_frame", null,
                "Binary frames are not supported; send UTF-8 text or {\"text\": ...}").frame()));
    }

    @OnClose
    void close(WebSocketConnection connection) {
        ConnectionSession session = sessions.remove(connection.id());
        if (session != null) {
            session.close();
        }
    }
}
