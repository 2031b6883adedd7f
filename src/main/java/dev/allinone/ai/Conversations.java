package dev.allinone.ai;

import dev.allinone.ai.memory.ConversationStore;
import dev.langchain4j.data.message.UserMessage;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.UUID;

/**
 * Conversation ids and what the store holds for them. A conversation is continued by its id from any channel and
 * any replica that reaches the store (REST: the {@code X-Conversation-Id} header or the body's
 * {@code conversationId}; WebSocket: {@code ?conversation=} on the handshake); it is forgotten
 * {@code allinone.memory.ttl} after its last turn, or sooner when the in-process store is full.
 */
@ApplicationScoped
public class Conversations {

    public static final int MAX_ID_CHARS = 128;

    private final ConversationStore store;

    Conversations(ConversationStore store) {
        this.store = store;
    }

    public String newId() {
        return UUID.randomUUID().toString();
    }

    /**
     * The id as given, when it can name a conversation: 1 to {@value #MAX_ID_CHARS} characters, not all blank, no
     * control characters.
     *
     * @param field where the id came from, for the error
     * @throws InvalidInputException otherwise ({@code bad_conversation_id})
     */
    public String checkId(String id, String field) {
        if (id == null || id.isEmpty() || id.length() > MAX_ID_CHARS || id.isBlank() || id.chars().anyMatch(Character::isISOControl)) {
            throw InvalidInputException.invalid("bad_conversation_id", field, "A conversation id is 1 to " + MAX_ID_CHARS
                    + " characters, not all blank, without control characters");
        }
        return id;
    }

    /** Forgets the conversation everywhere it is stored. */
    public void forget(String id) {
        store.deleteMessages(id);
    }

    /** The earlier turns the conversation holds now (0 for an id never seen, or forgotten). */
    public int turns(String id) {
        return (int) store.getMessages(id).stream().filter(UserMessage.class::isInstance).count();
    }
}
