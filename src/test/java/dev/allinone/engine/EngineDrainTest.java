package dev.allinone.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.tokenizer.ChatTemplate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Graceful shutdown at the engine: no new work once draining, running work finishes, or ends when time is up. */
class EngineDrainTest {

    private static int[] prompt(InferenceEngine engine) {
        return engine.model().template().encode(List.of(new ChatTemplate.Message("user", "讲个故事")), true, engine.model().tokenizer());
    }

    @Test
    void drainLetsRunningRepliesFinishAndRefusesNewOnes() throws Exception {
        InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyLooping(), InferenceEngineTest.KV_BYTES);
        GenerationFuture reply = new GenerationFuture();
        engine.generate(prompt(engine), new SamplingParams(0f, 1, 1f, 1f, 200), reply);
        assertTrue(engine.drain(Duration.ofSeconds(30)));
        assertEquals(GenerationResult.FinishReason.LENGTH, reply.result().get(1, TimeUnit.SECONDS).finishReason());
        assertThrows(ShuttingDownException.class, () -> engine.scoreLabels(prompt(engine), List.of("正面", "负面")));
        engine.close();
    }

    @Test
    void repliesStillRunningWhenTheGraceEndsFailWithShuttingDown() throws Exception {
        InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyLooping(), InferenceEngineTest.KV_BYTES);
        GenerationFuture reply = new GenerationFuture();
        engine.generate(prompt(engine), new SamplingParams(0f, 1, 1f, 1f, 1_000), reply);
        assertFalse(engine.drain(Duration.ofMillis(50)));
        engine.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> reply.result().get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof ShuttingDownException, e.toString());
    }

    @Test
    void manyCancelledStreamsLeaveNoKeyValueMemoryBehind() throws Exception {
        InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyLooping(), InferenceEngineTest.KV_BYTES);
        int prefix = engine.model().template().encode(List.of(new ChatTemplate.Message("system", "s")), false,
                engine.model().tokenizer()).length;
        int[] prompt = engine.model().template().encode(List.of(new ChatTemplate.Message("system", "s"),
                new ChatTemplate.Message("user", "讲个故事")), true, engine.model().tokenizer());
        for (int round = 0; round < 20; round++) {
            List<GenerationFuture> replies = new java.util.ArrayList<>();
            List<Generation> running = new java.util.ArrayList<>();
            for (int i = 0; i < 10; i++) {
                GenerationFuture reply = new GenerationFuture();
                replies.add(reply);
                running.add(engine.generate(prompt, new SamplingParams(0f, 1, 1f, 1f, 10_000), reply));
            }
            Thread.sleep(5);
            running.forEach(Generation::cancel);
            for (GenerationFuture reply : replies) {
                assertEquals(GenerationResult.FinishReason.CANCELLED, reply.result().get(30, TimeUnit.SECONDS).finishReason());
            }
        }
        // A request's memory is released and it stops counting before its caller hears of the end: no waiting here.
        assertEquals(0, engine.activeSequences(), "every cancelled stream released its key/value buffer");
        assertEquals(0, engine.load());
        engine.close();
    }
}
