package dev.allinone.engine.kernels;

import dev.allinone.engine.kv.KvCacheType;
import dev.allinone.engine.kv.SequenceKv;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.List;

/**
 * Causal self-attention of a chunk of new positions over everything a sequence holds, one layer at a time. Keys and
 * values are read block by block and widened from half precision (or from 8 bits times their row's scale) once per
 * block for all queries of the chunk;
 * the softmax is computed online (running maximum and sum), so memory stays linear in the prompt length.
 * Heads are split over the kernel threads. With the C kernels, 8 heads go through each call together, so a block's
 * rows of keys and values (every head side by side) are read front to back once rather than once per head.
 */
public final class Attention {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> HALVES = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> WIDENED = IntVector.SPECIES_256;
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_64;

    /** Per kernel thread: the block being read and the running softmax state of the chunk's queries for one head. */
    private static final class Scratch {
        float[] keys = new float[0];
        float[] values = new float[0];
        float[] scores = new float[0];
        float[] max = new float[0];
        float[] sum = new float[0];
        float[] acc = new float[0];

        Scratch fit(int n, int blockTokens, int headSize) {
            if (keys.length < blockTokens * headSize) {
                keys = new float[blockTokens * headSize];
                values = new float[blockTokens * headSize];
                scores = new float[blockTokens];
            }
            if (max.length < n || acc.length < n * headSize) {
                max = new float[n];
                sum = new float[n];
                acc = new float[n * headSize];
            }
            return this;
        }
    }

    /** Heads per C call: one per lane of an 8-float vector. */
    private static final int NATIVE_HEADS = 8;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final int heads;
    private final int headSize;
    private final int groupSize;
    private final int kvDim;
    private final float scale;

    /** Null: the Java loops below. */
    private final NativeKernels kernels;

    public Attention(int heads, int kvHeads, int headSize, NativeKernels kernels) {
        this.kernels = kernels != null && kernels.attends(headSize) ? kernels : null;
        this.heads = heads;
        this.headSize = headSize;
        this.groupSize = heads / kvHeads;
        this.kvDim = kvHeads * headSize;
        this.scale = (float) (1.0 / Math.sqrt(headSize));
    }

    /** The rows {@code row0…row0+n-1} of a step belong to {@code kv}, their first at position {@code pos0}. */
    public record Part(SequenceKv kv, int row0, int n, int pos0) {
    }

    /**
     * Causal attention of every part's rows over its own sequence, all parts' heads split over the kernel threads.
     *
     * @param q   the step's queries, {@code rows × heads·headSize}, already rotated
     * @param out the attention output, same shape
     */
    public void forward(List<Part> parts, int layer, float[] q, float[] out) {
        if (kernels != null) {
            int ranges = (heads + NATIVE_HEADS - 1) / NATIVE_HEADS;
            KernelThreads.get().run(0, parts.size() * ranges, (first, count) -> {
                for (int task = first; task < first + count; task++) {
                    int head0 = (task % ranges) * NATIVE_HEADS;
                    nativeHeads(parts.get(task / ranges), head0, Math.min(NATIVE_HEADS, heads - head0), layer, q, out);
                }
            });
            return;
        }
        KernelThreads.get().run(0, parts.size() * heads, (first, count) -> {
            for (int task = first; task < first + count; task++) {
                head(parts.get(task / heads), task % heads, layer, q, out);
            }
        });
    }

    /** Heads {@code head0 … head0+count-1} of one part in C, block by block, each key and value row read once for all of them. */
    private void nativeHeads(Part part, int head0, int count, int layer, float[] q, float[] out) {
        SequenceKv kv = part.kv();
        int n = part.n();
        int qDim = heads * headSize;
        int blockTokens = kv.layout().blockTokens();
        Scratch s = SCRATCH.get().fit(n * count, blockTokens, headSize);
        java.util.Arrays.fill(s.max, 0, n * count, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(s.sum, 0, n * count, 0f);
        java.util.Arrays.fill(s.acc, 0, n * count * headSize, 0f);
        int last = part.pos0() + n - 1;
        boolean q8 = kv.layout().type() == KvCacheType.Q8;
        for (int start = 0; start <= last; start += blockTokens) {
            int tokens = Math.min(blockTokens, last + 1 - start);
            if (q8) {
                kernels.attendBlockQ8(q, part.row0() * qDim, qDim, n, part.pos0(), kv.quants(start), kv.scales(start),
                        kv.keyOffset(layer, start), kv.valueOffset(layer, start), kvDim, head0, count, groupSize, start, tokens,
                        headSize, scale, s.max, s.sum, s.acc);
            } else {
                kernels.attendBlock(q, part.row0() * qDim, qDim, n, part.pos0(), kv.halves(start), kv.keyOffset(layer, start),
                        kv.valueOffset(layer, start), kvDim, head0, count, groupSize, start, tokens, headSize, scale, s.max, s.sum,
                        s.acc);
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < count; j++) {
                float inv = 1f / s.sum[i * count + j];
                int from = (i * count + j) * headSize;
                int to = (part.row0() + i) * qDim + (head0 + j) * headSize;
                for (int d = 0; d < headSize; d++) {
                    out[to + d] = s.acc[from + d] * inv;
                }
            }
        }
    }

    private void head(Part part, int h, int layer, float[] q, float[] out) {
        SequenceKv kv = part.kv();
        int n = part.n();
        int pos0 = part.pos0();
        int qDim = heads * headSize;
        int blockTokens = kv.layout().blockTokens();
        int kvCol = (h / groupSize) * headSize;
        Scratch s = SCRATCH.get().fit(n, blockTokens, headSize);
        java.util.Arrays.fill(s.max, 0, n, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(s.sum, 0, n, 0f);
        java.util.Arrays.fill(s.acc, 0, n * headSize, 0f);
        int last = pos0 + n - 1;
        boolean q8 = kv.layout().type() == KvCacheType.Q8;
        for (int start = 0; start <= last; start += blockTokens) {
            int count = Math.min(blockTokens, last + 1 - start);
            if (q8) {
                byte[] quants = kv.quants(start);
                short[] scales = kv.scales(start);
                for (int t = 0; t < count; t++) {
                    widenQ8(quants, scales, kv.keyOffset(layer, start + t) + kvCol, s.keys, t * headSize);
                    widenQ8(quants, scales, kv.valueOffset(layer, start + t) + kvCol, s.values, t * headSize);
                }
            } else {
                short[] block = kv.halves(start);
                for (int t = 0; t < count; t++) {
                    widen(block, kv.keyOffset(layer, start + t) + kvCol, s.keys, t * headSize);
                    widen(block, kv.valueOffset(layer, start + t) + kvCol, s.values, t * headSize);
                }
            }
            for (int i = Math.max(0, start - pos0); i < n; i++) {
                int visible = Math.min(count, pos0 + i + 1 - start);
                accumulate(q, (part.row0() + i) * qDim + h * headSize, s.keys, s.values, visible, s.scores, s.max, s.sum, s.acc, i);
            }
        }
        for (int i = 0; i < n; i++) {
            float inv = 1f / s.sum[i];
            for (int d = 0; d < headSize; d++) {
                out[(part.row0() + i) * qDim + h * headSize + d] = s.acc[i * headSize + d] * inv;
            }
        }
    }

    /** Online softmax step of query {@code i} over {@code visible} keys of one block. */
    private void accumulate(float[] q, int qOff, float[] keys, float[] values, int visible, float[] scores, float[] max,
            float[] sum, float[] acc, int i) {
        if (headSize == 64 && S.length() == 8) {
            accumulate64(q, qOff, keys, values, visible, scores, max, sum, acc, i);
        } else {
            accumulateAnySize(q, qOff, keys, values, visible, scores, max, sum, acc, i);
        }
    }

    /**
     * The same step for Qwen's head size with 8-float vectors, the query and the output held in registers across
     * the block's keys instead of being read and written once per key.
     */
    private void accumulate64(float[] q, int qOff, float[] keys, float[] values, int visible, float[] scores, float[] max,
            float[] sum, float[] acc, int i) {
        FloatVector q0 = FloatVector.fromArray(S, q, qOff), q1 = FloatVector.fromArray(S, q, qOff + 8),
                q2 = FloatVector.fromArray(S, q, qOff + 16), q3 = FloatVector.fromArray(S, q, qOff + 24),
                q4 = FloatVector.fromArray(S, q, qOff + 32), q5 = FloatVector.fromArray(S, q, qOff + 40),
                q6 = FloatVector.fromArray(S, q, qOff + 48), q7 = FloatVector.fromArray(S, q, qOff + 56);
        float blockMax = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < visible; t++) {
            int k = t * 64;
            FloatVector even = q0.mul(FloatVector.fromArray(S, keys, k)).add(q2.mul(FloatVector.fromArray(S, keys, k + 16)))
                    .add(q4.mul(FloatVector.fromArray(S, keys, k + 32))).add(q6.mul(FloatVector.fromArray(S, keys, k + 48)));
            FloatVector odd = q1.mul(FloatVector.fromArray(S, keys, k + 8)).add(q3.mul(FloatVector.fromArray(S, keys, k + 24)))
                    .add(q5.mul(FloatVector.fromArray(S, keys, k + 40))).add(q7.mul(FloatVector.fromArray(S, keys, k + 56)));
            float score = even.add(odd).reduceLanes(VectorOperators.ADD) * scale;
            scores[t] = score;
            blockMax = Math.max(blockMax, score);
        }
        float newMax = Math.max(max[i], blockMax);
        float rescale = (float) Math.exp(max[i] - newMax);
        FloatVector correction = FloatVector.broadcast(S, rescale);
        int a = i * 64;
        FloatVector o0 = FloatVector.fromArray(S, acc, a).mul(correction), o1 = FloatVector.fromArray(S, acc, a + 8).mul(correction),
                o2 = FloatVector.fromArray(S, acc, a + 16).mul(correction), o3 = FloatVector.fromArray(S, acc, a + 24).mul(correction),
                o4 = FloatVector.fromArray(S, acc, a + 32).mul(correction), o5 = FloatVector.fromArray(S, acc, a + 40).mul(correction),
                o6 = FloatVector.fromArray(S, acc, a + 48).mul(correction), o7 = FloatVector.fromArray(S, acc, a + 56).mul(correction);
        float total = sum[i] * rescale;
        for (int t = 0; t < visible; t++) {
            // Math.exp, not the vector EXP: HotSpot gives Math.exp one result in every compilation tier, while the
            // vector EXP's intrinsic and its fallback differ, which made results depend on JIT timing (measured).
            float weight = (float) Math.exp(scores[t] - newMax);
            total += weight;
            FloatVector p = FloatVector.broadcast(S, weight);
            int v = t * 64;
            o0 = FloatVector.fromArray(S, values, v).fma(p, o0);
            o1 = FloatVector.fromArray(S, values, v + 8).fma(p, o1);
            o2 = FloatVector.fromArray(S, values, v + 16).fma(p, o2);
            o3 = FloatVector.fromArray(S, values, v + 24).fma(p, o3);
            o4 = FloatVector.fromArray(S, values, v + 32).fma(p, o4);
            o5 = FloatVector.fromArray(S, values, v + 40).fma(p, o5);
            o6 = FloatVector.fromArray(S, values, v + 48).fma(p, o6);
            o7 = FloatVector.fromArray(S, values, v + 56).fma(p, o7);
        }
        o0.intoArray(acc, a);
        o1.intoArray(acc, a + 8);
        o2.intoArray(acc, a + 16);
        o3.intoArray(acc, a + 24);
        o4.intoArray(acc, a + 32);
        o5.intoArray(acc, a + 40);
        o6.intoArray(acc, a + 48);
        o7.intoArray(acc, a + 56);
        sum[i] = total;
        max[i] = newMax;
    }

    private void accumulateAnySize(float[] q, int qOff, float[] keys, float[] values, int visible, float[] scores, float[] max,
            float[] sum, float[] acc, int i) {
        float blockMax = Float.NEGATIVE_INFINITY;
        for (int t = 0; t < visible; t++) {
            float s = dot(q, qOff, keys, t * headSize) * scale;
            scores[t] = s;
            blockMax = Math.max(blockMax, s);
        }
        float newMax = Math.max(max[i], blockMax);
        float correction = (float) Math.exp(max[i] - newMax);
        int a = i * headSize;
        if (correction != 1f) {
            for (int d = 0; d < headSize; d++) {
                acc[a + d] *= correction;
            }
        }
        float total = sum[i] * correction;
        for (int t = 0; t < visible; t++) {
            float p = (float) Math.exp(scores[t] - newMax);
            total += p;
            axpy(p, values, t * headSize, acc, a);
        }
        sum[i] = total;
        max[i] = newMax;
    }

    private float dot(float[] a, int aOff, float[] b, int bOff) {
        FloatVector acc = FloatVector.zero(S);
        int d = 0;
        for (; d + S.length() <= headSize; d += S.length()) {
            acc = FloatVector.fromArray(S, a, aOff + d).fma(FloatVector.fromArray(S, b, bOff + d), acc);
        }
        float r = acc.reduceLanes(VectorOperators.ADD);
        for (; d < headSize; d++) {
            r += a[aOff + d] * b[bOff + d];
        }
        return r;
    }

    private void axpy(float p, float[] x, int xOff, float[] y, int yOff) {
        int d = 0;
        FloatVector pv = FloatVector.broadcast(S, p);
        for (; d + S.length() <= headSize; d += S.length()) {
            FloatVector.fromArray(S, x, xOff + d).fma(pv, FloatVector.fromArray(S, y, yOff + d)).intoArray(y, yOff + d);
        }
        for (; d < headSize; d++) {
            y[yOff + d] += p * x[xOff + d];
        }
    }

    /**
     * One head's row of 8-bit keys or values (at {@code from}, a multiple of the head size) times its scale, to
     * floats, 8 at a time.
     */
    private void widenQ8(byte[] quants, short[] scales, int from, float[] dst, int to) {
        float rowScale = Float.float16ToFloat(scales[from / headSize]);
        int d = 0;
        if (S.length() == 8) {
            FloatVector sv = FloatVector.broadcast(S, rowScale);
            for (; d + 8 <= headSize; d += 8) {
                ((FloatVector) ByteVector.fromArray(BYTES, quants, from + d).convertShape(VectorOperators.B2F, S, 0)).mul(sv)
                        .intoArray(dst, to + d);
            }
        }
        for (; d < headSize; d++) {
            dst[to + d] = quants[from + d] * rowScale;
        }
    }

    /**
     * Half-precision keys or values to floats, 8 at a time: the half's exponent and mantissa moved into a float's
     * bits and scaled by 2^112 (the difference of the exponent biases; exact for subnormal halves too), its sign
     * put back. The same value as {@link Float#float16ToFloat} for every finite half (the cache holds no others);
     * widening every cached position for every generated token was a quarter of a decode step one value at a time.
     */
    private void widen(short[] src, int from, float[] dst, int to) {
        int d = 0;
        if (S.length() == 8) {
            for (; d + 8 <= headSize; d += 8) {
                IntVector h = (IntVector) ShortVector.fromArray(HALVES, src, from + d).convertShape(VectorOperators.S2I, WIDENED, 0);
                IntVector magnitude = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
                IntVector sign = h.lanewise(VectorOperators.LSHL, 16).and(0x80000000);
                FloatVector value = magnitude.reinterpretAsFloats().mul(0x1p112f);
                value.reinterpretAsInts().or(sign).reinterpretAsFloats().intoArray(dst, to + d);
            }
        }
        for (; d < headSize; d++) {
            dst[to + d] = Float.float16ToFloat(src[from + d]);
        }
    }
}
