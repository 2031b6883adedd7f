package dev.allinone.engine;

import dev.allinone.engine.kernels.Q4Gemm;
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
import dev.allinone.engine.kv.KvLayout;
import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reused key/value entries give the logits of a full prefill; the budget evicts without changing answers. */
class PrefixReuseTest {

    private static LoadedModel f32;
    private static LoadedModel q4;
    /** Runs the full-size model's Q4 kernels: 8-bit activations, 64-wide heads. */
    private static LoadedModel alignedQ4;

    @BeforeAll
    static void load() {
        Path dir = TestCheckpoints.tinyRandom();
        f32 = ModelLoader.load(new ModelOptions(dir, WeightFormat.AS_STORED, 0, 1024), SamplingOverrides.none());
        q4 = ModelLoader.load(new ModelOptions(dir, WeightFormat.Q4, 0, 1024, dir.resolveSibling("tiny-random-Q4-reuse")),
                SamplingOverrides.none());
        Path aligned = TestCheckpoints.smallAligned();
        alignedQ4 = ModelLoader.load(new ModelOptions(aligned, WeightFormat.Q4, 0, 1024, aligned.resolveSibling("small-aligned-Q4")),
                SamplingOverrides.none());
    }

    @AfterAll
    static void close() {
        f32.jlama().close();
        q4.jlama().close();
        alignedQ4.jlama().close();
    }

    private static int[] text(LoadedModel model, String system, String user) {
        return model.template().encode(List.of(new ChatTemplate.Message("system", system), new ChatTemplate.Message("user", user)),
                true, model.tokenizer());
    }

    private static float[] logits(LoadedModel model, float[] hidden) {
        float[] out = new float[model.jlama().vocabularySize()];
        model.jlama().allLogits(hidden, out);
        return out;
    }

    private static KvBlockPool pool(Transformer t, KvCacheType kvType) {
        return new KvBlockPool(t.kvLayout(InferenceEngine.KV_BLOCK_TOKENS, kvType), 16L << 20);
    }

    /** Logits after prefilling {@code prompt} in one go into a fresh sequence. */
    private static float[] fullPrefill(LoadedModel model, Transformer t, int[] prompt, KvCacheType kvType) {
        PrefixCache fresh = new PrefixCache(pool(t, kvType));
        PrefixCache.Start start = fresh.start(prompt, 0);
        try (SequenceKv kv = start.sequence()) {
            return logits(model, t.forward(prompt, 0, kv));
        }
    }

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void aPromptContinuedFromCachedKvHasTheLogitsOfAFullPrefill(KvCacheType kvType) {
        for (LoadedModel model : List.of(f32, q4, alignedQ4)) {
            Transformer t = new Transformer(model.jlama());
            PrefixCache cache = new PrefixCache(pool(t, kvType));
            // Long enough that both prefills run the many-row kernel while the reply's tokens run the one-row kernel.
            int[] first = text(model, "你是一个温暖的助手，认真倾听，给出体贴的回应。".repeat(3), "刚拿到offer，超级开心！");
            assertTrue(first.length >= Q4Gemm.MIN_ROWS, "length " + first.length);
            PrefixCache.Start start = cache.start(first, 8);
            float[] hidden = t.forward(first, 0, start.sequence());
            // The reply the model writes, token by token, as a conversation's turn does.
            int[] reply = new int[6];
            for (int i = 0; i < reply.length; i++) {
                reply[i] = argmax(logits(model, hidden));
                hidden = t.forward(new int[] {reply[i]}, 0, start.sequence());
            }
            cache.offer(start.sequence(), false);

            int[] next = IntStream.concat(IntStream.concat(IntStream.of(first), IntStream.of(reply)),
                    IntStream.of(model.tokenizer().encode("谢谢你！再说一句吧"))).toArray();
            PrefixCache.Start second = cache.start(next, 0);
            assertEquals(first.length + reply.length, second.reused(), "the previous turn, reply included, is reused");
            float[] reused = logits(model, t.forward(next, second.reused(), second.sequence()));
            float[] full = fullPrefill(model, t, next, kvType);
            assertClose(full, reused, 1e-4f, model.path().getFileName() + " " + model.weights() + " KV " + kvType);
            second.sequence().close();
        }
    }

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void aPromptSplitAcrossChunksHasTheLogitsOfOneChunk(KvCacheType kvType) {
        for (LoadedModel model : List.of(f32, alignedQ4)) {
            Transformer t = new Transformer(model.jlama());
            int[] prompt = model.tokenizer().encode("今天天气很好，我们去公园散步吧。".repeat(40));
            assertTrue(prompt.length > Transformer.MAX_CHUNK, "length " + prompt.length);
            float[] whole = fullPrefill(model, t, prompt, kvType);
            PrefixCache cache = new PrefixCache(pool(t, kvType));
            PrefixCache.Start start = cache.start(prompt, 0);
            t.forward(Arrays.copyOf(prompt, 37), 0, start.sequence());
            float[] pieces = logits(model, t.forward(prompt, 37, start.sequence()));
            assertClose(whole, pieces, 1e-4f, "chunked " + model.path().getFileName() + " KV " + kvType);
            start.sequence().close();
        }
    }

    @ParameterizedTest
    @EnumSource(KvCacheType.class)
    void aTinyBudgetEvictsCachedPrefixesAndAnswersStayTheSame(KvCacheType kvType) throws Exception {
        List<String> texts = List.of("今天的实验终于成功了，太棒了！", "今天被领导批评了，心情很低落……", "The movie was great.", "航班又取消了");
        List<String> labels = List.of("正面", "负面");
        Path dir = TestCheckpoints.tinyRandom();
        List<double[]> roomy = new ArrayList<>();
        List<double[]> tight = new ArrayList<>();
        try (InferenceEngine big = InferenceEngineTest.engine(dir, 64L << 20, 8, kvType)) {
            for (String text : texts) {
                roomy.add(big.scoreLabels(text(big.model(), "判断情感", text), labels).get(30, TimeUnit.SECONDS).probabilities());
            }
        }
        try (InferenceEngine small = InferenceEngineTest.engine(dir, 0)) {
            fail();
        } catch (IllegalArgumentException expected) {
            // a budget below one block is refused at start
        }
        int[] longest = texts.stream().map(text -> text(f32, "判断情感", text)).max((a, b) -> a.length - b.length).orElseThrow();
        Transformer t = new Transformer(f32.jlama());
        long blockBytes = t.kvLayout(InferenceEngine.KV_BLOCK_TOKENS, kvType).blockBytes();
        long budget = blockBytes * ((longest.length + InferenceEngine.KV_BLOCK_TOKENS) / InferenceEngine.KV_BLOCK_TOKENS + 1);
        try (InferenceEngine small = InferenceEngineTest.engine(dir, budget, 8, kvType)) {
            for (int round = 0; round < 2; round++) {
                tight.clear();
                for (String text : texts) {
                    tight.add(small.scoreLabels(text(small.model(), "判断情感", text), labels).get(30, TimeUnit.SECONDS).probabilities());
                }
            }
            assertTrue(small.kvStats().evictions() > 0, "evictions " + small.kvStats());
            assertTrue(small.kvStats().bytesInUse() <= small.kvStats().budgetBytes(), small.kvStats().toString());
        }
        for (int i = 0; i < texts.size(); i++) {
            assertArrayEquals(roomy.get(i), tight.get(i), 1e-6, texts.get(i));
        }
    }

    @Test
    void aCancelledReplyFreesItsKvAtOnceAndAFinishedOneStaysEvictable() throws Exception {
        try (InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyLooping(), 8L << 20)) {
            long idle = engine.kvStats().bytesInUse();
            InferenceEngineTest.Collector collector = new InferenceEngineTest.Collector();
            Generation generation = engine.generate(text(engine.model(), "s", "说个不停"), new SamplingParams(0f, 1, 1f, 1f, 100_000), collector);
            while (collector.pieces.size() < 3) {
                Thread.sleep(1);
            }
            generation.cancel();
            assertEquals(GenerationResult.FinishReason.CANCELLED, collector.done.get(30, TimeUnit.SECONDS).finishReason());
            awaitIdle(engine);
            assertEquals(idle, engine.kvStats().bytesInUse(), "a cancelled reply leaves nothing behind");

            InferenceEngineTest.Collector finished = new InferenceEngineTest.Collector();
            engine.generate(text(engine.model(), "s", "说两句"), new SamplingParams(0f, 1, 1f, 1f, 20), finished);
            finished.done.get(30, TimeUnit.SECONDS);
            awaitIdle(engine);
            assertTrue(engine.kvStats().bytesInUse() > idle, "a finished reply is cached for the next turn");
            engine.clearPrefixCache().get(30, TimeUnit.SECONDS);
            awaitIdle(engine);
            assertEquals(idle, engine.kvStats().bytesInUse(), "and evictable");
            assertEquals(0, engine.activeSequences());
        }
    }

    @Test
    void pinnedPrefixesSurviveEviction() throws Exception {
        try (InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyRandom(), 8L << 20)) {
            int[] system = engine.model().template().encode(List.of(new ChatTemplate.Message("system", "判断情感")), false,
                    engine.model().tokenizer());
            engine.pinPrefix(system).get(30, TimeUnit.SECONDS);
            engine.clearPrefixCache().get(30, TimeUnit.SECONDS);
            awaitIdle(engine);
            long hits = engine.kvStats().hits();
            long reused = engine.kvStats().reusedTokens();
            engine.scoreLabels(text(engine.model(), "判断情感", "好"), List.of("正面", "负面")).get(30, TimeUnit.SECONDS);
            awaitIdle(engine);
            assertEquals(hits + 1, engine.kvStats().hits());
            assertEquals(reused + system.length, engine.kvStats().reusedTokens());
        }
    }

    @Test
    void aRequestThatCannotFitBesideThePinnedPromptsFailsAtOnceInsteadOfWaiting() throws Exception {
        Transformer t = new Transformer(f32.jlama());
        long blockBytes = new KvLayout(t.layers(), t.kvDim(), InferenceEngine.KV_BLOCK_TOKENS).blockBytes();
        try (InferenceEngine engine = InferenceEngineTest.engine(TestCheckpoints.tinyRandom(), 3 * blockBytes)) {
            int[] pinned = Arrays.copyOf(engine.model().tokenizer().encode("你是一个冷静的情感分析师，只回答正面或负面。".repeat(4)),
                    InferenceEngine.KV_BLOCK_TOKENS + 4); // two blocks
            engine.pinPrefix(pinned).get(30, TimeUnit.SECONDS);
            // Three blocks: within the budget on its own, shares nothing with the pinned prompt, one block is free.
            int[] other = Arrays.copyOf(engine.model().tokenizer().encode("The weather is lovely today, let's walk. ".repeat(6)),
                    3 * InferenceEngine.KV_BLOCK_TOKENS - 4);
            var failure = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> engine.scoreLabels(other, List.of("正面", "负面")).get(30, TimeUnit.SECONDS));
            assertTrue(failure.getCause() instanceof PromptTooLongException, failure.toString());
            assertTrue(failure.getCause().getMessage().contains("kv-cache-memory"), failure.getCause().getMessage());
        }
    }

    private static void awaitIdle(InferenceEngine engine) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 10_000;
        while (engine.load() > 0 && System.currentTimeMillis() < deadline) {
            Thread.sleep(2);
        }
        assertEquals(0, engine.load());
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    private static void assertClose(float[] expected, float[] actual, float tolerance, String what) {
        float worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]) / Math.max(1f, Math.abs(expected[i])));
        }
        assertTrue(worst <= tolerance, what + ": largest difference " + worst);
    }

    private static void fail() {
        throw new AssertionError("expected the engine to refuse a budget below one block");
    }
}
