package dev.allinone.ai.memory;

import dev.langchain4j.store.memory.chat.ChatMemoryStore;

/**
 * Where conversations live, behind LangChain4j's {@link ChatMemoryStore} seam: a conversation's messages are read
 * at every use and written whole after every change, so any replica that reaches the store continues it.
 */
public interface ConversationStore extends ChatMemoryStore {

    /** {@code memory} or {@code redis}. */
    String kind();

    /** How the store is doing, for the readiness data: {@code up}, or what is wrong and what the service does about it. */
    String state();
}
