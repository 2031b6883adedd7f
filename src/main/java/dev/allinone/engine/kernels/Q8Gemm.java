package dev.allinone.engine.kernels;

import com.github.tjake.jlama.tensor.Q8ByteBufferTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The Java kernels for Q8 weights (Jlama's {@link Q8ByteBufferTensor}: per row and block of 32, 32 signed bytes and
 * one float scale), where the C kernels do not run. Jlama's own kernels do not multiply Q8 weights at all, so every
 * product with them runs here: tiles of weight rows widened to floats once (byte × block scale) and multiplied with
 * all activation rows ({@link Q4Gemm#tiled}), and single rows of the LM head for scoring ({@link #rows}).
 */
final class Q8Gemm {

    private static final int BLOCK = 32;

    private Q8Gemm() {
    }

    static boolean supports(int in) {
        return Q4Gemm.supports(in);
    }

    static void multiply(float[] x, int n, Q8ByteBufferTensor w, float[] y) {
        MemorySegment quants = w.getMemorySegment();
        MemorySegment scales = w.getBlockF().getMemorySegment();
        Q4Gemm.tiled(x, n, w.shape().first(), w.shape().last(), (in, row0, rows, tile) -> {
            int blocksPerRow = in / BLOCK;
            for (int r = 0; r < rows; r++) {
                long block = (long) (row0 + r) * blocksPerRow;
                for (int b = 0; b < blocksPerRow; b++, block++) {
                    float scale = scales.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, block);
                    long q = block * BLOCK;
                    int o = r * in + b * BLOCK;
                    for (int j = 0; j < BLOCK; j++) {
                        tile[o + j] = quants.get(ValueLayout.JAVA_BYTE, q + j) * scale;
                    }
                }
            }
        }, y);
    }

    /** {@code out[i] = x · W[ids[i]]}: a few rows of {@code w}, in float. */
    static void rows(float[] x, Q8ByteBufferTensor w, int[] ids, float[] out) {
        int in = w.shape().last();
        int blocksPerRow = in / BLOCK;
        MemorySegment quants = w.getMemorySegment();
        MemorySegment scales = w.getBlockF().getMemorySegment();
        for (int i = 0; i < ids.length; i++) {
            float sum = 0;
            long block = (long) ids[i] * blocksPerRow;
            for (int b = 0; b < blocksPerRow; b++, block++) {
                float dot = 0;
                long q = block * BLOCK;
                for (int j = 0; j < BLOCK; j++) {
                    dot += quants.get(ValueLayout.JAVA_BYTE, q + j) * x[b * BLOCK + j];
                }
                sum += dot * scales.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, block);
            }
            out[i] = sum;
        }
    }
}
