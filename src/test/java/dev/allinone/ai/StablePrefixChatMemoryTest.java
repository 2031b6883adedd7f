package dev.allinone.ai;

import dev.allinone.ai.memory.InProcessConversationStore;
import java.time.Duration;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.TokenCountEstimator;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StablePrefixChatMemoryTest {

    /** One token per character plus the chat template's framing, like the real estimator's shape. */
    private static final TokenCountEstimator CHARS = new TokenCountEstimator() {
        @Override
        public int estimateTokenCountInText(String text) {
            return text.length();
        }

        @Override
        public int estimateTokenCountInMessage(ChatMessage message) {
            return 5 + QwenTokenCountEstimator.textOf(message).length();
        }

        @Override
        public int estimateTokenCountInMessages(Iterable<ChatMessage> messages) {
            int total = 0;
            for (ChatMessage m : messages) {
                total += estimateTokenCountInMessage(m);
            }
            return total;
        }
    };

    private static void turn(StablePrefixChatMemory memory, int i) {
        memory.add(SystemMessage.from("system prompt"));
        memory.add(UserMessage.from("question " + i));
        memory.add(AiMessage.from("answer number " + i));
    }

    @Test
    void turnsAreForgottenInChunksSoThePrefixStaysTheSameForTheFollowingTurns() {
        StablePrefixChatMemory memory = new StablePrefixChatMemory("c", 200, CHARS, new InProcessConversationStore(10, Duration.ofHours(1)));
        int changes = 0;
        List<ChatMessage> previous = List.of();
        for (int i = 0; i < 40; i++) {
            turn(memory, i);
            List<ChatMessage> now = memory.messages();
            boolean appended = now.size() > previous.size() && now.subList(0, previous.size()).equals(previous);
            if (!appended) {
                changes++;
            }
            assertTrue(CHARS.estimateTokenCountInMessages(now) <= 200, "within budget");
            assertInstanceOf(SystemMessage.class, now.getFirst());
            assertInstanceOf(UserMessage.class, now.get(1), "whole turns are kept: " + now);
            previous = now;
        }
        // 40 turns of ~39 tokens each over a 200-token budget: a one-message-at-a-time window would change the
        // prefix at every turn once full (35 times); dropping to half the budget changes it every few turns.
        assertTrue(changes <= 14, "prefix changed at " + changes + " of 40 turns");
        assertTrue(changes >= 8, "the memory did forget: " + changes);
    }

    @Test
    void aChangedSystemMessageReplacesTheOldOneAtTheFront() {
        StablePrefixChatMemory memory = new StablePrefixChatMemory("c", 1000, CHARS, new InProcessConversationStore(10, Duration.ofHours(1)));
        turn(memory, 1);
        memory.add(SystemMessage.from("new system prompt"));
        assertEquals(SystemMessage.from("new system prompt"), memory.messages().getFirst());
        assertEquals(3, memory.messages().size());
        memory.clear();
        assertEquals(0, memory.messages().size());
    }
}
