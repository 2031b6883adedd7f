package dev.allinone.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.tokenizer.ThinkTags;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A Qwen3's thinking never comes out as its reply: on the scripted tiny Qwen3 ({@link TestCheckpoints#tinyQwen3Thinking}),
 * what it writes between {@code <think>} and {@code </think>} goes to {@link GenerationListener#onReasoning} and
 * {@link GenerationResult#reasoning()}, the reply streams only the answer, and its end-of-turn comes from its own files.
 */
class ThinkingTest {

    private static final SamplingParams GREEDY = new SamplingParams(0f, 1, 1f, 1f, 64);
    private static InferenceEngine engine;

    @BeforeAll
    static void load() {
        engine = InferenceEngineTest.engine(TestCheckpoints.tinyQwen3Thinking(), InferenceEngineTest.KV_BYTES);
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    private static int[] prompt(boolean thinking) {
        return engine.model().template().encode(List.of(new ChatTemplate.Message("system", "简短"),
                new ChatTemplate.Message("user", "二加二等于几？")), true, thinking, engine.model().tokenizer());
    }

    /** Pieces as the listener heard them: reply text and reasoning apart. */
    private static final class Heard extends GenerationFuture {
        final StringBuilder text = new StringBuilder();
        final StringBuilder reasoning = new StringBuilder();

        @Override
        public void onText(String piece) {
            text.append(piece);
            super.onText(piece);
        }

        @Override
        public void onReasoning(String piece) {
            reasoning.append(piece);
        }
    }

    private static Heard generate(int[] prompt) throws Exception {
        Heard heard = new Heard();
        engine.generate(prompt, GREEDY, heard);
        GenerationResult result = heard.result().get(60, TimeUnit.SECONDS);
        assertEquals(GenerationResult.FinishReason.STOP, result.finishReason(), result.toString());
        assertEquals(heard.text.toString(), result.text());
        assertEquals(heard.reasoning.toString(), result.reasoning());
        return heard;
    }

    @Test
    void withThinkingOnTheThoughtIsReasoningAndTheReplyIsTheAnswer() throws Exception {
        Heard heard = generate(prompt(true));
        assertEquals(TestCheckpoints.QWEN3_THOUGHT, heard.reasoning.toString());
        assertEquals(TestCheckpoints.QWEN3_ANSWER, heard.text.toString(), "no tags, no thought, no newlines after </think>");
    }

    @Test
    void thinkingIsOffByDefaultTheTemplateClosesAnEmptyBlock() throws Exception {
        int[] off = prompt(false);
        ThinkTags tags = ThinkTags.of(engine.model().tokenizer());
        assertTrue(IntStream.of(off).anyMatch(id -> id == tags.open()) && IntStream.of(off).anyMatch(id -> id == tags.close()));
        assertFalse(tags.openAtEnd(off));
        Heard heard = generate(off);
        assertEquals("", heard.reasoning.toString());
        assertEquals(TestCheckpoints.QWEN3_ANSWER, heard.text.toString());
    }

    /** A prompt that ends inside an open block (thinking-only Qwen3 templates end with {@code <think>\n}) starts as reasoning. */
    @Test
    void aPromptEndingInsideAThinkBlockStartsAsReasoning() throws Exception {
        int[] on = prompt(true);
        int[] open = IntStream.concat(IntStream.of(on), IntStream.of(ThinkTags.of(engine.model().tokenizer()).open())).toArray();
        Heard heard = generate(open);
        assertEquals(TestCheckpoints.QWEN3_THOUGHT, heard.reasoning.toString());
        assertEquals(TestCheckpoints.QWEN3_ANSWER, heard.text.toString());
    }

    @Test
    void endOfTurnAndEosComeFromTheModelsOwnFiles() {
        int imEnd = engine.model().tokenizer().specialTokenId("<|im_end|>");
        assertEquals(imEnd, engine.model().stopTokens().iterator().next(), "tokenizer_config.json's eos_token first");
        assertTrue(engine.model().stopTokens().contains(engine.model().tokenizer().specialTokenId("<|endoftext|>")),
                "generation_config.json's eos ids");
        assertEquals(151669, engine.model().tokenizer().size(), "Qwen3's added tokens up to </think>");
    }
}
