package dev.allinone.ai;

import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.memory.ChatMemory;
import dev.langchain4j.model.TokenCountEstimator;
import dev.langchain4j.store.memory.chat.ChatMemoryStore;

import java.util.ArrayList;
import java.util.List;

/**
 * A token-window conversation memory that keeps the prompt's prefix stable, so the engine can reuse the KV of the
 * previous turns. LangChain4j's {@code TokenWindowChatMemory} drops the oldest message whenever the window is full,
 * which changes the start of the prompt at every turn from then on and forces a full prefill each time. Here, once
 * the messages exceed {@code maxTokens}, the oldest whole turns are forgotten until at most half the budget is left:
 * one turn pays a full prefill of what remains, and the following ones again only append.
 * The system message stays first and is replaced when it changes, as in LangChain4j's memories.
 * <p>
 * The messages live in a {@link ChatMemoryStore} (this process, or Redis shared by the replicas): read at every use
 * and written whole after every change, so this object holds nothing of its own and any replica can continue.
 */
final class StablePrefixChatMemory implements ChatMemory {

    private final Object id;
    private final int maxTokens;
    private final TokenCountEstimator tokens;
    private final ChatMemoryStore store;

    StablePrefixChatMemory(Object id, int maxTokens, TokenCountEstimator tokens, ChatMemoryStore store) {
        this.id = id;
        this.maxTokens = maxTokens;
        this.tokens = tokens;
        this.store = store;
    }

    @Override
    public Object id() {
        return id;
    }

    @Override
    public synchronized void add(ChatMessage message) {
        List<ChatMessage> messages = new ArrayList<>(store.getMessages(id));
        if (message instanceof SystemMessage) {
            if (!messages.isEmpty() && messages.getFirst() instanceof SystemMessage current) {
                if (current.equals(message)) {
                    return;
                }
                messages.removeFirst();
            }
            messages.addFirst(message);
        } else {
            messages.add(message);
        }
        if (tokens.estimateTokenCountInMessages(messages) > maxTokens) {
            forgetOldestTurns(messages);
        }
        store.updateMessages(id, messages);
    }

    /** Drops whole turns from the oldest on until the messages take at most half the budget. */
    private void forgetOldestTurns(List<ChatMessage> messages) {
        int first = !messages.isEmpty() && messages.getFirst() instanceof SystemMessage ? 1 : 0;
        while (messages.size() > first + 1 && tokens.estimateTokenCountInMessages(messages) > maxTokens / 2) {
            messages.remove(first);
            while (messages.size() > first + 1 && !(messages.get(first) instanceof UserMessage)) {
                messages.remove(first); // the rest of that turn: a turn starts with the user's message
            }
        }
    }

    @Override
    public synchronized List<ChatMessage> messages() {
        return List.copyOf(store.getMessages(id));
    }

    @Override
    public synchronized void clear() {
        store.deleteMessages(id);
    }
}
