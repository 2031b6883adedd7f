package dev.allinone.api;

import dev.allinone.ai.ChatTurn;

import io.quarkus.websockets.next.WebSocketConnection;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

import org.jboss.logging.Logger;

/**
 * One WebSocket connection = one conversation (a new one, or the one its handshake names). Messages are answered one at a time, in arrival order, by a
 * virtual thread of the connection's own; a message that arrives while a reply streams waits in a short queue
 * (full queue: an immediate {@code busy} error frame). A turn then waits for its place among all connections'
 * turns ({@link TurnAdmission}: {@code queued} frames). {@code {"type":"stop"}} or closing the connection stops the
 * reply in progress (or the turn waiting).
 */
final class ConnectionSession {

    private static final Logger LOG = Logger.getLogger(ConnectionSession.class);

    private final WebSocketConnection connection;
    private final String conversationId;
    private final ChatTurn turn;
    private final FrameCodec codec;
    private final BlockingQueue<String> inbox;
    private final Runnable onEnd;
    private final TurnAdmission admission;
    private final String client;
    private final Thread worker;
    private volatile boolean closed;
    private volatile boolean stopRequested;

    /** @param onEnd runs once the last turn has ended after {@link #close()} (forgets the conversation) */
    ConnectionSession(WebSocketConnection connection, String conversationId, ChatTurn turn, FrameCodec codec, int maxQueuedTurns,
            TurnAdmission admission, Runnable onEnd) {
        this.connection = connection;
        this.conversationId = conversationId;
        this.admission = admission;
        this.client = clientOf(connection.handshakeRequest().remoteAddress());
        this.turn = turn;
        this.codec = codec;
        this.onEnd = onEnd;
        this.inbox = new ArrayBlockingQueue<>(maxQueuedTurns);
        this.worker = Thread.ofVirtual().name("chat-" + connection.id()).start(this::serve);
    }

    String conversationId() {
        return conversationId;
    }

    void receive(String message) {
        if (codec.isStopCommand(message)) {
            stopRequested = true; // handled at once, not queued: the reply in progress ends as "cancelled"
            return;
        }
        if (!inbox.offer(message)) {
            sendNow(new Failure("busy", 503, "Too many messages waiting on this connection; wait for the current reply",
                    null, Failure.RETRY_AFTER_SECONDS).frame());
        }
    }

    void close() {
        closed = true;
        worker.interrupt();
    }

    private void serve() {
        try {
            while (!closed) {
                String message;
                try {
                    message = inbox.take();
                } catch (InterruptedException e) {
                    return;
                }
                stopRequested = false;
                FrameCodec.ChatMessage chat;
                try {
                    chat = codec.chatMessage(message);
                } catch (FrameCodec.BadInput e) {
                    send(e.failure().frame());
                    continue;
                }
                long waitStart = System.nanoTime();
                TurnAdmission.Ticket ticket;
                try {
                    ticket = admission.enter(client, place -> send(new Frame.Queued(place)), () -> closed || stopRequested);
                } catch (TurnAdmission.QueueFull e) {
                    send(new Failure("busy", 503, e.getMessage(), null, Failure.RETRY_AFTER_SECONDS).frame());
                    continue;
                } catch (InterruptedException e) {
                    return;
                }
                if (ticket == null) {
                    // Stopped while waiting: the turn ends as a stopped reply would, without having run.
                    send(new Frame.Done(0, (System.nanoTime() - waitStart) / 1_000_000, "cancelled"));
                    continue;
                }
                try (ticket) {
                    turn.run(chat.text(), chat.tasks(), chat.params(), conversationId(), "websocket", new FrameListener(this::send),
                            () -> closed || stopRequested);
                }
            }
        } finally {
            onEnd.run();
        }
    }

    /** In-order send from the worker; a failed send means the peer is gone, which stops the turn. */
    private void send(Frame frame) {
        if (closed) {
            return;
        }
        try {
            connection.sendTextAndAwait(codec.write(frame));
        } catch (RuntimeException e) {
            LOG.debugf("Send to %s failed (%s); closing the session", connection.id(), e.getMessage());
            closed = true;
        }
    }

    /** The client part of a remote address such as {@code 127.0.0.1:53124} or {@code [::1]:53124}. */
    static String clientOf(String remoteAddress) {
        if (remoteAddress == null) {
            return "unknown";
        }
        int colon = remoteAddress.lastIndexOf(':');
        boolean hostThenPort = colon > 0 && (remoteAddress.indexOf(':') == colon || remoteAddress.startsWith("["));
        return hostThenPort ? remoteAddress.substring(0, colon) : remoteAddress;
    }

    private void sendNow(Frame frame) {
        connection.sendText(codec.write(frame)).subscribe().with(ok -> { }, e -> LOG.debugf("Send failed: %s", e.getMessage()));
    }
}
