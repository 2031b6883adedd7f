package dev.allinone.engine.kernels;

import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;
import com.github.tjake.jlama.tensor.Q8ByteBufferTensor;

import java.lang.foreign.MemorySegment;

/**
 * The weight formats the kernels multiply, one entry each, as llama.cpp's per-type {@code ggml_type_traits} table:
 * which of Jlama's tensors holds a matrix of the format, how it is packed for the C kernels ({@link NativeKernels})
 * and which C kernel multiplies it, and which Java kernels multiply it where the C kernels do not run. The model
 * ({@code QwenJlamaModel}) picks every product path through {@link #of} and this table, never by a tensor's type.
 *
 * <p>Products that no entry's kernels take run on Jlama's own kernels with float activations ({@link #DENSE}).
 *
 * <p><b>Adding a format</b>:
 * <ol>
 * <li>its C kernels in {@code src/main/c/} (packed sizes, repacking, the product against 8-bit activations, in every
 *     variant) and their bindings in {@link NativeKernels};</li>
 * <li>its packed matrix, a record implementing {@link PackedMatrix} as {@link PackedQ4} does (add it to the
 *     {@code permits} list);</li>
 * <li>an entry here, before {@link #DENSE}: its Jlama tensor class, whether it is multiplied with 8-bit activations
 *     and whether with their residual too ({@link #residualActivations}), whether Jlama's kernels multiply it at all,
 *     and its methods — {@link #pack}, {@link #mapped}, {@link #packedBytes}, {@link #gemm}, {@link #javaGemmTakes},
 *     {@link #javaGemm} and {@link #javaRows} (or none);</li>
 * <li>a constant in {@code model.WeightFormat} that names the entry (how the checkpoint's copy in that format is
 *     written).</li>
 * </ol>
 * The kernel-layout file ({@link KernelLayoutFile}) tags each matrix with its entry's name, so it keeps every packed
 * format.
 */
public enum MatrixFormat {

    /**
     * Our Q4: blocks of 32 4-bit values with one float scale each (Jlama's {@link Q4ByteBufferTensor}), repacked into
     * groups of {@link PackedQ4#GROUP} rows for the C kernels; on the Java kernels {@link Q4Gemm} for two rows or more
     * (Jlama's batched kernels get products of 6-9, 11-14, 16-19, … rows wrong: {@code DenseGemm}), Jlama's for one.
     */
    Q4(Q4ByteBufferTensor.class, PackedQ4.GROUP, true, false, true) {
        @Override
        PackedMatrix pack(AbstractTensor w, NativeKernels kernels, PackedMemory memory) {
            return PackedQ4.of((Q4ByteBufferTensor) w, kernels, memory);
        }

        @Override
        long packedBytes(NativeKernels kernels, int rows, int in) {
            return kernels.packedBytes(rows, in);
        }

        @Override
        PackedMatrix mapped(MemorySegment quants, MemorySegment scales, int rows, int in) {
            return new PackedQ4(quants, scales, rows, in);
        }

        @Override
        void gemm(NativeKernels kernels, PackedMatrix w, int group0, int group1, MemorySegment xq, MemorySegment xs,
                MemorySegment xsum8, int n, MemorySegment y, int ldy) {
            kernels.gemm((PackedQ4) w, group0, group1, xq, xs, xsum8, n, y, ldy);
        }

        @Override
        public boolean javaGemmTakes(int n, int in) {
            return n > 1 && Q4Gemm.supports(in);
        }

        @Override
        public void javaGemm(float[] x, int n, AbstractTensor w, float[] y) {
            Q4Gemm.multiply(x, n, (Q4ByteBufferTensor) w, y);
        }
    },

    /**
     * Q8 as llama.cpp's Q8_0: blocks of 32 signed 8-bit values with one float scale each (Jlama's
     * {@link Q8ByteBufferTensor}), repacked into groups of {@link PackedQ4#GROUP} rows for the C kernels (8-bit × 8-bit
     * products, the activations with their {@link #residualActivations residual}). Jlama's kernels do not multiply it:
     * on the Java kernels every product runs in {@link Q8Gemm}.
     */
    Q8(Q8ByteBufferTensor.class, PackedQ4.GROUP, true, true, false) {
        @Override
        PackedMatrix pack(AbstractTensor w, NativeKernels kernels, PackedMemory memory) {
            return PackedQ8.of((Q8ByteBufferTensor) w, kernels, memory);
        }

        @Override
        long packedBytes(NativeKernels kernels, int rows, int in) {
            return kernels.q8PackedBytes(rows, in);
        }

        @Override
        PackedMatrix mapped(MemorySegment quants, MemorySegment scales, int rows, int in) {
            return new PackedQ8(quants, scales, rows, in);
        }

        @Override
        void gemm(NativeKernels kernels, PackedMatrix w, int group0, int group1, MemorySegment xq, MemorySegment xs,
                MemorySegment xsum8, int n, MemorySegment y, int ldy) {
            kernels.gemm((PackedQ8) w, group0, group1, xq, xs, xsum8, n, y, ldy);
        }

        @Override
        public boolean javaGemmTakes(int n, int in) {
            return Q8Gemm.supports(in);
        }

        @Override
        public void javaGemm(float[] x, int n, AbstractTensor w, float[] y) {
            Q8Gemm.multiply(x, n, (Q8ByteBufferTensor) w, y);
        }

        @Override
        public void javaRows(float[] x, AbstractTensor w, int[] ids, float[] out) {
            Q8Gemm.rows(x, (Q8ByteBufferTensor) w, ids, out);
        }
    },

    /**
     * Weights as stored (BF16, F16, F32) and anything else: float activations, no C kernels. Several rows go through
     * {@link DenseGemm} (Jlama's batched kernels get products of 6-9, 11-14, 16-19, … rows wrong, at every shape we
     * tried, Q4 × 8-bit as well as BF16 × float); one row through Jlama's kernel.
     */
    DENSE(AbstractTensor.class, 0, false, false, true) {
        @Override
        public boolean javaGemmTakes(int n, int in) {
            return n > 1 && DenseGemm.supports(in);
        }

        @Override
        public void javaGemm(float[] x, int n, AbstractTensor w, float[] y) {
            DenseGemm.multiply(x, n, w, y);
        }
    };

    /**
     * Activations multiplied with 8-bit activations are rounded per block of this many values (Jlama's 8-bit
     * tensors' block, as llama.cpp's Q8_0).
     */
    public static final int ACTIVATION_BLOCK = Q8ByteBufferTensor.BLOCK_SIZE;

    private final Class<? extends AbstractTensor> tensor;
    /** Rows per group in the packed layout (0: not packed). */
    final int groupRows;
    private final boolean eightBitActivations;
    private final boolean residualActivations;
    /** Whether Jlama's kernels multiply this format (else every Java product runs in {@link #javaGemm}). */
    private final boolean jlamaKernels;

    MatrixFormat(Class<? extends AbstractTensor> tensor, int groupRows, boolean eightBitActivations, boolean residualActivations,
            boolean jlamaKernels) {
        this.tensor = tensor;
        this.groupRows = groupRows;
        this.eightBitActivations = eightBitActivations;
        this.residualActivations = residualActivations;
        this.jlamaKernels = jlamaKernels;
    }

    /** The entry of Jlama's tensor {@code w}: the first whose tensor class it is, else {@link #DENSE}. */
    public static MatrixFormat of(AbstractTensor w) {
        for (MatrixFormat f : values()) {
            if (f.tensor.isInstance(w)) {
                return f;
            }
        }
        return DENSE;
    }

    /** Whether the C kernels multiply this format (its matrices are packed for them at load). */
    public boolean packed() {
        return groupRows > 0;
    }

    /**
     * Whether this format is multiplied with activations rounded to 8 bits per block of 32 (as llama.cpp's Q4_0 × Q8_0
     * and Q8_0 × Q8_0; with {@link #residualActivations} their residual too) where the model's shape allows: on the C
     * kernels, on its Java kernel and, where it has them, on Jlama's few-row integer kernels; else with float
     * activations (and without the C kernels).
     */
    public boolean eightBitActivations() {
        return eightBitActivations;
    }

    /**
     * Whether, of activations rounded to 8 bits ({@link #eightBitActivations}), the rounding's residual (each value
     * minus its 8-bit form, at most half a step) is rounded to 8 bits per block as well and multiplied too, the two
     * products added: the activations then carry about 15 bits, and the weights' own rounding is nearly all of the
     * error. For Q8, the format chosen for closeness to the stored weights: its 8-bit activations alone lost top-1
     * tokens that its weights keep ({@code PeakedQuantizationTest}). Twice the multiply-adds; the weights are still
     * read once.
     */
    public boolean residualActivations() {
        return residualActivations;
    }

    /**
     * Whether Jlama's kernels multiply this format; if not, every product on the Java kernels runs in
     * {@link #javaGemm} (which then takes every row count) and {@link #javaRows}.
     */
    public boolean jlamaKernels() {
        return jlamaKernels;
    }

    /** Bytes of a rows × in matrix's packed values in the C kernels' layout (its scales: one float per row and block). */
    long packedBytes(NativeKernels kernels, int rows, int in) {
        throw new UnsupportedOperationException(this + " has no C kernels");
    }

    /** {@code w} in the C kernels' layout, in {@code memory}. Only for {@link #packed()} formats. */
    PackedMatrix pack(AbstractTensor w, NativeKernels kernels, PackedMemory memory) {
        throw new UnsupportedOperationException(this + " has no C kernels");
    }

    /** A packed matrix over memory mapped from the kernel-layout file. */
    PackedMatrix mapped(MemorySegment quants, MemorySegment scales, int rows, int in) {
        throw new UnsupportedOperationException(this + " has no C kernels");
    }

    /**
     * Rows {@code [group0 × groupRows, group1 × groupRows)} of {@code y[n × ldy] = x · wᵀ} on the C kernels, {@code x}
     * rounded to 8 bits per block of 32 ({@code xq}, scales {@code xs}, block sums {@code xsum8}).
     */
    void gemm(NativeKernels kernels, PackedMatrix w, int group0, int group1, MemorySegment xq, MemorySegment xs, MemorySegment xsum8,
            int n, MemorySegment y, int ldy) {
        throw new UnsupportedOperationException(this + " has no C kernels");
    }

    /** Whether a Java kernel for many rows ({@link #javaGemm(float[], int, AbstractTensor, float[])}) takes this product. */
    public boolean javaGemmTakes(int n, int in) {
        return false;
    }

    /** {@code y[n × rows] = x[n × in] · wᵀ} on the Java kernel for many rows; only where {@link #javaGemmTakes}. */
    public void javaGemm(float[] x, int n, AbstractTensor w, float[] y) {
        throw new UnsupportedOperationException(this + " has no Java kernel for many rows");
    }

    /** {@code out[i] = x · w[ids[i]]} on the Java kernels; only for formats without {@link #jlamaKernels}. */
    public void javaRows(float[] x, AbstractTensor w, int[] ids, float[] out) {
        throw new UnsupportedOperationException(this + " is multiplied by Jlama's kernels");
    }
}
