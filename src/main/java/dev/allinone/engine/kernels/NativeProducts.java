package dev.allinone.engine.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Matrix products on {@link NativeKernels}: the activations are copied out of the heap and rounded to 8 bits once
 * per input (several weights often share one: Q, K and V; gate and up), the weight's 16-row groups are split over
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

    NativeProducts(NativeKernels kernels) {
        this.kernels = kernels;
        allocate();
    }

    /**
     * {@code out[n × rows] = x[n × in] · Wᵀ}. {@code input} names the activations: a second product with the same
     * input object reuses their 8-bit form, so {@code x} must not change in between.
     */
    void multiply(Object input, float[] x, int n, PackedMatrix w, float[] out) {
        int in = w.in();
        int rows = w.rows();
        long values = (long) n * in;
        if (values > inputCapacity || (long) n * rows > outputCapacity) {
            inputCapacity = Math.max(values, inputCapacity);
            outputCapacity = Math.max((long) n * rows, outputCapacity);
            allocate();
            quantizedInput = null;
        }
        if (quantizedInput != input) {
            MemorySegment.copy(x, 0, xf, ValueLayout.JAVA_FLOAT, 0, (int) values);
            kernels.quantize(xf, n, in, xq, xs, xsum8);
            quantizedInput = input;
        }
        MemorySegment result = y;
        KernelThreads.get().run(0, w.groups(), (first, count) -> {
            w.format().gemm(kernels, w, first, first + count, xq, xs, xsum8, n, result, rows);
            // Each thread copies back its own columns: for the LM head that is megabytes per step.
            int group = w.format().groupRows;
            int from = first * group;
            int length = Math.min(rows, (first + count) * group) - from;
            for (int i = 0; i < n; i++) {
                long at = (long) i * rows + from;
                MemorySegment.copy(result, ValueLayout.JAVA_FLOAT, at * Float.BYTES, out, (int) at, length);
            }
        });
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
