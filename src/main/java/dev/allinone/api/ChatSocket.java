package dev.allinone.api;

import dev.allinone.ai.ChatTurn;

import dev.allinone.ai.Conversations;
import dev.allinone.config.AllInOneConfig;
import io.quarkus.websockets.next.OnBinaryMessage;
import io.quarkus.websockets.next.OnClose;
import io.quarkus.websockets.next.OnOpen;
import io.quarkus.websockets.next.OnTextMessage;
import io.quarkus.websockets.next.WebSocket;
import io.quarkus.websockets.next.WebSocketConnection;
import io.vertx.core.buffer.Buffer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code /chat}: send text (or {@code {"text": "..."}}); receive {@code sentiment}, then {@code token}s, then
 * {@code done} — or an {@code error} frame, after which the connection stays usable.
 */
@WebSocket(path = "/chat")
public class ChatSocket {

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

    @OnOpen
    void open(WebSocketConnection connection) {
        sessions.put(connection.id(), new ConnectionSession(connection, turn, codec, maxQueuedTurns, admission,
                () -> conversations.forget(connection.id())));
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
