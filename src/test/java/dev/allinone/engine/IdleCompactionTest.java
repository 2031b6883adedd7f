package dev.allinone.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.Test;

/** The heap is compacted once each time the engine goes idle after work, never while it works or stays idle. */
class IdleCompactionTest {

    @Test
    void compactsOncePerIdlePeriodAfterWork() throws Exception {
        LoadedModel model = ModelLoader.load(new ModelOptions(TestCheckpoints.tinyRandom(), WeightFormat.AS_STORED, 0, 1024),
                SamplingOverrides.none());
        try (InferenceEngine engine = new InferenceEngine(model, new InferenceEngine.Limits(16, 60_000, InferenceEngineTest.KV_BYTES, 200))) {
            int[] prompt = engine.model().template().encode(List.of(new ChatTemplate.Message("user", "今天天气不错")), true,
                    engine.model().tokenizer());
            Thread.sleep(600);
            assertEquals(0, engine.idleCompactions(), "no work yet, nothing to compact");

            engine.scoreLabels(prompt, List.of("正面", "负面")).get(30, TimeUnit.SECONDS);
            awaitValue(engine::idleCompactions, 1);
            Thread.sleep(600);
            assertEquals(1, engine.idleCompactions(), "once per idle period, not again and again");

            for (int i = 0; i < 3; i++) {
                engine.scoreLabels(prompt, List.of("正面", "负面")).get(30, TimeUnit.SECONDS);
            }
            awaitValue(engine::idleCompactions, 2);
        }
    }

    private static void awaitValue(LongSupplier value, long expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (value.getAsLong() != expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(expected, value.getAsLong());
    }
}
