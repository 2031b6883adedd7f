package dev.allinone.engine.kernels;

import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.FloatBufferTensor;
import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;
import com.github.tjake.jlama.tensor.Q8ByteBufferTensor;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.model.QwenJlamaModel;
import dev.allinone.engine.model.Transformer;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.KvCacheType;
import dev.allinone.engine.kv.KvLayout;
import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The C kernels, each variant this machine runs: the same products as an independent double-precision reference,
 * batch-invariant, the same bits as every other variant; attention and SwiGLU; the Java kernels against the same
 * reference. A variant this CPU lacks is skipped, unless {@code ALLINONE_TEST_REQUIRED_KERNELS} (comma-separated ids,
 * set by {@code .ci/run} from {@code /proc/cpuinfo}) names it: then it must load and run. The ARM64 variants are
 * tested under QEMU by {@link KernelsHarnessTest}.
 */
public class NativeKernelsTest {

    /** This architecture's C variants. */
    public static Stream<Kernels> variants() {
        return Kernels.preferenceOrder(NativeKernels.ARCH == null ? "" : NativeKernels.ARCH).stream();
    }

    /** True when CI requires one of these variants to run ({@code ALLINONE_TEST_REQUIRED_KERNELS}). */
    static boolean anyRequired(List<Kernels> variants) {
        List<String> required = Arrays.asList(System.getenv().getOrDefault("ALLINONE_TEST_REQUIRED_KERNELS", "").split(","));
        return variants.stream().anyMatch(v -> required.contains(v.id()));
    }

    /** The variant's kernels, or the test is skipped (failed, when CI requires the variant). */
    public static NativeKernels kernels(Kernels variant) {
        if (anyRequired(List.of(variant))) {
            return NativeKernels.select(variant);
        }
        try {
            return NativeKernels.select(variant);
        } catch (IllegalStateException e) {
            assumeTrue(false, e.getMessage());
            return null;
        }
    }

    @Test
    void autoChoosesTheFirstVariantThisCpuRunsAndJavaIsNoNativeKernels() {
        assertNull(NativeKernels.select(Kernels.JAVA));
        NativeKernels auto = NativeKernels.select(Kernels.AUTO);
        Kernels expected = variants().filter(v -> {
            try {
                return NativeKernels.select(v) != null;
            } catch (IllegalStateException e) {
                return false;
            }
        }).findFirst().orElse(null);
        assertEquals(expected, auto == null ? null : auto.variant());
        // A variant of the other architecture is refused with the reason, never loaded.
        Kernels foreign = "x86_64".equals(NativeKernels.ARCH) ? Kernels.NEON : Kernels.AVX2;
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> NativeKernels.select(foreign));
        assertTrue(refused.getMessage().contains(foreign.id()), refused.getMessage());
    }

    @Test
    void theConfiguredIdsNameTheVariants() {
        assertEquals("avx512-vnni", Kernels.AVX512_VNNI.id());
        assertEquals("neon-dotprod", Kernels.NEON_DOTPROD.id());
        assertEquals("java", Kernels.JAVA.id());
    }

    /**
     * The activations' 8-bit rounding is to the nearest step, checked in double precision: every value within half a
     * step (plus float rounding) of its block's exact value, negative as well as positive ones. Jlama's rounding,
     * which this replaced, is a step off for most negative values (its {@code (int) (v + 0.5)}).
     */
    @Test
    void activationsAreRoundedToTheNearestStep() {
        SplittableRandom random = new SplittableRandom(11);
        float[] x = new float[32 * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-3, 3);
        }
        x[5] = 0; // a zero, and a block of zeros
        java.util.Arrays.fill(x, 32, 64, 0f);
        float[] rounded = new float[x.length];
        QwenJlamaModel.roundTo8Bits(x, x.length, rounded);
        double worst = 0;
        for (int b = 0; b < x.length; b += 32) {
            double max = 0;
            for (int j = b; j < b + 32; j++) {
                max = Math.max(max, Math.abs(x[j]));
            }
            double step = max / 127;
            for (int j = b; j < b + 32; j++) {
                double error = step == 0 ? Math.abs(rounded[j]) : Math.abs(rounded[j] - x[j]) / step;
                worst = Math.max(worst, error);
                assertTrue(error <= 0.5 + 1e-4, "value " + j + ": " + x[j] + " became " + rounded[j] + ", " + error + " steps off");
            }
        }
        assertTrue(worst > 0.45, "the values did not test rounding: worst " + worst + " steps");
    }

    @ParameterizedTest
    @MethodSource("variants")
    void productsEqualAReferenceAndDoNotDependOnTheBatch(Kernels variant) {
        NativeKernels kernels = kernels(variant);
        SplittableRandom random = new SplittableRandom(7);
        // Row counts that fill 16-row groups and ones that leave the last group partial; then the real models' row
        // lengths that are not whole vectors of blocks: Qwen2.5-0.5B's key/value rows over hidden 896 (28 blocks) and
        // its down projection's 4864 (152), Qwen3-0.6B's output projection over 16 heads of 128 (2048).
        int[][] shapes = {{13, 64}, {16, 96}, {40, 256}, {128, 896}, {24, 4864}, {32, 2048}};
        for (MatrixFormat format : List.of(MatrixFormat.Q4, MatrixFormat.Q8)) {
            for (int[] shape : shapes) {
                int rows = shape[0];
                int in = shape[1];
                FloatBufferTensor full = new FloatBufferTensor(rows, in);
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < in; j++) {
                        full.set((float) random.nextDouble(-1, 1), r, j);
                    }
                }
                AbstractTensor w = format == MatrixFormat.Q4 ? new Q4ByteBufferTensor(full) : new Q8ByteBufferTensor(full);
                assertEquals(format, MatrixFormat.of(w));
                try (PackedMemory memory = new PackedMemory(kernels); NativeProducts products = new NativeProducts(kernels)) {
                    PackedMatrix packed = format.pack(w, kernels, memory);
                    // Batches through the 8-, 4- and 1-row kernels and their mixtures.
                    for (int n : new int[] {1, 3, 4, 5, 8, 13}) {
                        float[] x = new float[n * in];
                        for (int i = 0; i < x.length; i++) {
                            x[i] = (float) random.nextDouble(-3, 3);
                        }
                        float[] y = new float[n * rows];
                        products.multiply(new Object(), x, n, packed, y);
                        assertEqualsReference(x, n, in, w, rows, y, variant.id() + ", " + format + " " + rows + "x" + in + " n=" + n);
                        float[] one = new float[rows];
                        for (int i = 0; i < n; i++) {
                            products.multiply(new Object(), java.util.Arrays.copyOfRange(x, i * in, (i + 1) * in), 1, packed, one);
                            assertArrayEquals(java.util.Arrays.copyOfRange(y, i * rows, (i + 1) * rows), one,
                                    "row " + i + " alone must give the numbers it gave in a batch of " + n);
                        }
                    }
                }
            }
        }
    }

    /**
     * The C attention (8 heads per call, one per vector lane) against the Java loops: head sizes 64 and 128, grouped
     * keys and values, a head count that leaves a call with fewer than 8 lanes, and a step mixing a prompt chunk
     * that crosses KV blocks with single decoding rows; then each part alone must give what it gave in the batch.
     * With both KV types: half precision and 8 bits with a scale per head row ({@code aio_attend_block_q8}, whose
     * harness also checks it against attention in double).
     */
    @ParameterizedTest
    @MethodSource("variants")
    void attentionInCMatchesTheJavaLoopsAndDoesNotDependOnTheBatch(Kernels variant) {
        for (KvCacheType type : KvCacheType.values()) {
            attentionInCMatchesTheJavaLoops(kernels(variant), type);
        }
    }

    private static void attentionInCMatchesTheJavaLoops(NativeKernels kernels, KvCacheType type) {
        SplittableRandom random = new SplittableRandom(11);
        // ... and the real models': Qwen2.5-0.5B's 14 heads over 2 (a call of 6 lanes), Qwen3-0.6B's 16 of 128 over 8.
        int[][] shapes = {{16, 16, 64}, {12, 4, 64}, {8, 2, 128}, {14, 2, 64}, {16, 8, 128}};
        for (int[] shape : shapes) {
            int heads = shape[0];
            int kvHeads = shape[1];
            int headSize = shape[2];
            int kvDim = kvHeads * headSize;
            int qDim = heads * headSize;
            KvBlockPool pool = new KvBlockPool(new KvLayout(1, kvDim, InferenceEngine.KV_BLOCK_TOKENS, type, headSize), 64L << 20);
            PrefixCache cache = new PrefixCache(pool);
            int[] lengths = {37, 5, 70};
            int[] newRows = {20, 1, 1};
            List<Attention.Part> parts = new ArrayList<>();
            int row0 = 0;
            for (int p = 0; p < lengths.length; p++) {
                int[] tokens = random.ints(lengths[p], 0, 1000).toArray();
                SequenceKv kv = cache.start(tokens, 0).sequence();
                kv.append(tokens, 0, tokens.length);
                for (int pos = 0; pos < tokens.length; pos++) {
                    float[] k = new float[kvDim];
                    float[] v = new float[kvDim];
                    for (int d = 0; d < kvDim; d++) {
                        k[d] = (float) random.nextDouble(-2, 2);
                        v[d] = (float) random.nextDouble(-1, 1);
                    }
                    kv.write(0, pos, k, v, 0);
                }
                parts.add(new Attention.Part(kv, row0, newRows[p], lengths[p] - newRows[p]));
                row0 += newRows[p];
            }
            float[] q = new float[row0 * qDim];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) random.nextDouble(-1, 1);
            }
            float[] inC = new float[q.length];
            float[] inJava = new float[q.length];
            new Attention(heads, kvHeads, headSize, kernels).forward(parts, 0, q, inC);
            new Attention(heads, kvHeads, headSize, null).forward(parts, 0, q, inJava);
            for (int i = 0; i < q.length; i++) {
                assertTrue(Math.abs(inC[i] - inJava[i]) <= 1e-5f, type + " " + heads + "/" + kvHeads + "x" + headSize + " value " + i + ": " + inC[i] + " vs " + inJava[i]);
            }
            for (Attention.Part part : parts) {
                float[] alone = new float[q.length];
                new Attention(heads, kvHeads, headSize, kernels).forward(List.of(part), 0, q, alone);
                int from = part.row0() * qDim;
                int to = (part.row0() + part.n()) * qDim;
                assertArrayEquals(java.util.Arrays.copyOfRange(inC, from, to), java.util.Arrays.copyOfRange(alone, from, to),
                        "a part alone must give what it gave in the batch");
            }
            parts.forEach(part -> part.kv().close());
        }
    }

    @ParameterizedTest
    @MethodSource("variants")
    void swiGluIsSiluTimesUpWhateverPieceComputesAValue(Kernels variant) {
        NativeKernels kernels = kernels(variant);
        SplittableRandom random = new SplittableRandom(3);
        int length = 1000;
        float[] gate = new float[length];
        float[] up = new float[length];
        for (int i = 0; i < length; i++) {
            gate[i] = (float) random.nextDouble(-30, 30);
            up[i] = (float) random.nextDouble(-2, 2);
        }
        float[] whole = gate.clone();
        kernels.swiGlu(whole, up, 0, length);
        float[] pieces = gate.clone();
        // Odd boundaries: values fall into the vector body in one call and into the scalar tail in another.
        for (int from = 0; from < length; from += 13) {
            kernels.swiGlu(pieces, up, from, Math.min(13, length - from));
        }
        assertArrayEquals(whole, pieces);
        for (int i = 0; i < length; i++) {
            double g = gate[i];
            double expected = g / (1 + Math.exp(-g)) * up[i];
            assertTrue(Math.abs(whole[i] - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), i + ": " + whole[i] + " vs " + expected);
        }
    }

    /**
     * The decoder layers on the C kernels give the Java kernels' hidden states. Both round activations to 8 bits and
     * differ only in the order of the sums, but a value that lands on the other side of a rounding step in one layer
     * moves the next layers' inputs by a step (1/127 of its block's largest value): measured, the two paths differ by
     * 0.36 % of the largest hidden value after a 60-token prompt; a wrong weight, scale or input would differ by its
     * whole size. The LM head is left out: there the Java path multiplies float activations; the products are
     * checked above.
     */
    @ParameterizedTest
    @MethodSource("variants")
    void theLayersOnTheNativeKernelsGiveTheJavaKernelsHiddenStates(Kernels variant) {
        kernels(variant);
        LoadedModel nativeModel = load(variant);
        LoadedModel javaModel = load(Kernels.JAVA);
        try {
            assertEquals(variant, nativeModel.kernels());
            assertEquals(Kernels.JAVA, javaModel.kernels());
            int[] prompt = nativeModel.template().encode(List.of(new ChatTemplate.Message("user", "刚拿到offer，超级开心！".repeat(6))),
                    true, nativeModel.tokenizer());
            // Long enough for the many-row kernels; then one more token through the one-row path.
            assertTrue(prompt.length >= Q4Gemm.MIN_ROWS);
            float[][] a = hiddenAfterPromptAndOneToken(nativeModel, prompt);
            float[][] b = hiddenAfterPromptAndOneToken(javaModel, prompt);
            for (int step = 0; step < 2; step++) {
                float range = 0;
                for (float v : b[step]) {
                    range = Math.max(range, Math.abs(v));
                }
                for (int i = 0; i < a[step].length; i++) {
                    assertTrue(Math.abs(a[step][i] - b[step][i]) <= 2e-2f * range,
                            "step " + step + " value " + i + ": " + a[step][i] + " vs " + b[step][i]);
                }
            }
        } finally {
            nativeModel.jlama().close();
            javaModel.jlama().close();
        }
    }

    /**
     * Every variant computes the same operations in the same order (kernels.h), so a whole forward pass — a prompt
     * through the many-row kernels, then one token — gives the hidden states and logits of the first variant this CPU
     * runs, to the bit: the bound between variants is zero.
     */
    @Test
    void everyVariantGivesTheSameHiddenStatesAndLogitsToTheBit() {
        List<Kernels> runnable = variants().filter(v -> {
            try {
                return kernels(v) != null;
            } catch (org.opentest4j.TestAbortedException e) {
                return false;
            }
        }).toList();
        assumeTrue(runnable.size() >= 2, "this CPU runs fewer than two C variants");
        float[][] first = null;
        for (Kernels variant : runnable) {
            LoadedModel model = load(variant);
            try {
                assertEquals(variant, model.kernels());
                int[] prompt = model.template().encode(List.of(new ChatTemplate.Message("user", "今天天气真好，我们去公园散步吧。".repeat(5))),
                        true, model.tokenizer());
                float[][] hidden = hiddenAfterPromptAndOneToken(model, prompt);
                float[] logits = new float[model.jlama().vocabularySize()];
                model.jlama().allLogits(hidden[1], logits);
                float[][] result = {hidden[0], hidden[1], logits};
                if (first == null) {
                    first = result;
                } else {
                    for (int k = 0; k < result.length; k++) {
                        assertArrayEquals(first[k], result[k], variant.id() + " must give " + runnable.get(0).id() + "'s bits (" + k + ")");
                    }
                }
            } finally {
                model.jlama().close();
            }
        }
    }

    /**
     * The Java kernels (what a CPU without a C variant runs: Jlama's 8-bit × Q4 kernel for a few rows, {@link Q4Gemm}
     * on the same 8-bit-rounded activations for many; {@link Q8Gemm} for any number of rows of Q8) against the same
     * double-precision reference as the C products.
     */
    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q4", "Q8"})
    void theJavaKernelsEqualTheDoublePrecisionReference(WeightFormat weights) {
        LoadedModel model = load(Kernels.JAVA, weights);
        try {
            QwenJlamaModel jlama = model.jlama();
            SplittableRandom random = new SplittableRandom(17);
            for (AbstractTensor w : new AbstractTensor[] {jlama.layer(0).gate(), jlama.layer(1).down(), jlama.layer(0).k()}) {
                int in = w.shape().last();
                int rows = w.shape().first();
                for (int n : new int[] {1, 3, Q4Gemm.MIN_ROWS, Q4Gemm.MIN_ROWS + 5}) {
                    float[] x = new float[n * in];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) random.nextDouble(-3, 3);
                    }
                    float[] y = new float[n * rows];
                    jlama.matmul(x, n, w, y);
                    assertEqualsReference(x, n, in, w, rows, y, "Java kernels, " + rows + "x" + in + " n=" + n);
                }
            }
        } finally {
            model.jlama().close();
        }
    }

    /**
     * {@code y} against the double-precision product of the weights' values with the activations as the format
     * multiplies them: rounded to 8 bits (Q4), or that plus the rounded residual (Q8,
     * {@link MatrixFormat#residualActivations}). With the residual the product must also be within 2e-5 of the one
     * with the activations unrounded: the residual's rounding leaves 1/508 of a step, where the 8-bit rounding alone is
     * off by a quarter of a step on average (seen failing, on every variant and the Java kernels, with the residual
     * dropped: 7.8326 for 7.8082 on a row of 64).
     */
    private static void assertEqualsReference(float[] x, int n, int in, AbstractTensor w, int rows, float[] y, String what) {
        boolean residual = MatrixFormat.of(w) == MatrixFormat.Q8; // by design: Q8 multiplies the residual too
        float[] rounded = new float[x.length];
        if (residual) {
            QwenJlamaModel.roundTo8BitsWithResidual(x, x.length, rounded);
        } else {
            QwenJlamaModel.roundTo8Bits(x, x.length, rounded);
        }
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < rows; r++) {
                double expected = 0;
                double unrounded = 0;
                double magnitude = 0;
                for (int j = 0; j < in; j++) {
                    double term = (double) rounded[i * in + j] * w.get(r, j);
                    expected += term;
                    unrounded += (double) x[i * in + j] * w.get(r, j);
                    magnitude += Math.abs(term);
                }
                float actual = y[i * rows + r];
                assertTrue(Math.abs(actual - expected) <= 1e-5 * (1 + magnitude), what + " [" + i + "," + r + "]: " + actual + " vs " + expected);
                if (residual) {
                    assertTrue(Math.abs(actual - unrounded) <= 2e-5 * (1 + magnitude),
                            what + " [" + i + "," + r + "]: " + actual + " vs " + unrounded + " with the activations unrounded");
                }
            }
        }
    }

    private static LoadedModel load(Kernels kernels) {
        return load(kernels, WeightFormat.Q4);
    }

    private static LoadedModel load(Kernels kernels, WeightFormat weights) {
        Path dir = TestCheckpoints.smallAligned();
        return ModelLoader.load(new ModelOptions(dir, weights, 0, 1024, dir.resolveSibling("small-aligned-" + weights), kernels),
                SamplingOverrides.none());
    }

    private static float[][] hiddenAfterPromptAndOneToken(LoadedModel model, int[] prompt) {
        Transformer t = new Transformer(model.jlama());
        KvBlockPool pool = new KvBlockPool(new KvLayout(t.layers(), t.kvDim(), InferenceEngine.KV_BLOCK_TOKENS), 16L << 20);
        PrefixCache cache = new PrefixCache(pool);
        try (SequenceKv kv = cache.start(prompt, 1).sequence()) {
            return new float[][] {t.forward(prompt, 0, kv), t.forward(new int[] {prompt[prompt.length - 1]}, 0, kv)};
        }
    }
}
