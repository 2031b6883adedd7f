package dev.allinone.engine;

import java.nio.file.Path;

/**
 * What to load and how.
 *
 * @param path          Hugging Face-layout model directory
 * @param weights       in-memory weight format
 * @param threads       threads Jlama's kernels use (0 = one per physical core as Jlama counts them)
 * @param contextLength longest prompt + reply in tokens; caps the checkpoint's max_position_embeddings
 */
public record ModelOptions(Path path, WeightFormat weights, int threads, int contextLength) {
}
