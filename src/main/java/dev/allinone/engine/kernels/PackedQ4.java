package dev.allinone.engine.kernels;

import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A Q4 weight matrix repacked for {@link NativeKernels} (layout: {@code src/main/c/kernels.h}), off the Java heap. */
record PackedQ4(MemorySegment quants, MemorySegment scales, int rows, int in) implements PackedMatrix {

    static final int GROUP = 16;

    static PackedQ4 of(Q4ByteBufferTensor w, NativeKernels kernels, PackedMemory memory) {
        int rows = w.shape().first();
        int in = w.shape().last();
        MemorySegment quants = memory.allocate(kernels.packedBytes(rows, in));
        MemorySegment scales = memory.allocate(kernels.packedScales(rows, in) * Float.BYTES);
        MemorySegment source = w.getMemorySegment();
        MemorySegment sourceScales = w.getBlockF().getMemorySegment();
        try (Arena copies = Arena.ofConfined()) {
            kernels.repack(offHeap(source, copies), offHeap(sourceScales, copies), rows, in, quants, scales);
        }
        kernels.release(source);
        kernels.release(sourceScales);
        return new PackedQ4(quants, scales, rows, in);
    }

    /** A native function takes native memory only; weights loaded onto the heap are copied out first. */
    static MemorySegment offHeap(MemorySegment segment, Arena arena) {
        return segment.isNative() ? segment : arena.allocate(segment.byteSize(), 64).copyFrom(segment);
    }

    @Override
    public MatrixFormat format() {
        return MatrixFormat.Q4;
    }
}
