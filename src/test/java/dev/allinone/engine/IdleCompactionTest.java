package dev.allinone.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.tokenizer.ChatTemplate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/**
 * The heap is compacted once each time the engine goes idle after work, never while it works or stays idle. "Stays
 * idle" is observed, not slept on: the model thread then waits without a timer, so nothing can wake it but work.
 */
class IdleCompactionTest {

    @Test
    void compactsOncePerIdlePeriodAfterWork() throws Exception {
        LoadedModel model = ModelLoader.load(new ModelOptions(TestCheckpoints.tinyRandom(), WeightFormat.AS_STORED, 0, 1024),
                SamplingOverrides.none());
        try (InferenceEngine engine = new InferenceEngine(model, new InferenceEngine.Limits(16, 60_000, InferenceEngineTest.KV_BYTES, 200))) {
            int[] prompt = engine.model().template().encode(List.of(new ChatTemplate.Message("user", "今天天气不错")), true,
                    engine.model().tokenizer());
            awaitWaitingWithoutTimer(engine);
            assertEquals(0, engine.idleCompactions(), "no work yet, nothing to compact");

            engine.scoreLabels(prompt, List.of("正面", "负面")).get(30, TimeUnit.SECONDS);
            awaitValue(engine::idleCompactions, 1);
            awaitWaitingWithoutTimer(engine);
            assertEquals(1, engine.idleCompactions(), "once per idle period, not again and again");

            for (int i = 0; i < 3; i++) {
                engine.scoreLabels(prompt, List.of("正面", "负面")).get(30, TimeUnit.SECONDS);
            }
            awaitValue(engine::idleCompactions, 2);
        }
    }

    /** WAITING, not TIMED_WAITING: parked until work arrives, with no timer that could compact again. */
    private static void awaitWaitingWithoutTimer(InferenceEngine engine) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (engine.modelThread().getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(Thread.State.WAITING, engine.modelThread().getState());
    }

    private static void awaitValue(LongSupplier value, long expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (value.getAsLong() != expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(expected, value.getAsLong());
    }
}
