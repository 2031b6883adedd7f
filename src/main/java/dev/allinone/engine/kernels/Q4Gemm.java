package dev.allinone.engine.kernels;

import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Matrix product of many activation rows with a Q4 weight matrix ({@code y = x · Wᵀ}), for prompt processing.
 * Jlama's kernels take each activation row through the whole weight matrix on its own, decoding every 4-bit block
 * again for each row; here a tile of weight rows is widened to floats once and multiplied with all rows of the
 * chunk, 4 × 4 at a time in registers, so the work is bound by multiply-adds instead of by decoding. Same arithmetic
 * as Jlama's F32 × Q4 kernel (float activations, weights = (nibble − 8) × block scale), summed in another order.
 */
public final class Q4Gemm {

    /**
     * From this many activation rows on, widening the weights once beats Jlama's row-by-row kernel (measured on the
     * full-size model: 40 rows 148 vs 109 tokens/s in favour of Jlama's, 48 rows 145 vs 127 in favour of this one).
     * It no longer chooses the kernel: Jlama's batched kernels get products of 6-9, 11-14, … rows wrong, so this one
     * takes every product of two rows or more ({@code MatrixFormat.Q4}); tests use it for "a prompt long enough".
     */
    public static final int MIN_ROWS = 48;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Widened weights per tile: about a quarter of this machine's 1 MiB L2 per core, whatever the row length. */
    private static final int TILE_FLOATS = 64 * 1024;
    private static final int BLOCK = 32;
    /** A packed byte's two weights before scaling: low nibble − 8, high nibble − 8. */
    private static final float[] LOW_NIBBLE = new float[256];
    private static final float[] HIGH_NIBBLE = new float[256];

    static {
        for (int b = 0; b < 256; b++) {
            LOW_NIBBLE[b] = (b & 0xF) - 8;
            HIGH_NIBBLE[b] = (b >> 4) - 8;
        }
    }

    private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[0]);

    private Q4Gemm() {
    }

    static boolean supports(int in) {
        return in % BLOCK == 0 && in % S.length() == 0;
    }

    static void multiply(float[] x, int n, Q4ByteBufferTensor w, float[] y) {
        MemorySegment quants = w.getMemorySegment();
        MemorySegment scales = w.getBlockF().getMemorySegment();
        tiled(x, n, w.shape().first(), w.shape().last(), (in, row0, rows, tile) -> widen(quants, scales, in, row0, rows, tile), y);
    }

    /** Weight rows {@code row0…row0+rows-1} of a matrix with rows of {@code in} values, as floats, row after row. */
    interface Widening {
        void widen(int in, int row0, int rows, float[] tile);
    }

    /**
     * {@code y[n × out] = x[n × in] · Wᵀ} for any weight format: tiles of weight rows widened to floats once each
     * ({@code widening}), multiplied with all rows of {@code x}.
     */
    static void tiled(float[] x, int n, int out, int in, Widening widening, float[] y) {
        // Many rows per tile: the activations are read once per tile, so fewer, taller tiles read them less often.
        int tileRows = Math.max(4, Math.min(64, TILE_FLOATS / in) & ~3);
        int tiles = (out + tileRows - 1) / tileRows;
        // Not Jlama's VectorMath.pchunk: where the count exceeds its split size and is a multiple of the chunk it
        // computes, its last chunks are never run (the LM head's 2374 tiles lost their last rows).
        KernelThreads.get().run(0, tiles, (first, count) -> {
            float[] tile = TILE.get();
            if (tile.length < tileRows * in) {
                tile = new float[tileRows * in];
                TILE.set(tile);
            }
            for (int t = first; t < first + count; t++) {
                int row0 = t * tileRows;
                int rows = Math.min(tileRows, out - row0);
                widening.widen(in, row0, rows, tile);
                multiplyTile(x, n, in, tile, rows, y, out, row0);
            }
        });
    }

    /** Weight rows {@code row0…row0+rows-1} as floats, row after row. */
    private static void widen(MemorySegment quants, MemorySegment scales, int in, int row0, int rows, float[] tile) {
        int blocksPerRow = in / BLOCK;
        for (int r = 0; r < rows; r++) {
            long block = (long) (row0 + r) * blocksPerRow;
            for (int b = 0; b < blocksPerRow; b++, block++) {
                float scale = scales.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, block);
                long q = block * (BLOCK / 2);
                int o = r * in + b * BLOCK;
                for (int j = 0; j < BLOCK / 2; j++) {
                    int packed = quants.get(ValueLayout.JAVA_BYTE, q + j) & 0xFF;
                    tile[o + j] = LOW_NIBBLE[packed] * scale;
                    tile[o + j + BLOCK / 2] = HIGH_NIBBLE[packed] * scale;
                }
            }
        }
    }

    private static void multiplyTile(float[] x, int n, int in, float[] w, int rows, float[] y, int out, int row0) {
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            int r = 0;
            for (; r + 4 <= rows; r += 4) {
                kernel4x4(x, i * in, in, w, r * in, y, i * out + row0 + r, out);
            }
            for (; r < rows; r++) {
                for (int k = 0; k < 4; k++) {
                    y[(i + k) * out + row0 + r] = dot(x, (i + k) * in, w, r * in, in);
                }
            }
        }
        for (; i < n; i++) {
            for (int r = 0; r < rows; r++) {
                y[i * out + row0 + r] = dot(x, i * in, w, r * in, in);
            }
        }
    }

    /** 4 activation rows × 4 weight rows, 16 accumulators. */
    private static void kernel4x4(float[] x, int x0, int in, float[] w, int w0, float[] y, int y0, int out) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00,
                a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        int w1 = w0 + in, w2 = w1 + in, w3 = w2 + in;
        for (int k = 0; k < in; k += S.length()) {
            FloatVector v0 = FloatVector.fromArray(S, x, x0 + k), v1 = FloatVector.fromArray(S, x, x1 + k),
                    v2 = FloatVector.fromArray(S, x, x2 + k), v3 = FloatVector.fromArray(S, x, x3 + k);
            FloatVector c = FloatVector.fromArray(S, w, w0 + k);
            a00 = v0.fma(c, a00); a10 = v1.fma(c, a10); a20 = v2.fma(c, a20); a30 = v3.fma(c, a30);
            c = FloatVector.fromArray(S, w, w1 + k);
            a01 = v0.fma(c, a01); a11 = v1.fma(c, a11); a21 = v2.fma(c, a21); a31 = v3.fma(c, a31);
            c = FloatVector.fromArray(S, w, w2 + k);
            a02 = v0.fma(c, a02); a12 = v1.fma(c, a12); a22 = v2.fma(c, a22); a32 = v3.fma(c, a32);
            c = FloatVector.fromArray(S, w, w3 + k);
            a03 = v0.fma(c, a03); a13 = v1.fma(c, a13); a23 = v2.fma(c, a23); a33 = v3.fma(c, a33);
        }
        store(y, y0, a00, a01, a02, a03);
        store(y, y0 + out, a10, a11, a12, a13);
        store(y, y0 + 2 * out, a20, a21, a22, a23);
        store(y, y0 + 3 * out, a30, a31, a32, a33);
    }

    private static void store(float[] y, int at, FloatVector c0, FloatVector c1, FloatVector c2, FloatVector c3) {
        y[at] = c0.reduceLanes(VectorOperators.ADD);
        y[at + 1] = c1.reduceLanes(VectorOperators.ADD);
        y[at + 2] = c2.reduceLanes(VectorOperators.ADD);
        y[at + 3] = c3.reduceLanes(VectorOperators.ADD);
    }

    private static float dot(float[] x, int x0, float[] w, int w0, int in) {
        FloatVector acc = FloatVector.zero(S);
        for (int k = 0; k < in; k += S.length()) {
            acc = FloatVector.fromArray(S, x, x0 + k).fma(FloatVector.fromArray(S, w, w0 + k), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
