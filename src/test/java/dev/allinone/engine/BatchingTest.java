package dev.allinone.engine;

import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.model.Transformer;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.KvCacheType;
import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Continuous batching: a sequence computes the same numbers and writes the same text whatever runs beside it. */
class BatchingTest {

    private static final SamplingParams GREEDY = new SamplingParams(0f, 1, 1f, 1f, 40);
    private static final List<String> USERS = List.of("刚拿到offer，超级开心！", "今天下雨了，心情一般。", "Tell me a story about a cat.");

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void aBatchStepGivesEachSequenceTheLogitsItGetsAlone(KvCacheType kvType) {
        Path f32 = TestCheckpoints.tinyRandom();
        Path aligned = TestCheckpoints.smallAligned();
        for (LoadedModel model : List.of(
                ModelLoader.load(new ModelOptions(f32, WeightFormat.AS_STORED, 0, 1024), SamplingOverrides.none()),
                ModelLoader.load(new ModelOptions(aligned, WeightFormat.Q4, 0, 1024, aligned.resolveSibling("small-aligned-Q4")),
                        SamplingOverrides.none()))) {
            try {
                Transformer t = new Transformer(model.jlama());
                List<int[]> prompts = USERS.stream().map(u -> prompt(model, u.repeat(1 + u.length() % 3))).toList();
                // Alone: each prompt but its last token, then the last token as a step of its own.
                List<float[]> alone = new ArrayList<>();
                for (int[] p : prompts) {
                    try (SequenceKv kv = fresh(t, p, kvType)) {
                        t.forward(java.util.Arrays.copyOf(p, p.length - 1), 0, kv);
                        alone.add(logits(model, t.forward(p, p.length - 1, kv)));
                    }
                }
                // Together: the first sequence decodes its last token while the others read their prompts whole.
                SequenceKv first = fresh(t, prompts.get(0), kvType);
                SequenceKv second = fresh(t, prompts.get(1), kvType);
                SequenceKv third = fresh(t, prompts.get(2), kvType);
                try (first; second; third) {
                    t.forward(java.util.Arrays.copyOf(prompts.get(0), prompts.get(0).length - 1), 0, first);
                    float[][] hidden = t.forward(List.of(
                            new Transformer.Segment(prompts.get(0), prompts.get(0).length - 1, 1, first),
                            new Transformer.Segment(prompts.get(1), 0, prompts.get(1).length, second),
                            new Transformer.Segment(prompts.get(2), 0, prompts.get(2).length, third)));
                    float[][] batched = new float[3][model.jlama().vocabularySize()];
                    model.jlama().allLogits(hidden, batched);
                    for (int s = 0; s < 3; s++) {
                        for (int i = 0; i < batched[s].length; i++) {
                            assertEquals(alone.get(s)[i], batched[s][i], 1e-4f, "sequence " + s + " logit " + i);
                        }
                    }
                }
            } finally {
                model.jlama().close();
            }
        }
    }

    @Test
    void cancellingOneReplyMidBatchLeavesTheOthersTextUnchanged() throws Exception {
        List<String> alone = new ArrayList<>();
        try (InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyRandom(), InferenceEngineTest.KV_BYTES, 1)) {
            for (String user : USERS) {
                alone.add(reply(engine, user).result().get(30, TimeUnit.SECONDS).text());
            }
        }
        try (InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyRandom(), InferenceEngineTest.KV_BYTES, 8)) {
            CancelAfterFirstPiece doomed = new CancelAfterFirstPiece();
            doomed.generation = engine.generate(prompt(engine.model(), "这条回复会被取消"), GREEDY.withMaxNewTokens(10_000), doomed);
            List<GenerationFuture> together = USERS.stream().map(u -> reply(engine, u)).toList();
            assertEquals(GenerationResult.FinishReason.CANCELLED, doomed.result().get(30, TimeUnit.SECONDS).finishReason());
            for (int i = 0; i < USERS.size(); i++) {
                assertEquals(alone.get(i), together.get(i).result().get(30, TimeUnit.SECONDS).text(), USERS.get(i));
            }
        }
    }

    /** The scaling gauges' source: requests beyond the batch are counted as waiting, the rest of the load as running. */
    @Test
    void requestsBeyondTheBatchCountAsWaiting() throws Exception {
        try (InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyRandom(), InferenceEngineTest.KV_BYTES, 1)) {
            java.util.concurrent.CountDownLatch streaming = new java.util.concurrent.CountDownLatch(1);
            GenerationFuture running = new GenerationFuture() {
                @Override
                public void onText(String piece) {
                    streaming.countDown();
                }
            };
            Generation endless = engine.generate(prompt(engine.model(), "讲一个很长的故事"), GREEDY.withMaxNewTokens(10_000), running);
            assertTrue(streaming.await(30, TimeUnit.SECONDS));
            assertEquals(0, engine.waiting());
            List<GenerationFuture> queued = USERS.stream().map(u -> reply(engine, u)).toList();
            assertEquals(3, engine.waiting(), "one batch place, taken: the three new replies wait");
            assertEquals(4, engine.load());
            endless.cancel();
            for (GenerationFuture f : queued) {
                f.result().get(30, TimeUnit.SECONDS);
            }
            assertEquals(0, engine.waiting());
        }
    }

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void repliesThatOutgrowTheKvBudgetTakeTurnsAndWriteWhatTheyWriteAlone(KvCacheType kvType) throws Exception {
        List<String> alone = new ArrayList<>();
        SamplingParams long_ = GREEDY.withMaxNewTokens(120);
        try (InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyRandom(), InferenceEngineTest.KV_BYTES, 1, kvType)) {
            for (String user : USERS) {
                alone.add(reply(engine, user, long_).result().get(30, TimeUnit.SECONDS).text());
            }
        }
        // Room for about two of the three replies at full length: someone has to give way.
        Transformer probe;
        LoadedModel model = ModelLoader.load(new ModelOptions(TestCheckpoints.tinyRandom(), WeightFormat.AS_STORED, 0, 1024),
                SamplingOverrides.none());
        probe = new Transformer(model.jlama());
        long blockBytes = probe.kvLayout(InferenceEngine.KV_BLOCK_TOKENS, kvType).blockBytes();
        model.jlama().close();
        int tokensEach = prompt(model, USERS.get(0)).length + 120;
        long budget = blockBytes * (2 * tokensEach / InferenceEngine.KV_BLOCK_TOKENS + 3);
        try (InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyRandom(), budget, 8, kvType)) {
            List<GenerationFuture> together = USERS.stream().map(u -> reply(engine, u, long_)).toList();
            for (int i = 0; i < USERS.size(); i++) {
                GenerationResult r = together.get(i).result().get(60, TimeUnit.SECONDS);
                assertEquals(alone.get(i), r.text(), USERS.get(i));
            }
            assertTrue(engine.preemptions() > 0, "the budget was meant to force a running reply to give way");
        }
    }

    @Test
    void labelScoringsDoNotWaitBehindALongReply() throws Exception {
        try (InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyLooping(), InferenceEngineTest.KV_BYTES, 8)) {
            GenerationFuture endless = reply(engine, "讲个故事", GREEDY.withMaxNewTokens(100_000));
            List<CompletableFuture<LabelScores>> scorings = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                scorings.add(engine.scoreLabels(prompt(engine.model(), "句子" + i), List.of("正面", "负面")));
            }
            for (CompletableFuture<LabelScores> s : scorings) {
                s.get(30, TimeUnit.SECONDS);
            }
            assertFalse(endless.result().isDone(), "the reply is still streaming while every scoring has finished");
        }
    }

    private static GenerationFuture reply(InferenceEngine engine, String user) {
        return reply(engine, user, GREEDY);
    }

    private static GenerationFuture reply(InferenceEngine engine, String user, SamplingParams params) {
        GenerationFuture f = new GenerationFuture();
        engine.generate(prompt(engine.model(), user), params, f);
        return f;
    }

    private static int[] prompt(LoadedModel model, String user) {
        return model.template().encode(List.of(new ChatTemplate.Message("system", "你是一个温暖的助手。"),
                new ChatTemplate.Message("user", user)), true, model.tokenizer());
    }

    private static SequenceKv fresh(Transformer t, int[] prompt, KvCacheType kvType) {
        KvBlockPool pool = new KvBlockPool(t.kvLayout(InferenceEngine.KV_BLOCK_TOKENS, kvType), 16L << 20);
        return new PrefixCache(pool).start(prompt, 1).sequence();
    }

    private static float[] logits(LoadedModel model, float[] hidden) {
        float[] out = new float[model.jlama().vocabularySize()];
        model.jlama().allLogits(hidden, out);
        return out;
    }

    private static final class CancelAfterFirstPiece extends GenerationFuture {
        volatile Generation generation;

        @Override
        public void onText(String piece) {
            if (generation != null) {
                generation.cancel();
            }
        }
    }
}
