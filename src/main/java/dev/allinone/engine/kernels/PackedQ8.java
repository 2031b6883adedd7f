package dev.allinone.engine.kernels;

import com.github.tjake.jlama.tensor.Q8ByteBufferTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A Q8 weight matrix repacked for {@link NativeKernels} (layout: {@code src/main/c/kernels.h}), off the Java heap. */
record PackedQ8(MemorySegment quants, MemorySegment scales, int rows, int in) implements PackedMatrix {

    static PackedQ8 of(Q8ByteBufferTensor w, NativeKernels kernels, PackedMemory memory) {
        int rows = w.shape().first();
        int in = w.shape().last();
        MemorySegment quants = memory.allocate(kernels.q8PackedBytes(rows, in));
        MemorySegment scales = memory.allocate(kernels.packedScales(rows, in) * Float.BYTES);
        MemorySegment source = w.getMemorySegment();
        MemorySegment sourceScales = w.getBlockF().getMemorySegment();
        try (Arena copies = Arena.ofConfined()) {
            kernels.q8Repack(PackedQ4.offHeap(source, copies), PackedQ4.offHeap(sourceScales, copies), rows, in, quants, scales);
        }
        kernels.release(source);
        kernels.release(sourceScales);
        return new PackedQ8(quants, scales, rows, in);
    }

    @Override
    public MatrixFormat format() {
        return MatrixFormat.Q8;
    }
}
