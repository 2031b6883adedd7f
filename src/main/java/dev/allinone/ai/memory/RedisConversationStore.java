package dev.allinone.ai.memory;

import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.ChatMessageDeserializer;
import dev.langchain4j.data.message.ChatMessageSerializer;
import io.quarkus.redis.datasource.RedisDataSource;
import io.quarkus.redis.datasource.value.ValueCommands;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

/**
 * Conversations in Redis, shared by every replica: one key per conversation ({@value #KEY_PREFIX} + id) holding its
 * messages as LangChain4j's JSON, written whole after every change with the time-to-live renewed.
 * <p>
 * Redis is not needed to serve: every conversation is also kept in this process ({@link InProcessConversationStore}).
 * When Redis fails (refused, timed out), the turn goes on with the local copy, Redis is left alone for
 * {@link #RETRY_AFTER}, and the state says so (readiness data, {@code allinone.memory.store.up}); a conversation then
 * continues on the replica that holds it, and one whose turns reach another replica starts afresh there. Once Redis
 * answers again, each conversation's next turn writes it back whole. A value that cannot be read is logged and the
 * local copy used instead (and written over it by the turn).
 */
public final class RedisConversationStore implements ConversationStore {

    public static final String KEY_PREFIX = "allinone:conversation:";
    /** How long Redis is left alone after a failure before it is tried again. */
    static final Duration RETRY_AFTER = Duration.ofSeconds(2);

    private static final Logger LOG = Logger.getLogger(RedisConversationStore.class);

    private final ValueCommands<String, String> values;
    private final RedisDataSource redis;
    private final InProcessConversationStore local;
    private final long ttlSeconds;
    /** Redis is not tried before this {@link System#nanoTime()}; 0 while it answers. */
    private final AtomicLong downUntil = new AtomicLong();
    private volatile String failure;

    public RedisConversationStore(RedisDataSource redis, InProcessConversationStore local, Duration ttl) {
        this.redis = redis;
        this.values = redis.value(String.class);
        this.local = local;
        this.ttlSeconds = Math.max(1, ttl.toSeconds());
    }

    @Override
    public List<ChatMessage> getMessages(Object memoryId) {
        String id = memoryId.toString();
        String json = null;
        if (available()) {
            try {
                json = values.get(KEY_PREFIX + id);
                answered();
            } catch (RuntimeException e) {
                failed(e);
            }
        }
        if (json != null) {
            try {
                List<ChatMessage> shared = ChatMessageDeserializer.messagesFromJson(json);
                local.updateMessages(id, shared);
                return shared;
            } catch (RuntimeException unreadable) {
                LOG.warnf("Conversation %s: its value in Redis cannot be read (%s); going on with this replica's copy", id,
                        unreadable.getMessage());
            }
        }
        return local.getMessages(id);
    }

    @Override
    public void updateMessages(Object memoryId, List<ChatMessage> messages) {
        String id = memoryId.toString();
        local.updateMessages(id, messages);
        if (available()) {
            try {
                values.setex(KEY_PREFIX + id, ttlSeconds, ChatMessageSerializer.messagesToJson(messages));
                answered();
            } catch (RuntimeException e) {
                failed(e);
            }
        }
    }

    @Override
    public void deleteMessages(Object memoryId) {
        String id = memoryId.toString();
        local.deleteMessages(id);
        if (available()) {
            try {
                redis.key().del(KEY_PREFIX + id);
                answered();
            } catch (RuntimeException e) {
                failed(e);
            }
        }
    }

    @Override
    public String kind() {
        return "redis";
    }

    /** {@code up}, or why Redis is not used right now (conversations are then kept by this replica only). */
    @Override
    public String state() {
        String why = failure;
        return why == null ? "up" : "unreachable (" + why + "): conversations kept by this replica only";
    }

    /** 1 while Redis answers, 0 after a failure until it answers again. */
    public double up() {
        return failure == null ? 1 : 0;
    }

    private boolean available() {
        long until = downUntil.get();
        return until == 0 || System.nanoTime() - until >= 0;
    }

    private void answered() {
        if (failure != null) {
            LOG.infof("Redis answers again; conversations are shared by the replicas");
            failure = null;
        }
        downUntil.set(0);
    }

    private void failed(RuntimeException e) {
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (failure == null) {
            LOG.warnf("Redis failed (%s): conversations are kept by this replica only until it answers again", why);
        }
        failure = why;
        downUntil.set(System.nanoTime() + RETRY_AFTER.toNanos());
    }
}
