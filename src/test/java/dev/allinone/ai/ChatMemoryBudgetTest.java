package dev.allinone.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.ReadyService;
import dev.allinone.engine.TestCheckpoints;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The service's conversation memory under {@code allinone.chat.memory-tokens}: a long conversation reaches the
 * budget, the oldest whole turns are forgotten, the system message stays first, and the conversation goes on.
 */
@QuarkusTest
@TestProfile(ChatMemoryBudgetTest.SmallBudget.class)
class ChatMemoryBudgetTest {

    static final int BUDGET = 300;

    public static class SmallBudget implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", TestCheckpoints.tinyScripted().toString(),
                    "allinone.chat.memory-tokens", String.valueOf(BUDGET));
        }
    }

    @Inject
    ChatAssistant assistant;

    @Inject
    QwenTokenCountEstimator tokens;

    @Test
    void aLongConversationForgetsItsOldestTurnsAndStaysWithinTheBudget() throws Exception {
        ReadyService.await();
        int turn = 0;
        int before;
        List<ChatMessage> messages = List.of();
        do {
            before = messages.size();
            chat("第" + turn + "句");
            messages = assistant.getChatMemory("long").messages();
            turn++;
        } while (messages.size() == before + (before == 0 ? 3 : 2) && turn < 60);
        assertTrue(turn < 60, "60 turns never reached a budget of " + BUDGET + " tokens");
        assertTrue(turn > 2, "the budget was reached after " + turn + " turns: too small to mean anything");

        assertInstanceOf(SystemMessage.class, messages.getFirst(), messages.toString());
        assertTrue(tokens.estimateTokenCountInMessages(messages) <= BUDGET, messages.toString());
        assertFalse(messages.stream().anyMatch(m -> m instanceof UserMessage u && u.singleText().equals("第0句")), messages.toString());
        assertInstanceOf(UserMessage.class, messages.get(1), "a kept turn starts with the user's message: " + messages);
        assertEquals("第" + (turn - 1) + "句", ((UserMessage) messages.get(messages.size() - 2)).singleText());
        assertInstanceOf(AiMessage.class, messages.getLast());

        chat("还在吗");
        List<ChatMessage> after = assistant.getChatMemory("long").messages();
        assertEquals(messages.size() + 2, after.size(), "after forgetting, turns append again: " + after);
        assertEquals(messages, after.subList(0, messages.size()));
        assertTrue(assistant.evictChatMemory("long"));
    }

    private void chat(String text) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        assistant.chat("long", text).onPartialResponse(p -> { }).onCompleteResponse(r -> done.complete(null))
                .onError(done::completeExceptionally).start();
        done.get(30, TimeUnit.SECONDS);
    }
}
