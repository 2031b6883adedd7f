package dev.allinone.engine;

import java.nio.file.Path;

/**
 * What to load and how.
 *
 * @param path          Hugging Face-layout model directory
 * @param weights       in-memory weight format
 * @param threads       threads Jlama's kernels use (0 = one per physical core as Jlama counts them)
 * @param contextLength longest prompt + reply in tokens; caps the checkpoint's max_position_embeddings
 * @param quantizedPath where the Q4 copy of the checkpoint is kept (null: beside the model, named {@code <model>-Q4})
 * @param nativeKernels  run Q4 products on {@link NativeKernels} where this build and CPU have them
 */
public record ModelOptions(Path path, WeightFormat weights, int threads, int contextLength, Path quantizedPath, boolean nativeKernels) {

    public ModelOptions(Path path, WeightFormat weights, int threads, int contextLength) {
        this(path, weights, threads, contextLength, null);
    }

    public ModelOptions(Path path, WeightFormat weights, int threads, int contextLength, Path quantizedPath) {
        this(path, weights, threads, contextLength, quantizedPath, true);
    }

    Path q4Path() {
        if (quantizedPath != null) {
            return quantizedPath;
        }
        Path absolute = path.toAbsolutePath().normalize();
        return absolute.resolveSibling(absolute.getFileName() + "-Q4");
    }
}
