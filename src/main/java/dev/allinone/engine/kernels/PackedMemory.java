package dev.allinone.engine.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Native memory for the repacked weights, handed out from large chunks aligned to 2 MiB that the kernel is asked to
 * back with huge pages. Every step streams all the weights; with 4 KiB pages that is a TLB miss every page, and
 * huge pages made the Q4 product's reading speed ≈ 20-40 % higher (measured; docs/performance.md).
 *
 * <p>The chunks come straight from {@code mmap(2)}, untouched, and are advised before anything is written to them, so
 * the first write faults in huge pages. {@link Arena#allocate} would zero them first, faulting in every 4 KiB page
 * only for the huge ones to replace them: on a virtual machine where a page fault is expensive that cost more than
 * a second for the full-size model's 290 MB (docs/fast-start.md).
 */
final class PackedMemory implements AutoCloseable {

    private static final long HUGE_PAGE = 2L << 20;
    private static final long CHUNK = 32L << 20;
    private static final long ALIGNMENT = 64;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    /** MAP_PRIVATE | MAP_ANONYMOUS, the same on x86-64 and ARM64 Linux (the only systems with the C kernels). */
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("mmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle MUNMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("munmap").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

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
            chunk = map(Math.max(CHUNK, (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE));
            kernels.adviseHugePages(chunk);
            used = 0;
        }
        MemorySegment slice = chunk.asSlice(used, bytes);
        used += size;
        return slice;
    }

    /** {@code size} bytes (a multiple of 2 MiB) of fresh anonymous memory at a 2 MiB boundary, unmapped with the arena. */
    private MemorySegment map(long size) {
        MemorySegment raw;
        try {
            raw = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, size + HUGE_PAGE, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
        if (raw.address() == -1L) {
            throw new OutOfMemoryError("mmap of " + (size >> 20) + " MiB for the repacked weights failed");
        }
        long start = raw.address();
        long aligned = (start + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        long length = size + HUGE_PAGE;
        return MemorySegment.ofAddress(aligned).reinterpret(size, arena, ignored -> unmap(start, length));
    }

    private static void unmap(long address, long length) {
        try {
            int ignored = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address), length);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
