package dev.allinone.ai.memory;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.langchain4j.data.message.ChatMessage;

import java.time.Duration;
import java.util.List;

/**
 * Conversations in this process: the most recent {@code maxConversations}, each forgotten {@code ttl} after its
 * last use. Lost with the process; the default, and Redis' local copy.
 */
public final class InProcessConversationStore implements ConversationStore {

    private final Cache<String, List<ChatMessage>> conversations;

    public InProcessConversationStore(int maxConversations, Duration ttl) {
        this.conversations = Caffeine.newBuilder().maximumSize(maxConversations).expireAfterAccess(ttl).build();
    }

    @Override
    public List<ChatMessage> getMessages(Object memoryId) {
        List<ChatMessage> messages = conversations.getIfPresent(memoryId.toString());
        return messages == null ? List.of() : messages;
    }

    @Override
    public void updateMessages(Object memoryId, List<ChatMessage> messages) {
        conversations.put(memoryId.toString(), List.copyOf(messages));
    }

    @Override
    public void deleteMessages(Object memoryId) {
        conversations.invalidate(memoryId.toString());
    }

    @Override
    public String kind() {
        return "memory";
    }

    @Override
    public String state() {
        return "up";
    }
}
