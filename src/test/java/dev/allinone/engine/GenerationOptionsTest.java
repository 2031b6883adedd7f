package dev.allinone.engine;

import static dev.allinone.engine.InferenceEngineTest.KV_BYTES;
import static dev.allinone.engine.InferenceEngineTest.chatPrompt;
import static dev.allinone.engine.InferenceEngineTest.engine;
import static dev.allinone.engine.InferenceEngineTest.logSoftmax;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.model.Transformer;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.Sampler;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.sampling.StopStrings;
import dev.allinone.engine.sampling.TokenLogprobs;
import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.KvLayout;
import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A reply's seed, stop strings and log-probabilities. */
class GenerationOptionsTest {

    private static final String REPLY = TestCheckpoints.SCRIPTED_REPLY;
    private static final SamplingParams GREEDY = new SamplingParams(0f, 1, 1f, 1f, 32);

    private static InferenceEngine random;
    private static InferenceEngine scripted;

    @BeforeAll
    static void load() {
        random = engine(TestCheckpoints.tinyRandom(), KV_BYTES);
        scripted = engine(TestCheckpoints.tinyScripted(), KV_BYTES);
    }

    @AfterAll
    static void close() {
        random.close();
        scripted.close();
    }

    /** Records each token's log-probabilities and the text. */
    static final class Recorder extends GenerationFuture {
        final List<TokenLogprobs> tokens = new ArrayList<>();
        final StringBuilder text = new StringBuilder();

        @Override
        public void onText(String piece) {
            text.append(piece);
        }

        @Override
        public void onToken(TokenLogprobs token) {
            tokens.add(token);
        }
    }

    private static GenerationOptions logprobs(long seed, int top) {
        return new GenerationOptions(OptionalLong.of(seed), List.of(), true, top);
    }

    /**
     * Against a second copy of the model fed the prompt and then the written tokens one by one: each token's
     * log-probability is the log-softmax of the raw logits (sampling here penalises repetition and uses a
     * temperature, which must not leak into the reported numbers), and the alternatives are the likeliest tokens.
     */
    @Test
    void logprobsAreTheModelsOwnComputedIndependently() throws Exception {
        int[] prompt = chatPrompt(random, "你是温暖的助手", "随便聊聊");
        Recorder reply = new Recorder();
        random.generate(prompt, new SamplingParams(0.7f, 20, 0.9f, 1.3f, 12), logprobs(7, 5), reply);
        GenerationResult result = reply.result().get(30, TimeUnit.SECONDS);
        assertEquals(result.generatedTokens(), reply.tokens.size());

        LoadedModel reference = ModelLoader.load(new ModelOptions(TestCheckpoints.tinyRandom(), WeightFormat.AS_STORED, 0, 1024),
                SamplingOverrides.none());
        try {
            Transformer transformer = new Transformer(reference.jlama());
            KvBlockPool pool = new KvBlockPool(new KvLayout(transformer.layers(), transformer.kvDim(), InferenceEngine.KV_BLOCK_TOKENS), 16L << 20);
            try (SequenceKv kv = new PrefixCache(pool).start(prompt, reply.tokens.size()).sequence()) {
                float[] hidden = transformer.forward(prompt, 0, kv);
                for (TokenLogprobs token : reply.tokens) {
                    double[] logSoftmax = logSoftmax(reference, hidden);
                    assertEquals(logSoftmax[token.chosen().id()], token.chosen().logprob(), 1e-4);
                    assertArrayEquals(reference.tokenizer().decodeBytes(new int[] {token.chosen().id()}, 0, 1, false), token.chosen().bytes());
                    assertEquals(5, token.top().size());
                    int[] likeliest = Sampler.topCandidates(toFloats(logSoftmax), 5);
                    for (int i = 0; i < 5; i++) {
                        assertEquals(likeliest[i], token.top().get(i).id());
                        assertEquals(logSoftmax[likeliest[i]], token.top().get(i).logprob(), 1e-4);
                    }
                    hidden = transformer.forward(new int[] {token.chosen().id()}, 0, kv);
                }
            }
        } finally {
            reference.jlama().close();
        }
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    /**
     * Each run starts from an empty prefix cache and after a warm-up: this checkpoint runs on the Java kernels, whose
     * vector sums are added in another order once the JIT compiles them, and at temperature 1.5 a logit that moves in
     * its last bit can flip a draw (seen: the first run of a fresh engine differed in its 30th token).
     */
    @Test
    void theSameSeedWritesTheSameReplyAndAnotherSeedAnother() throws Exception {
        int[] prompt = chatPrompt(random, "s", "讲个故事");
        SamplingParams hot = new SamplingParams(1.5f, 0, 1f, 1f, 30);
        ids(random, chatPrompt(random, "s", "热身"), hot, 1);
        ids(random, chatPrompt(random, "s", "热身"), hot, 2);
        int[] first = ids(random, prompt, hot, 42);
        assertArrayEquals(first, ids(random, prompt, hot, 42));
        assertNotEquals(java.util.Arrays.toString(first), java.util.Arrays.toString(ids(random, prompt, hot, 43)));
    }

    private static int[] ids(InferenceEngine engine, int[] prompt, SamplingParams params, long seed) throws Exception {
        engine.clearPrefixCache().get(30, TimeUnit.SECONDS);
        Recorder reply = new Recorder();
        engine.generate(prompt, params, logprobs(seed, 0), reply);
        reply.result().get(30, TimeUnit.SECONDS);
        return reply.tokens.stream().mapToInt(t -> t.chosen().id()).toArray();
    }

    @Test
    void aStopStringEndsTheReplyBeforeIt() throws Exception {
        assertEquals(new Stopped(REPLY.substring(0, REPLY.indexOf("恭喜")), GenerationResult.FinishReason.STOP), reply("恭喜", "never"));
        // the emoji is four byte tokens: the stop string matches the character they make together
        assertEquals(new Stopped("正面太棒了，恭喜你", GenerationResult.FinishReason.STOP), reply("😄！"));
        // a stop string that never completes: the held-back start of it is text after all
        assertEquals(new Stopped(REPLY, GenerationResult.FinishReason.STOP), reply("！!"));
        assertEquals(new Stopped("", GenerationResult.FinishReason.STOP), reply("正"));
    }

    private record Stopped(String text, GenerationResult.FinishReason finish) {
    }

    private static Stopped reply(String... stops) throws Exception {
        Recorder reply = new Recorder();
        scripted.generate(chatPrompt(scripted, "s", "你好"), GREEDY,
                new GenerationOptions(OptionalLong.empty(), List.of(stops), false, 0), reply);
        GenerationResult result = reply.result().get(30, TimeUnit.SECONDS);
        assertEquals(result.text(), reply.text.toString(), "the streamed pieces are the reply");
        assertTrue(reply.tokens.isEmpty(), "no log-probabilities unless asked for");
        return new Stopped(result.text(), result.finishReason());
    }

    @Test
    void stopStringsHoldBackOnlyWhatCouldStartOne() {
        StopStrings stops = new StopStrings(List.of("<END>", "ab"));
        assertEquals("hello ", stops.accept("hello <E"));
        assertEquals("", stops.accept("N"));
        assertEquals("<ENx ", stops.accept("x a"), "'a' may start 'ab'");
        assertEquals("a", stops.accept("a"));
        assertEquals("ac", stops.accept("c"));
        assertEquals("x", stops.accept("xab tail"));
        assertTrue(stops.matched());
        assertEquals("", stops.accept("more"));
    }

    @Test
    void badOptionsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(OptionalLong.empty(), List.of(""), false, 0));
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(OptionalLong.empty(), List.of(), false, 3));
        assertThrows(IllegalArgumentException.class, () -> new GenerationOptions(OptionalLong.empty(), List.of(), true, 21));
    }
}
