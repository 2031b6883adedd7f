package dev.allinone.engine.model;

import dev.allinone.engine.kernels.Kernels;
import java.nio.file.Path;

/**
 * What to load and how.
 *
 * @param path          Hugging Face-layout model directory
 * @param weights       in-memory weight format
 * @param threads       threads Jlama's kernels use (0 = one per physical core as Jlama counts them)
 * @param contextLength longest prompt + reply in tokens; caps the checkpoint's max_position_embeddings
 * @param quantizedPath where the quantized copy of the checkpoint is kept (null: beside the model, named
 *                      {@code <model>-Q4} or {@code <model>-Q8} after the format)
 * @param kernels       which kernels run the Q4 products, attention and SwiGLU ({@link Kernels})
 */
public record ModelOptions(Path path, WeightFormat weights, int threads, int contextLength, Path quantizedPath, Kernels kernels) {

    public ModelOptions(Path path, WeightFormat weights, int threads, int contextLength) {
        this(path, weights, threads, contextLength, null);
    }

    public ModelOptions(Path path, WeightFormat weights, int threads, int contextLength, Path quantizedPath) {
        this(path, weights, threads, contextLength, quantizedPath, Kernels.AUTO);
    }

    /** Where the copy in {@link #weights}' format is kept (for a quantized format). */
    public Path copyPath() {
        if (quantizedPath != null) {
            return quantizedPath;
        }
        Path absolute = path.toAbsolutePath().normalize();
        return absolute.resolveSibling(absolute.getFileName() + "-" + weights.name());
    }
}
