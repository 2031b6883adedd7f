package dev.allinone.ai;

import dev.allinone.config.AllInOneConfig;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Conversation ids and the lifetime of their memories. A WebSocket connection is one conversation, forgotten
 * when it closes; REST conversations (by id) are kept for the most recent {@code allinone.chat.max-rest-conversations}.
 */
@ApplicationScoped
public class Conversations {

    private final ChatAssistant assistant;
    private final int maxRest;
    private final Map<String, Boolean> restConversations = new LinkedHashMap<>(16, 0.75f, true);

    Conversations(ChatAssistant assistant, AllInOneConfig config) {
        this.assistant = assistant;
        this.maxRest = config.chat().maxRestConversations();
    }

    public String newId() {
        return UUID.randomUUID().toString();
    }

    /** Marks a REST conversation as used, forgetting the least recently used ones beyond the limit. */
    public String touchRest(String id) {
        String key = id == null ? newId() : id;
        synchronized (restConversations) {
            restConversations.put(key, Boolean.TRUE);
            var it = restConversations.keySet().iterator();
            while (restConversations.size() > maxRest && it.hasNext()) {
                String oldest = it.next();
                it.remove();
                assistant.evictChatMemory(oldest);
            }
        }
        return key;
    }

    public void forget(String id) {
        assistant.evictChatMemory(id);
    }
}
