package dev.allinone.ai;

import dev.langchain4j.service.MemoryId;
import dev.langchain4j.service.SystemMessage;
import dev.langchain4j.service.TokenStream;
import dev.langchain4j.service.UserMessage;
import dev.langchain4j.service.memory.ChatMemoryAccess;

/** Task 2: a warm, empathetic assistant that streams its reply; one memory per conversation. */
public interface ChatAssistant extends ChatMemoryAccess {

    @SystemMessage(fromResource = "/prompts/chat.txt")
    TokenStream chat(@MemoryId String conversationId, @UserMessage String text);
}
