package dev.allinone.engine.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.EnumMap;
import java.util.Map;

import org.jboss.logging.Logger;

/**
 * One variant of the engine's C kernels ({@code src/main/c}: {@code kernels_x86.c}, {@code kernels_arm64.c}), from
 * the library of this machine's architecture that the build put into the jar ({@code native/build-kernels.sh}).
 * Which variant runs is chosen once per process by {@link Kernels}; without a library or a variant this CPU runs,
 * {@link Kernels#AUTO} gives the Java kernels and says why once. Why C at all: {@code docs/decisions.md}.
 */
public final class NativeKernels {

    private static final Logger LOG = Logger.getLogger(NativeKernels.class);
    /** madvise(2): the pages of a file mapping no longer needed by this process. */
    private static final int MADV_DONTNEED = 4;
    private static final int MADV_HUGEPAGE = 14;

    /** This machine's architecture as the libraries are named, null when it has none. */
    static final String ARCH = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> "x86_64";
        case "aarch64", "arm64" -> "aarch64";
        default -> null;
    };
    /** This architecture's library, loaded once; null when this build or OS has none. */
    private static SymbolLookup library;
    private static String libraryProblem;
    private static final Map<Kernels, NativeKernels> LOADED = new EnumMap<>(Kernels.class);

    private final Kernels variant;

    private final MethodHandle packedBytes;
    private final MethodHandle packedScales;
    private final MethodHandle repack;
    private final MethodHandle quantize;
    private final MethodHandle residual;
    private final MethodHandle gemm;
    private final MethodHandle q8PackedBytes;
    private final MethodHandle q8Repack;
    private final MethodHandle q8Gemm;
    private final MethodHandle madvise;
    private final MethodHandle attendBlock;
    private final MethodHandle attendBlockQ8;
    private final MethodHandle attendsHeadSize;
    private final MethodHandle swiGlu;

    private NativeKernels(SymbolLookup lib, Kernels variant) {
        this.variant = variant;
        String v = "_" + variant.suffix;
        Linker linker = Linker.nativeLinker();
        ValueLayout.OfInt i32 = ValueLayout.JAVA_INT;
        ValueLayout.OfLong i64 = ValueLayout.JAVA_LONG;
        var ptr = ValueLayout.ADDRESS;
        packedBytes = linker.downcallHandle(lib.find("aio_q4_packed_bytes").orElseThrow(), FunctionDescriptor.of(i64, i32, i32));
        packedScales = linker.downcallHandle(lib.find("aio_q4_packed_scales").orElseThrow(), FunctionDescriptor.of(i64, i32, i32));
        repack = linker.downcallHandle(lib.find("aio_q4_repack").orElseThrow(),
                FunctionDescriptor.ofVoid(ptr, ptr, i32, i32, ptr, ptr));
        quantize = linker.downcallHandle(lib.find("aio_q8_quantize" + v).orElseThrow(),
                FunctionDescriptor.ofVoid(ptr, i32, i32, ptr, ptr, ptr));
        residual = linker.downcallHandle(lib.find("aio_residual").orElseThrow(), FunctionDescriptor.ofVoid(ptr, ptr, ptr, i64, ptr));
        gemm = linker.downcallHandle(lib.find("aio_q4_gemm" + v).orElseThrow(),
                FunctionDescriptor.ofVoid(ptr, ptr, i32, i32, i32, i32, ptr, ptr, ptr, i32, ptr, i32));
        q8PackedBytes = linker.downcallHandle(lib.find("aio_q8_packed_bytes").orElseThrow(), FunctionDescriptor.of(i64, i32, i32));
        q8Repack = linker.downcallHandle(lib.find("aio_q8_repack").orElseThrow(), FunctionDescriptor.ofVoid(ptr, ptr, i32, i32, ptr, ptr));
        q8Gemm = linker.downcallHandle(lib.find("aio_q8_gemm" + v).orElseThrow(),
                FunctionDescriptor.ofVoid(ptr, ptr, i32, i32, i32, i32, ptr, ptr, ptr, i32, ptr, i32));
        madvise = linker.downcallHandle(linker.defaultLookup().find("madvise").orElseThrow(),
                FunctionDescriptor.of(i32, ptr, i64, i32));
        // Critical: short calls on the heap arrays of the KV blocks and the attention state, without copies.
        attendBlock = linker.downcallHandle(lib.find("aio_attend_block" + v).orElseThrow(),
                FunctionDescriptor.of(i32, ptr, i32, i32, i32, ptr, i32, i32, i32, i32, i32, i32, i32, i32, i32,
                        ValueLayout.JAVA_FLOAT, ptr, ptr, ptr), Linker.Option.critical(true));
        attendBlockQ8 = linker.downcallHandle(lib.find("aio_attend_block_q8" + v).orElseThrow(),
                FunctionDescriptor.of(i32, ptr, i32, i32, i32, ptr, ptr, i32, i32, i32, i32, i32, i32, i32, i32, i32,
                        ValueLayout.JAVA_FLOAT, ptr, ptr, ptr), Linker.Option.critical(true));
        attendsHeadSize = linker.downcallHandle(lib.find("aio_attends_head_size").orElseThrow(), FunctionDescriptor.of(i32, i32));
        swiGlu = linker.downcallHandle(lib.find("aio_swiglu" + v).orElseThrow(), FunctionDescriptor.ofVoid(ptr, ptr, i32, i32),
                Linker.Option.critical(true));
    }

    /**
     * The kernels {@code choice} asks for: {@link Kernels#AUTO} the fastest variant this build carries for this CPU
     * or null (the Java kernels), {@link Kernels#JAVA} null, a named variant that one.
     *
     * @throws IllegalStateException a named variant this build or this CPU cannot run, saying why
     */
    public static synchronized NativeKernels select(Kernels choice) {
        if (choice == Kernels.JAVA) {
            return null;
        }
        if (choice == Kernels.AUTO) {
            SymbolLookup lib = library();
            if (lib == null) {
                LOG.infof("%s: the engine uses its Java kernels", libraryProblem);
                return null;
            }
            for (Kernels variant : Kernels.preferenceOrder(ARCH)) {
                if (supported(lib, variant)) {
                    return load(lib, variant);
                }
            }
            LOG.infof("This CPU runs none of the native kernels for %s (%s): the engine uses its Java kernels", ARCH,
                    Kernels.preferenceOrder(ARCH).stream().map(Kernels::id).toList());
            return null;
        }
        if (!choice.arch.equals(ARCH)) {
            throw new IllegalStateException("allinone.engine.kernels=" + choice.id() + " needs an " + choice.arch + " CPU; this one is "
                    + System.getProperty("os.arch") + " (auto chooses what it runs)");
        }
        SymbolLookup lib = library();
        if (lib == null) {
            throw new IllegalStateException("allinone.engine.kernels=" + choice.id() + ": " + libraryProblem);
        }
        if (!supported(lib, choice)) {
            throw new IllegalStateException("allinone.engine.kernels=" + choice.id() + ": this CPU lacks its instructions (auto chooses what it runs)");
        }
        return load(lib, choice);
    }

    private static NativeKernels load(SymbolLookup lib, Kernels variant) {
        return LOADED.computeIfAbsent(variant, v -> new NativeKernels(lib, v));
    }

    private static boolean supported(SymbolLookup lib, Kernels variant) {
        try {
            MethodHandle supported = Linker.nativeLinker().downcallHandle(lib.find("aio_supported_" + variant.suffix).orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT));
            return (int) supported.invokeExact() != 0;
        } catch (Throwable e) {
            throw new IllegalStateException("The native kernels' library has no " + variant.id() + " variant", e);
        }
    }

    private static SymbolLookup library() {
        if (library != null || libraryProblem != null) {
            return library;
        }
        String os = System.getProperty("os.name");
        if (!os.startsWith("Linux") || ARCH == null) {
            libraryProblem = "No native kernels for " + os + "/" + System.getProperty("os.arch");
            return null;
        }
        String resource = "/native/linux-" + ARCH + "/libq4kernels.so";
        URL url = NativeKernels.class.getResource(resource);
        if (url == null) {
            libraryProblem = "This build has no native kernels for " + ARCH + " (no C compiler for it when it was built)";
            return null;
        }
        try {
            library = SymbolLookup.libraryLookup(libraryFile(url), Arena.global());
        } catch (IOException | URISyntaxException | RuntimeException e) {
            libraryProblem = "The native kernels could not be loaded (" + e + ")";
            LOG.warn(libraryProblem, e);
        }
        return library;
    }

    /** The variant these kernels are. */
    public Kernels variant() {
        return variant;
    }

    private static Path libraryFile(URL url) throws IOException, URISyntaxException {
        if (url.getProtocol().equals("file")) {
            return Path.of(url.toURI());
        }
        Path file = Files.createTempFile("allinone-q4kernels", ".so");
        file.toFile().deleteOnExit();
        try (InputStream in = url.openStream()) {
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        return file;
    }

    long packedBytes(int rows, int in) {
        try {
            return (long) packedBytes.invokeExact(rows, in);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    long packedScales(int rows, int in) {
        try {
            return (long) packedScales.invokeExact(rows, in);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    void repack(MemorySegment quants, MemorySegment scales, int rows, int in, MemorySegment out, MemorySegment outScales) {
        try {
            repack.invokeExact(quants, scales, rows, in, out, outScales);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    void quantize(MemorySegment x, int n, int in, MemorySegment xq, MemorySegment xs, MemorySegment xsum8) {
        try {
            quantize.invokeExact(x, n, in, xq, xs, xsum8);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code r[i] = x[i] - xq[i] · xs[i / 32]} for {@code values} values: the activations minus their 8-bit form. */
    void residual(MemorySegment x, MemorySegment xq, MemorySegment xs, long values, MemorySegment r) {
        try {
            residual.invokeExact(x, xq, xs, values, r);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    void gemm(PackedQ4 w, int group0, int group1, MemorySegment xq, MemorySegment xs, MemorySegment xsum8, int n, MemorySegment y, int ldy) {
        try {
            gemm.invokeExact(w.quants(), w.scales(), w.in(), w.rows(), group0, group1, xq, xs, xsum8, n, y, ldy);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Bytes of a rows × in Q8 matrix's packed values (its scales: {@link #packedScales}, as Q4's). */
    long q8PackedBytes(int rows, int in) {
        try {
            return (long) q8PackedBytes.invokeExact(rows, in);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Jlama's Q8 layout (32 signed bytes and a float scale per row and block) into the kernels' groups of 16 rows. */
    void q8Repack(MemorySegment quants, MemorySegment scales, int rows, int in, MemorySegment out, MemorySegment outScales) {
        try {
            q8Repack.invokeExact(quants, scales, rows, in, out, outScales);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    void gemm(PackedQ8 w, int group0, int group1, MemorySegment xq, MemorySegment xs, MemorySegment xsum8, int n, MemorySegment y, int ldy) {
        try {
            q8Gemm.invokeExact(w.quants(), w.scales(), w.in(), w.rows(), group0, group1, xq, xs, xsum8, n, y, ldy);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** Whether {@link #attendBlock} handles heads of this size. */
    boolean attends(int headSize) {
        try {
            return (int) attendsHeadSize.invokeExact(headSize) != 0;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * One online-softmax step over one KV block for {@code n} queries (rows of {@code q} from {@code qOffset},
     * {@code qStride} apart) of heads {@code head0 … head0+heads-1}; state {@code max}, {@code sum}, {@code acc} per
     * query and head (see {@code kernels_attention.h}).
     */
    void attendBlock(float[] q, int qOffset, int qStride, int n, int pos0, short[] block, int keyBase, int valueBase, int kvDim,
            int head0, int heads, int groupSize, int blockStart, int count, int headSize, float scale, float[] max, float[] sum,
            float[] acc) {
        int result;
        try {
            result = (int) attendBlock.invokeExact(MemorySegment.ofArray(q).asSlice((long) qOffset * Float.BYTES), qStride, n, pos0,
                    MemorySegment.ofArray(block), keyBase, valueBase, kvDim, head0, heads, groupSize, blockStart, count, headSize,
                    scale, MemorySegment.ofArray(max), MemorySegment.ofArray(sum), MemorySegment.ofArray(acc));
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
        if (result != 0) {
            throw new IllegalArgumentException("KV block of " + count + " tokens × head size " + headSize + " is too large for the kernel");
        }
    }

    /**
     * {@link #attendBlock} over an 8-bit block ({@link dev.allinone.engine.kv.KvCacheType#Q8}): entries in
     * {@code quants}, the row at entry offset {@code o} scaled by the half {@code scales[o / headSize]}.
     */
    void attendBlockQ8(float[] q, int qOffset, int qStride, int n, int pos0, byte[] quants, short[] scales, int keyBase, int valueBase,
            int kvDim, int head0, int heads, int groupSize, int blockStart, int count, int headSize, float scale, float[] max,
            float[] sum, float[] acc) {
        int result;
        try {
            result = (int) attendBlockQ8.invokeExact(MemorySegment.ofArray(q).asSlice((long) qOffset * Float.BYTES), qStride, n, pos0,
                    MemorySegment.ofArray(quants), MemorySegment.ofArray(scales), keyBase, valueBase, kvDim, head0, heads, groupSize,
                    blockStart, count, headSize, scale, MemorySegment.ofArray(max), MemorySegment.ofArray(sum),
                    MemorySegment.ofArray(acc));
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
        if (result != 0) {
            throw new IllegalArgumentException("KV block of " + count + " tokens × head size " + headSize + " is too large for the kernel");
        }
    }

    /** {@code gate[i] = silu(gate[i]) · up[i]} for {@code i} in {@code [from, from + count)}. */
    public void swiGlu(float[] gate, float[] up, int from, int count) {
        try {
            swiGlu.invokeExact(MemorySegment.ofArray(gate), MemorySegment.ofArray(up), from, count);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** True if {@code [start, end)} lies in one mapping of a file ({@code /proc/self/maps}: a non-zero inode). */
    private static boolean inFileMapping(long start, long end) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                String[] f = line.trim().split("\\s+");
                String[] range = f[0].split("-");
                if (Long.parseUnsignedLong(range[0], 16) <= start && end <= Long.parseUnsignedLong(range[1], 16)) {
                    return f.length >= 6 && !f[4].equals("0");
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debugf("Cannot read /proc/self/maps: %s", e.toString());
        }
        return false;
    }

    /**
     * Drops this process's pages of a memory-mapped range (the file stays in the page cache): Jlama's mapping of
     * weights that were repacked is never read again, and its pages would otherwise count in the resident size.
     */
    void release(MemorySegment mapped) {
        if (!mapped.isNative()) {
            return;
        }
        long page = 4096;
        long start = (mapped.address() + page - 1) / page * page;
        long end = (mapped.address() + mapped.byteSize()) / page * page;
        if (end <= start || !inFileMapping(start, end)) {
            return; // on anonymous memory madvise would discard the data itself
        }
        try {
            int ignored = (int) madvise.invokeExact(MemorySegment.ofAddress(start), end - start, MADV_DONTNEED);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Asks for huge pages behind a fresh anonymous range that holds nothing yet (a hint: the kernel may decline).
     * Pages already faulted in as small ones are dropped first (the range reads as zeros again), so that the writes
     * that follow fault in huge ones.
     */
    void adviseHugePages(MemorySegment unused) {
        try {
            int ignored = (int) madvise.invokeExact(unused, unused.byteSize(), MADV_DONTNEED);
            ignored = (int) madvise.invokeExact(unused, unused.byteSize(), MADV_HUGEPAGE);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }
}
