package dev.allinone.engine;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Native memory for the repacked weights, handed out from large chunks aligned to 2 MiB that the kernel is asked to
 * back with huge pages. Every step streams all the weights; with 4 KiB pages that is a TLB miss every page, and
 * huge pages made the Q4 product's reading speed ≈ 20-40 % higher (measured; docs/performance.md).
 */
final class PackedMemory implements AutoCloseable {

    private static final long HUGE_PAGE = 2L << 20;
    private static final long CHUNK = 32L << 20;
    private static final long ALIGNMENT = 64;

    private final Arena arena = Arena.ofShared();
    private final NativeKernels kernels;
    private MemorySegment chunk;
    private long used;

    PackedMemory(NativeKernels kernels) {
        this.kernels = kernels;
    }

    MemorySegment allocate(long bytes) {
        long size = (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        if (chunk == null || used + size > chunk.byteSize()) {
            chunk = arena.allocate(Math.max(CHUNK, (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE), HUGE_PAGE);
            kernels.adviseHugePages(chunk);
            used = 0;
        }
        MemorySegment slice = chunk.asSlice(used, bytes);
        used += size;
        return slice;
    }

    @Override
    public void close() {
        arena.close();
    }
}
