package dev.allinone.engine.kernels;

import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.BFloat16BufferTensor;
import com.github.tjake.jlama.tensor.Float16BufferTensor;
import com.github.tjake.jlama.tensor.FloatBufferTensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The Java kernel for several rows against weights as stored (BF16, F16, F32): tiles of weight rows widened to
 * floats once and multiplied with all activation rows ({@link Q4Gemm#tiled}), so a row's numbers do not depend on
 * how many rows came with it. It replaces Jlama's batched float kernel, which gets some products wrong outright
 * (a 1024 × 512 BF16 matrix against 6-9, 11-14, 16-19, … rows: errors of 20-30 on values of order 10;
 * {@code DenseGemmTest}).
 */
final class DenseGemm {

    private DenseGemm() {
    }

    static boolean supports(int in) {
        return Q4Gemm.supports(in);
    }

    static void multiply(float[] x, int n, AbstractTensor w, float[] y) {
        int out = w.shape().first();
        int in = w.shape().last();
        MemorySegment values = w.getMemorySegment();
        Q4Gemm.Widening widening = switch (w) {
            case BFloat16BufferTensor bf16 -> (length, row0, rows, tile) -> {
                long base = (long) row0 * length;
                for (int i = 0; i < rows * length; i++) {
                    tile[i] = Float.intBitsToFloat(values.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, base + i) << 16);
                }
            };
            case Float16BufferTensor f16 -> (length, row0, rows, tile) -> {
                long base = (long) row0 * length;
                for (int i = 0; i < rows * length; i++) {
                    tile[i] = Float.float16ToFloat(values.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, base + i));
                }
            };
            case FloatBufferTensor f32 -> (length, row0, rows, tile) ->
                    MemorySegment.copy(values, ValueLayout.JAVA_FLOAT_UNALIGNED, (long) row0 * length * Float.BYTES, tile, 0, rows * length);
            default -> throw new IllegalArgumentException("No dense kernel for " + w.getClass().getSimpleName());
        };
        long elements = (long) out * in;
        if (values.byteSize() < elements * w.dType().size()) {
            throw new IllegalArgumentException("A " + out + " × " + in + " matrix over " + values.byteSize() + " bytes");
        }
        Q4Gemm.tiled(x, n, out, in, widening, y);
    }
}
