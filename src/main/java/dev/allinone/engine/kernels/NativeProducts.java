package dev.allinone.engine.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Matrix products on {@link NativeKernels}: the activations are copied out of the heap and rounded to 8 bits once
 * per input (several weights often share one: Q, K and V; gate and up), and so is the rounding's residual for formats
 * that multiply it too ({@link MatrixFormat#residualActivations}), the weight's 16-row groups are split over
 * the kernel threads, and the result is copied back. Buffers grow with the longest chunk and are kept. One thread
 * at a time (the model thread).
 */
final class NativeProducts implements AutoCloseable {

    private static final int BLOCK = 32;

    private final NativeKernels kernels;
    private Arena arena = Arena.ofShared();
    private long inputCapacity;
    private long outputCapacity;
    private MemorySegment xf, xq, xs, xsum8, y;
    /** Identifies the input whose 8-bit form is in the buffers. */
    private Object quantizedInput;
    /** Identifies the input whose residual's 8-bit form is in the buffers (after its own). */
    private Object residualInput;

    NativeProducts(NativeKernels kernels) {
        this.kernels = kernels;
        allocate();
    }

    /**
     * {@code out[n × rows] = x[n × in] · Wᵀ}. {@code input} names the activations: a second product with the same
     * input object reuses their 8-bit form (and its residual's), so {@code x} must not change in between.
     */
    void multiply(Object input, float[] x, int n, PackedMatrix w, float[] out) {
        int in = w.in();
        int rows = w.rows();
        boolean residual = w.format().residualActivations();
        // With the residual, its 8-bit form is rows n … 2n - 1 of the activations multiplied.
        int multiplied = residual ? 2 * n : n;
        long values = (long) n * in;
        if ((long) multiplied * in > inputCapacity || (long) multiplied * rows > outputCapacity) {
            inputCapacity = Math.max((long) multiplied * in, inputCapacity);
            outputCapacity = Math.max((long) multiplied * rows, outputCapacity);
            allocate();
            quantizedInput = null;
            residualInput = null;
        }
        if (quantizedInput != input) {
            MemorySegment.copy(x, 0, xf, ValueLayout.JAVA_FLOAT, 0, (int) values);
            kernels.quantize(xf, n, in, xq, xs, xsum8);
            quantizedInput = input;
            residualInput = null;
        }
        if (residual && residualInput != input) {
            quantizeResidual(values, n, in);
            residualInput = input;
        }
        MemorySegment result = y;
        KernelThreads.get().run(0, w.groups(), (first, count) -> {
            w.format().gemm(kernels, w, first, first + count, xq, xs, xsum8, multiplied, result, rows);
            // Each thread copies back its own columns: for the LM head that is megabytes per step.
            int group = w.format().groupRows;
            int from = first * group;
            int length = Math.min(rows, (first + count) * group) - from;
            for (int i = 0; i < n; i++) {
                long at = (long) i * rows + from;
                if (residual) {
                    long residualAt = (long) (n + i) * rows + from;
                    for (int c = 0; c < length; c++) {
                        out[(int) at + c] = result.getAtIndex(ValueLayout.JAVA_FLOAT, at + c)
                                + result.getAtIndex(ValueLayout.JAVA_FLOAT, residualAt + c);
                    }
                } else {
                    MemorySegment.copy(result, ValueLayout.JAVA_FLOAT, at * Float.BYTES, out, (int) at, length);
                }
            }
        });
    }

    /**
     * Rows n … 2n - 1 of the 8-bit activations: each value of {@code xf} minus its 8-bit form (rows 0 … n - 1, in
     * float, as {@code QwenJlamaModel.roundTo8BitsWithResidual} computes it), rounded to 8 bits per block in turn.
     */
    private void quantizeResidual(long values, int n, int in) {
        long blocks = values / BLOCK;
        MemorySegment residual = xf.asSlice(values * Float.BYTES);
        kernels.residual(xf, xq, xs, values, residual);
        kernels.quantize(residual, n, in, xq.asSlice(values), xs.asSlice(blocks * Float.BYTES),
                xsum8.asSlice(blocks * Integer.BYTES));
    }

    private void allocate() {
        arena.close();
        arena = Arena.ofShared();
        long in = Math.max(inputCapacity, BLOCK);
        xf = arena.allocate(in * Float.BYTES, 64);
        xq = arena.allocate(in, 64);
        xs = arena.allocate(in / BLOCK * Float.BYTES, 64);
        xsum8 = arena.allocate(in / BLOCK * Integer.BYTES, 64);
        y = arena.allocate(Math.max(outputCapacity, 1) * Float.BYTES, 64);
    }

    @Override
    public void close() {
        arena.close();
    }
}
