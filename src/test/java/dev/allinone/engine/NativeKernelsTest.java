package dev.allinone.engine;

import com.github.tjake.jlama.tensor.FloatBufferTensor;
import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;
import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.KvLayout;
import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The C kernels: present where the CPU has them, the same products as an independent reference, batch-invariant. */
class NativeKernelsTest {

    @Test
    void theKernelsLoadOnACpuWithAvx512Vnni() throws IOException {
        assumeTrue(Files.isReadable(Path.of("/proc/cpuinfo")) && Files.readString(Path.of("/proc/cpuinfo")).contains("avx512_vnni"),
                "this CPU has no AVX-512 VNNI");
        assertNotNull(NativeKernels.get(), "the build must carry the kernels (native/build-kernels.sh needs a C compiler)");
    }

    @Test
    void productsEqualAReferenceAndDoNotDependOnTheBatch() {
        NativeKernels kernels = NativeKernels.get();
        assumeTrue(kernels != null, "no native kernels on this machine");
        SplittableRandom random = new SplittableRandom(7);
        // Row counts that fill 16-row groups and ones that leave the last group partial.
        int[][] shapes = {{13, 64}, {16, 96}, {40, 256}};
        for (int[] shape : shapes) {
            int rows = shape[0];
            int in = shape[1];
            FloatBufferTensor full = new FloatBufferTensor(rows, in);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < in; j++) {
                    full.set((float) random.nextDouble(-1, 1), r, j);
                }
            }
            Q4ByteBufferTensor w = new Q4ByteBufferTensor(full);
            try (PackedMemory memory = new PackedMemory(kernels); NativeProducts products = new NativeProducts(kernels)) {
                PackedQ4 packed = PackedQ4.of(w, kernels, memory);
                // Batches through the 8-, 4- and 1-row kernels and their mixtures.
                for (int n : new int[] {1, 3, 4, 5, 8, 13}) {
                    float[] x = new float[n * in];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) random.nextDouble(-3, 3);
                    }
                    float[] y = new float[n * rows];
                    products.multiply(new Object(), x, n, packed, y);
                    float[] rounded = new float[x.length];
                    QwenJlamaModel.roundTo8Bits(x, x.length, rounded);
                    float[] one = new float[rows];
                    for (int i = 0; i < n; i++) {
                        for (int r = 0; r < rows; r++) {
                            double expected = 0;
                            double magnitude = 0;
                            for (int j = 0; j < in; j++) {
                                double term = (double) rounded[i * in + j] * w.get(r, j);
                                expected += term;
                                magnitude += Math.abs(term);
                            }
                            float actual = y[i * rows + r];
                            assertTrue(Math.abs(actual - expected) <= 1e-5 * (1 + magnitude),
                                    rows + "x" + in + " n=" + n + " [" + i + "," + r + "]: " + actual + " vs " + expected);
                        }
                        products.multiply(new Object(), java.util.Arrays.copyOfRange(x, i * in, (i + 1) * in), 1, packed, one);
                        assertArrayEquals(java.util.Arrays.copyOfRange(y, i * rows, (i + 1) * rows), one,
                                "row " + i + " alone must give the numbers it gave in a batch of " + n);
                    }
                }
            }
        }
    }

    /**
     * The C attention (8 heads per call, one per vector lane) against the Java loops: head sizes 64 and 128, grouped
     * keys and values, a head count that leaves a call with fewer than 8 lanes, and a step mixing a prompt chunk
     * that crosses KV blocks with single decoding rows; then each part alone must give what it gave in the batch.
     */
    @Test
    void attentionInCMatchesTheJavaLoopsAndDoesNotDependOnTheBatch() {
        NativeKernels kernels = NativeKernels.get();
        assumeTrue(kernels != null, "no native kernels on this machine");
        SplittableRandom random = new SplittableRandom(11);
        int[][] shapes = {{16, 16, 64}, {12, 4, 64}, {8, 2, 128}};
        for (int[] shape : shapes) {
            int heads = shape[0];
            int kvHeads = shape[1];
            int headSize = shape[2];
            int kvDim = kvHeads * headSize;
            int qDim = heads * headSize;
            KvBlockPool pool = new KvBlockPool(new KvLayout(1, kvDim, InferenceEngine.KV_BLOCK_TOKENS), 64L << 20);
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
                    for (int d = 0; d < kvDim; d++) {
                        kv.block(pos)[kv.keyOffset(0, pos) + d] = Float.floatToFloat16((float) random.nextDouble(-2, 2));
                        kv.block(pos)[kv.valueOffset(0, pos) + d] = Float.floatToFloat16((float) random.nextDouble(-1, 1));
                    }
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
                assertTrue(Math.abs(inC[i] - inJava[i]) <= 1e-5f, heads + "/" + kvHeads + "x" + headSize + " value " + i + ": " + inC[i] + " vs " + inJava[i]);
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

    @Test
    void swiGluIsSiluTimesUpWhateverPieceComputesAValue() {
        NativeKernels kernels = NativeKernels.get();
        assumeTrue(kernels != null, "no native kernels on this machine");
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
    @Test
    void theLayersOnTheNativeKernelsGiveTheJavaKernelsHiddenStates() {
        assumeTrue(NativeKernels.get() != null, "no native kernels on this machine");
        Path dir = TestCheckpoints.smallAligned();
        LoadedModel nativeModel = ModelLoader.load(new ModelOptions(dir, WeightFormat.Q4, 0, 1024, dir.resolveSibling("small-aligned-Q4"), true),
                SamplingOverrides.none());
        LoadedModel javaModel = ModelLoader.load(new ModelOptions(dir, WeightFormat.Q4, 0, 1024, dir.resolveSibling("small-aligned-Q4"), false),
                SamplingOverrides.none());
        try {
            assertTrue(nativeModel.jlama().nativeKernels());
            assertTrue(!javaModel.jlama().nativeKernels());
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

    private static float[][] hiddenAfterPromptAndOneToken(LoadedModel model, int[] prompt) {
        Transformer t = new Transformer(model.jlama());
        KvBlockPool pool = new KvBlockPool(new KvLayout(t.layers(), t.kvDim(), InferenceEngine.KV_BLOCK_TOKENS), 16L << 20);
        PrefixCache cache = new PrefixCache(pool);
        try (SequenceKv kv = cache.start(prompt, 1).sequence()) {
            return new float[][] {t.forward(prompt, 0, kv), t.forward(new int[] {prompt[prompt.length - 1]}, 0, kv)};
        }
    }
}
