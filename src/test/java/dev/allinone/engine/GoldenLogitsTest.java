package dev.allinone.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.kernels.NativeKernelsTest;
import dev.allinone.engine.kernels.Q4Gemm;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.model.Transformer;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.GoldenFixtures.Fixture;
import dev.allinone.engine.GoldenFixtures.Golden;
import dev.allinone.engine.GoldenFixtures.Position;
import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.KvCacheType;
import dev.allinone.engine.kv.KvLayout;
import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The engine's logits against golden logits from an independent implementation: {@code qwen_reference.py}, a numpy
 * float64 forward pass that shares no code with the engine, run once on generated checkpoints of both architectures
 * ({@code model_type} qwen2 and qwen3) and committed in {@code src/test/resources/golden} ({@link GoldenFixtures};
 * provenance in each fixture and the README there). The checkpoints are not committed: {@link TestCheckpoints}
 * regenerates them, and {@link #theCheckpointsRegenerateAsRecorded} proves they are the bytes the reference read.
 *
 * <p>Each case loads a checkpoint through {@link ModelLoader}, prefills the first part of the prompt in one chunk
 * (at least {@link Q4Gemm#MIN_ROWS} rows: the many-row kernels), feeds the rest of the prompt and the reference's
 * greedy continuation one token at a time (the one-row kernels), and compares, at the chunk's last position and at
 * every position after it, the engine's logit of each of the reference's top-{@value GoldenFixtures#TOP} ids.
 *
 * <p>At Q4 (and likewise Q8) the reference is run on the engine's Q4 copy of the checkpoint, decoded to F32 by the test
 * ({@link GoldenFixtures#dequantized}): the quantization of the weights is then common to both sides, and what is
 * compared is how the kernels compute with those weights, not how far Q4 is from the stored weights (0.3 on these
 * logits, which would hide any kernel bug smaller than that).
 *
 * <p>Bounds on max |Δ| over those logits (the compared top-20 logits lie in 0.55-0.84 for the tiny checkpoint and
 * 1.6-3.1 for the grouped one; the smallest gap between the first two at a compared position is 0.001 tiny Q4,
 * 0.007 tiny, 0.013 grouped Q4, 0.019 grouped), and each greedy token equal to the reference's where its margin
 * over the runner-up exceeds twice the bound:
 * <ul>
 * <li><b>Activations in float, or rounded with their residual (as stored on every kernel choice; Q8 everywhere, its
 * activations' 8-bit form plus their residual's, {@code MatrixFormat.residualActivations}; Q4 on the Java kernels
 * where Jlama's rule keeps them in float: tiny, tiny Qwen3, small Qwen2.5): 1e-3.</b> Measured as stored: tiny F32
 * 4.5e-5, grouped BF16 2.7e-4, tiny Qwen3 7.5e-5, small Qwen3 BF16 5.5e-4, small Qwen2.5 BF16 2.2e-4; Q4 tiny 3.1e-5,
 * tiny Qwen3 6.7e-5, small Qwen2.5 4.2e-4; Q8 on the C kernels tiny 5.1e-5, grouped 3.0e-4, tiny Qwen3 7.3e-5, small
 * Qwen3 5.0e-4, small Qwen2.5 2.8e-4 (the Java kernels within 15% of those) (float accumulation, the KV cache held as
 * F16; BF16 storage costs nothing, the reference reads the same BF16 values).
 * <li><b>8-bit activations (Q4 on the C kernels; on the Java kernels for grouped and small Qwen3): 0.04.</b>
 * Measured: grouped 0.014 Java / 0.014 C, tiny 0.003 C, tiny Qwen3 0.0035 C, small Qwen3 0.018 Java / 0.020 C, small
 * Qwen2.5 0.014 C. The activations are rounded to 8 bits per block of 32 before each product (as llama.cpp's Q4_0 ×
 * Q8_0) and the reference does not round them. With Jlama's rounding, which moves most negative values up by a step
 * (kept until 8 December 2026), the same cases measured 0.011-0.090, and Q8's, rounded the same way without the
 * residual, 0.015-0.102.
 * </ul>
 * Against the reference on the <em>stored</em> weights ({@link #q8IsFarCloserToTheStoredWeightsThanQ4}): Q8 is
 * 14.8-27.5× closer than Q4 on the C kernels (tiny 2.2e-3 vs 0.047, grouped 0.017 vs 0.25, tiny Qwen3 3.4e-3 vs 0.066,
 * small Qwen3 0.013 vs 0.35, small Qwen2.5 0.013 vs 0.24) and 14.9-28.1× on the Java kernels, asserted
 * {@value #Q8_GAIN}× closer. Before the rounding was mended and the residual multiplied, Q8 was 2.7-4.5× closer on the
 * C kernels (grouped 0.069 vs 0.30, small Qwen3 0.11 vs 0.37).
 * <ul>
 * <li>Seen failing (with Jlama's rounding and the bounds of then): the C kernel's block scales 3% too large give 0.090 on grouped; rope theta 1e4 instead of 1e6 gives
 * 0.14 there and 2.6e-3 / 9.1e-2 as stored (tiny / grouped); the k bias left out gives 3.4e-3 on grouped as stored
 * (on tiny only 1.4e-4: a key bias shifts every score of a query alike but for the rotation, so it barely shows
 * there); Jlama's float kernel on 448 and 1216 rows (its last 63 rows wrong) gave 1.17 on an earlier Qwen2.5-like layout.
 * </ul>
 *
 * <p>Kernels: {@link #options} is the one place that turns a {@link Kernels} choice into load options. Every
 * checkpoint at Q4 or Q8 takes the C variant asked for (they take rows of any whole number of 32-value blocks); as-stored
 * weights always run on Java's: each case checks which path it took.
 */
class GoldenLogitsTest {

    /** The one place where a kernel choice becomes load options. */
    static ModelOptions options(Path checkpoint, WeightFormat weights, Kernels kernels) {
        return new ModelOptions(checkpoint, weights, 0, 512, null, kernels);
    }

    /** The kernels a case may ask for: this architecture's C variants and the Java kernels. */
    static List<Kernels> choices() {
        return Stream.concat(NativeKernelsTest.variants(), Stream.of(Kernels.JAVA)).toList();
    }

    /** Skips a case whose C variant this machine cannot run (fails it where CI requires the variant). */
    static void assumeRunsHere(Kernels kernels) {
        if (kernels != Kernels.JAVA) {
            NativeKernelsTest.kernels(kernels);
        }
    }

    /** The kernels the case must run on: its C variant on the production path (8-bit activations × Q4 or Q8 weights). */
    private static Kernels expectedKernels(WeightFormat weights, Kernels kernels) {
        return weights != WeightFormat.AS_STORED ? kernels : Kernels.JAVA;
    }

    /**
     * Whether the case's activations are rounded to 8 bits: quantized weights on the C kernels always, on the Java kernels where
     * Jlama's rule takes the rows (whole vectors of 32-value blocks: the grouped and the small Qwen3 checkpoints).
     */
    static boolean eightBitActivations(Golden golden, WeightFormat weights, Kernels kernels) {
        return weights != WeightFormat.AS_STORED && (kernels != Kernels.JAVA || golden == Golden.GROUPED || golden == Golden.QWEN3);
    }

    /** The bound on max |Δ| over the reference's top-20 logits (see the class javadoc for the measured errors). */
    static double bound(Golden golden, WeightFormat weights, Kernels kernels) {
        return eightBitActivations(golden, weights, kernels) && !withResidual(weights) ? 0.04 : 1e-3;
    }

    /** Whether the format's products take the activations' residual too (Q8, by design): nearly float activations. */
    static boolean withResidual(WeightFormat weights) {
        return weights == WeightFormat.Q8;
    }

    /**
     * How far each format's logits are from the reference on the <em>stored</em> weights (quantization of weights and
     * activations together): printed for every format. Q8 must be {@value #Q8_GAIN} times closer than Q4.
     */
    @ParameterizedTest(name = "{0} {1} kernels")
    @MethodSource("formatsAgainstStored")
    void q8IsFarCloserToTheStoredWeightsThanQ4(Golden golden, Kernels kernels) {
        assumeRunsHere(kernels);
        Fixture stored = GoldenFixtures.load(golden, WeightFormat.AS_STORED);
        double q4 = worstAgainst(stored, golden, WeightFormat.Q4, kernels);
        double q8 = worstAgainst(stored, golden, WeightFormat.Q8, kernels);
        System.out.printf("golden %s %s kernels against the stored weights' reference: max |Δ| Q4 %.3e, Q8 %.3e (%.1f× closer)%n",
                golden, kernels, q4, q8, q4 / q8);
        assertTrue(q8 * Q8_GAIN <= q4, "Q8 " + q8 + " is not " + Q8_GAIN + "× closer than Q4 " + q4);
    }

    static final double Q8_GAIN = 10;

    static Stream<Arguments> formatsAgainstStored() {
        return Stream.of(Golden.values()).flatMap(g -> choices().stream().map(k -> Arguments.of(g, k)));
    }

    /** Max |Δ| of the engine at {@code weights} over the fixture's top logits at every compared position. */
    private static double worstAgainst(Fixture fixture, Golden golden, WeightFormat weights, Kernels kernels) {
        return worstAgainst(fixture, golden, weights, kernels, KvCacheType.F16);
    }

    private static double worstAgainst(Fixture fixture, Golden golden, WeightFormat weights, Kernels kernels, KvCacheType kvType) {
        return worstAgainst(fixture, golden, weights, kernels, kvType, fixture.ids().length - SINGLE_PROMPT_POSITIONS);
    }

    /** The same, with the first {@code chunk} tokens prefilled together and the rest one at a time. */
    private static double worstAgainst(Fixture fixture, Golden golden, WeightFormat weights, Kernels kernels, KvCacheType kvType,
            int chunk) {
        LoadedModel model = ModelLoader.load(options(golden.checkpoint(), weights, kernels), SamplingOverrides.none());
        try {
            int[] tokens = IntStream.concat(IntStream.of(fixture.ids()), IntStream.of(fixture.greedy())).toArray();
            float[][] logits = new Engine(model, tokens, kvType).run(chunk);
            double worst = 0;
            for (int i = 0; i < logits.length; i++) {
                Position reference = fixture.at(chunk - 1 + i);
                for (int r = 0; r < reference.ids().length; r++) {
                    worst = Math.max(worst, Math.abs(logits[i][reference.ids()[r]] - reference.logits()[r]));
                }
            }
            return worst;
        } finally {
            model.jlama().close();
        }
    }

    /**
     * Prompts prefilled in small chunks, on the Java kernels: each format's logits at every position against the
     * reference, with the case's bound. Jlama's batched kernels got products of 6-9, 11-14, … rows wrong (errors of
     * 10-30 on a product): as stored, prompts of such lengths came out wrong until {@code DenseGemm} took them.
     */
    @ParameterizedTest(name = "{0} chunk of {1}")
    @MethodSource("smallChunks")
    void smallChunksOnTheJavaKernelsMatchTheReference(WeightFormat weights, int chunk) {
        Golden golden = Golden.GROUPED;
        double worst = worstAgainst(GoldenFixtures.load(golden, weights), golden, weights, Kernels.JAVA, KvCacheType.F16, chunk);
        double bound = bound(golden, weights, Kernels.JAVA);
        assertTrue(worst <= bound, weights + " chunk of " + chunk + ": max |Δ| " + worst + " > " + bound);
    }

    static Stream<Arguments> smallChunks() {
        return Stream.of(WeightFormat.values()).flatMap(w -> IntStream.of(2, 6, 7, 13).mapToObj(n -> Arguments.of(w, n)));
    }

    /**
     * The 8-bit KV cache ({@link KvCacheType#Q8}) against the reference, on the stored weights and on the Q4 and Q8
     * copies (each against its own fixture), one C variant and the Java kernels: max |Δ| over the top-20 logits within
     * {@link #kv8Bound} of the fixture. Keys and values rounded to 8 bits per head row add about 1/254 of each row's
     * largest value to every score and output: where the activations stay in float (stored weights; Q4 on the Java
     * kernels for tiny, tiny Qwen3, small Qwen2.5) the bound is {@value #KV8_BOUND_FLOAT}, measured with F16 → Q8 KV:
     * tiny 4.5e-5 → 7.3e-4, grouped 2.7e-4 → 7.5e-3, tiny Qwen3 7.5e-5 → 2.0e-3, small Qwen3 5.5e-4 → 1.4e-2, small
     * Qwen2.5 2.2e-4 → 8.3e-3 (as stored; Q4 Java: tiny 6.8e-4, tiny Qwen3 1.7e-3, small Qwen2.5 6.0e-3; Q8, its
     * activations with their residual, on the C kernels: tiny 5.1e-5 → 8.1e-4, grouped 3.0e-4 → 8.3e-3, tiny Qwen3
     * 7.3e-5 → 1.7e-3, small Qwen3 5.0e-4 → 1.4e-2, small Qwen2.5 2.8e-4 → 7.3e-3, the Java kernels within 4%). Where they
     * are rounded to 8 bits the F16 cache's bound ({@link #bound}) still holds: Q4 with F16 → Q8 KV, grouped 0.0144 →
     * 0.0151 C / 0.0140 → 0.0131 Java, tiny 0.0030 → 0.0027 C, tiny Qwen3 0.0035 → 0.0039 C, small Qwen3 0.020 → 0.024 C
     * / 0.018 → 0.026 Java, small Qwen2.5 0.0138 → 0.0141 C (AVX-512 VNNI; the C variants compute the same bits). Seen failing:
     * the Java attention's Q8 scales 3% too large give 0.030-0.072 as stored on grouped, small Qwen3 and Qwen2.5 (7 of
     * the 20 cases fail); with 8-bit activations the bound (0.08 then) was too loose to see that — there the C kernel's harness
     * (attention in double, 2e-5) and {@code NativeKernelsTest} (C against Java, 1e-5) hold it.
     */
    @ParameterizedTest(name = "{0} {1} {2} kernels")
    @MethodSource("kv8Cases")
    void an8BitKvCacheStaysWithinItsBoundOfTheReference(Golden golden, WeightFormat weights, Kernels kernels) {
        assumeRunsHere(kernels);
        Fixture fixture = GoldenFixtures.load(golden, weights);
        double f16 = worstAgainst(fixture, golden, weights, kernels, KvCacheType.F16);
        double q8 = worstAgainst(fixture, golden, weights, kernels, KvCacheType.Q8);
        System.out.printf("golden %s %s %s kernels: max |Δ| KV F16 %.3e, KV Q8 %.3e%n", golden, weights, kernels, f16, q8);
        assertTrue(q8 <= kv8Bound(golden, weights, kernels), "KV Q8: max |Δ| " + q8 + " > " + kv8Bound(golden, weights, kernels));
    }

    static double kv8Bound(Golden golden, WeightFormat weights, Kernels kernels) {
        return eightBitActivations(golden, weights, kernels) && !withResidual(weights) ? bound(golden, weights, kernels) : KV8_BOUND_FLOAT;
    }

    static final double KV8_BOUND_FLOAT = 0.03;

    static Stream<Arguments> kv8Cases() {
        List<Kernels> kernels = Stream.concat(NativeKernelsTest.variants().limit(1), Stream.of(Kernels.JAVA)).toList();
        return Stream.of(Golden.values()).flatMap(g -> Stream.of(WeightFormat.AS_STORED, WeightFormat.Q4, WeightFormat.Q8)
                .flatMap(w -> kernels.stream().map(k -> Arguments.of(g, w, k))));
    }

    /** Positions compared after the chunk's last: the rest of the prompt, one at a time. */
    private static final int SINGLE_PROMPT_POSITIONS = 8;

    @Test
    void theCheckpointsRegenerateAsRecorded() {
        for (Golden golden : Golden.values()) {
            Path dir = golden.checkpoint();
            for (WeightFormat weights : WeightFormat.values()) {
                Fixture fixture = GoldenFixtures.load(golden, weights);
                assertEquals(fixture.specText(), golden.spec.toString(), golden + ": the spec the fixture was made from");
                assertEquals(fixture.sha256(), GoldenFixtures.sha256(dir.resolve("model.safetensors")),
                        golden + ": the regenerated weights are not the ones the reference read");
                assertArrayEquals(fixture.ids(), GoldenFixtures.promptIds(dir), golden + ": prompt ids");
                assertEquals(GoldenFixtures.GREEDY, fixture.greedy().length);
            }
            for (WeightFormat weights : List.of(WeightFormat.Q4, WeightFormat.Q8)) {
                assertEquals(GoldenFixtures.load(golden, weights).copySha256(weights),
                        GoldenFixtures.sha256(GoldenFixtures.copy(dir, weights).resolve("model.safetensors")),
                        golden + ": the engine's " + weights + " copy is not the one the reference read dequantized");
            }
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Golden golden : Golden.values()) {
            for (WeightFormat weights : WeightFormat.values()) {
                for (Kernels kernels : choices()) {
                    cases.add(Arguments.of(golden, weights, kernels));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} kernels")
    @MethodSource("cases")
    void theLogitsMatchTheReference(Golden golden, WeightFormat weights, Kernels kernels) {
        assumeRunsHere(kernels);
        Fixture fixture = GoldenFixtures.load(golden, weights);
        LoadedModel model = ModelLoader.load(options(golden.checkpoint(), weights, kernels), SamplingOverrides.none());
        try {
            assertEquals(expectedKernels(weights, kernels), model.kernels(), "the kernels the case runs on");
            int[] prompt = fixture.ids();
            int[] expectedGreedy = fixture.greedy();
            int[] tokens = IntStream.concat(IntStream.of(prompt), IntStream.of(expectedGreedy)).toArray();
            int chunk = prompt.length - SINGLE_PROMPT_POSITIONS;
            assertTrue(chunk >= Q4Gemm.MIN_ROWS, "the prompt is too short to prefill on the many-row kernels: " + prompt.length);

            float[][] logits = new Engine(model, tokens, KvCacheType.F16).run(chunk);
            double worst = 0;
            String where = "";
            int[] greedy = new int[expectedGreedy.length];
            for (int i = 0; i < logits.length; i++) {
                int position = chunk - 1 + i;
                Position reference = fixture.at(position);
                for (int r = 0; r < reference.ids().length; r++) {
                    double delta = Math.abs(logits[i][reference.ids()[r]] - reference.logits()[r]);
                    if (delta > worst) {
                        worst = delta;
                        where = "position " + position + ", id " + reference.ids()[r] + " (rank " + r + "): engine "
                                + logits[i][reference.ids()[r]] + ", reference " + reference.logits()[r];
                    }
                }
                int step = position - (prompt.length - 1);
                if (step >= 0 && step < greedy.length) {
                    greedy[step] = argmax(logits[i]);
                }
            }
            System.out.printf("golden %s %s %s kernels (ran on %s): max |Δ| %.2e over the top-%d logits at %d positions; greedy %s, reference %s%n",
                    golden, weights, kernels, model.kernels().id(), worst, GoldenFixtures.TOP, logits.length,
                    Arrays.toString(greedy), Arrays.toString(expectedGreedy));
            assertTrue(worst <= bound(golden, weights, kernels), "max |Δ| " + worst + " > " + bound(golden, weights, kernels) + " at " + where);
            for (int step = 0; step < greedy.length; step++) {
                Position reference = fixture.at(prompt.length - 1 + step);
                // Two logits each within the bound of the reference can swap only if they are within twice it.
                if (reference.logits()[0] - reference.logits()[1] > 2 * bound(golden, weights, kernels)) {
                    assertEquals(expectedGreedy[step], greedy[step], "greedy token " + step + ": " + Arrays.toString(greedy));
                }
            }
        } finally {
            model.jlama().close();
        }
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Our decoder over one token sequence, as the engine runs it: one prefill chunk, then one token per step. */
    record Engine(LoadedModel model, int[] tokens, KvCacheType kvType) {

        /** With the F16 KV cache, the default. */
        Engine(LoadedModel model, int[] tokens) {
            this(model, tokens, KvCacheType.F16);
        }

        /** The logits at position {@code chunk - 1} (after the chunk) and at every later position of the tokens. */
        float[][] run(int chunk) {
            Transformer transformer = new Transformer(model.jlama());
            KvBlockPool pool = new KvBlockPool(transformer.kvLayout(InferenceEngine.KV_BLOCK_TOKENS, kvType), 16L << 20);
            float[][] out = new float[tokens.length - chunk + 1][];
            try (SequenceKv kv = new PrefixCache(pool).start(tokens, 0).sequence()) {
                out[0] = logits(transformer.forward(List.of(new Transformer.Segment(tokens, 0, chunk, kv)))[0]);
                for (int p = chunk; p < tokens.length; p++) {
                    out[p - chunk + 1] = logits(transformer.forward(List.of(new Transformer.Segment(tokens, p, 1, kv)))[0]);
                }
            }
            return out;
        }

        private float[] logits(float[] normed) {
            float[] out = new float[model.jlama().vocabularySize()];
            model.jlama().allLogits(normed, out);
            return out;
        }
    }
}
