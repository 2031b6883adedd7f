package dev.allinone.api;

import io.quarkus.websockets.next.WebSocketConnection;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

import org.jboss.logging.Logger;

/**
 * One WebSocket connection = one conversation. Messages are answered one at a time, in arrival order, by a
 * virtual thread of the connection's own; a message that arrives while a reply streams waits in a short queue
 * (full queue: an immediate {@code busy} error frame). {@code {"type":"stop"}} or closing the connection stops the
 * reply in progress.
 */
final class ConnectionSession {

    private static final Logger LOG = Logger.getLogger(ConnectionSession.class);

    private final WebSocketConnection connection;
    private final ChatTurn turn;
    private final FrameCodec codec;
    private final BlockingQueue<String> inbox;
    private final Runnable onEnd;
    private final ClientQuota quota;
    private final String client;
    private final Thread worker;
    private volatile boolean closed;
    private volatile boolean stopRequested;

    /** @param onEnd runs once the last turn has ended after {@link #close()} (forgets the conversation) */
    ConnectionSession(WebSocketConnection connection, ChatTurn turn, FrameCodec codec, int maxQueuedTurns, ClientQuota quota,
            Runnable onEnd) {
        this.connection = connection;
        this.quota = quota;
        this.client = ClientQuota.clientOf(connection.handshakeRequest().remoteAddress());
        this.turn = turn;
        this.codec = codec;
        this.onEnd = onEnd;
        this.inbox = new ArrayBlockingQueue<>(maxQueuedTurns);
        this.worker = Thread.ofVirtual().name("chat-" + connection.id()).start(this::serve);
    }

    String conversationId() {
        return connection.id();
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
                if (!quota.tryAcquire(client)) {
                    send(new Failure("busy", 503, "This client already has " + quota.maxActive()
                            + " replies in progress; wait for one to finish", null, Failure.RETRY_AFTER_SECONDS).frame());
                    continue;
                }
                try {
                    String text = codec.chatText(message);
                    turn.run(text, conversationId(), this::send, () -> closed || stopRequested);
                } catch (FrameCodec.BadInput e) {
                    send(e.failure().frame());
                } finally {
                    quota.release(client);
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

    private void sendNow(Frame frame) {
        connection.sendText(codec.write(frame)).subscribe().with(ok -> { }, e -> LOG.debugf("Send failed: %s", e.getMessage()));
    }
}
