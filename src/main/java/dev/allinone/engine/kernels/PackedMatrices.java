package dev.allinone.engine.kernels;

import com.github.tjake.jlama.tensor.AbstractTensor;

import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model's weight matrices in the C kernels' layout and the products with them: every matrix whose format the C
 * kernels multiply ({@link MatrixFormat#packed()}) is mapped from the kernel-layout file when it holds them, else
 * repacked (and the file written for the next start). One thread at a time (the model thread).
 */
public final class PackedMatrices implements AutoCloseable {

    private final NativeKernels kernels;
    private final PackedMemory memory;
    private final NativeProducts products;
    private final Map<AbstractTensor, PackedMatrix> packed = new IdentityHashMap<>();
    /** The kernel layout mapped from its file, or null (repacked into {@link #memory}). */
    private KernelLayoutFile.Mapped mapped;

    /**
     * @param matrices the model's weight matrices by name (the names the kernel-layout file keeps them under)
     * @param layout   where the layout is kept between starts (null: repacked at every start)
     */
    public PackedMatrices(NativeKernels kernels, Map<String, AbstractTensor> matrices, KernelLayoutFile layout) {
        this.kernels = kernels;
        this.memory = new PackedMemory(kernels);
        this.products = new NativeProducts(kernels);
        pack(matrices, layout);
    }

    private void pack(Map<String, AbstractTensor> all, KernelLayoutFile layout) {
        Map<String, AbstractTensor> matrices = new LinkedHashMap<>();
        all.forEach((name, w) -> {
            if (MatrixFormat.of(w).packed()) {
                matrices.put(name, w);
            }
        });
        if (matrices.isEmpty()) {
            return;
        }
        boolean kept = layout != null;
        Map<String, KernelLayoutFile.Shape> shapes = new LinkedHashMap<>();
        matrices.forEach((name, w) -> shapes.put(name, new KernelLayoutFile.Shape(MatrixFormat.of(w), w.shape().first(),
                (int) w.shape().last())));
        mapped = kept ? layout.map(shapes, kernels) : null;
        Map<String, PackedMatrix> stored = mapped != null ? mapped.matrices() : null;
        Map<String, PackedMatrix> byName = new LinkedHashMap<>();
        matrices.forEach((name, w) -> {
            PackedMatrix p = stored != null ? stored.get(name) : MatrixFormat.of(w).pack(w, kernels, memory);
            byName.put(name, p);
            packed.put(w, p);
        });
        if (stored == null && kept) {
            layout.write(byName, kernels);
        }
    }

    /** True when some matrix runs on the C kernels. */
    public boolean any() {
        return !packed.isEmpty();
    }

    /** Whether the products with {@code w} run here. */
    public boolean has(AbstractTensor w) {
        return packed.containsKey(w);
    }

    /**
     * {@code out[n × rows] = x[n × in] · wᵀ} on the C kernels, for a matrix that {@link #has}. {@code input} names
     * the activations: a second product with the same input object reuses their 8-bit form, so {@code x} must not
     * change in between.
     */
    public void multiply(Object input, float[] x, int n, AbstractTensor w, float[] out) {
        products.multiply(input, x, n, packed.get(w), out);
    }

    @Override
    public void close() {
        products.close();
        memory.close();
        if (mapped != null) {
            mapped.close();
        }
    }
}
