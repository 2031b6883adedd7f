package dev.allinone.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.model.Transformer;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.KvLayout;
import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;
import dev.allinone.tools.CheckpointGenerator;
import dev.allinone.tools.CheckpointSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The C kernels' layout of the Q4 weights is written once beside the Q4 copy and read at later starts instead of
 * repacking; a file that is corrupt, truncated, made from other weights or for another model is ignored and written
 * anew, and the model computes what a repacked one computes, to the bit.
 */
class KernelLayoutFileTest {

    @TempDir
    Path tmp;
    private Path q4;

    @BeforeEach
    void needsTheCKernels() {
        assumeTrue(NativeKernels.select(Kernels.AUTO) != null, "no C kernels on this machine: nothing is repacked");
        q4 = tmp.resolve("small-aligned-Q4");
    }

    private LoadedModel load(Path checkpoint, Path q4Dir) {
        return ModelLoader.load(new ModelOptions(checkpoint, WeightFormat.Q4, 0, 512, q4Dir, Kernels.AUTO), SamplingOverrides.none());
    }

    private Path layoutFile() {
        return q4.resolve(KernelLayoutFile.NAME);
    }

    /** All logits after a short chat prompt (prefilled as one chunk on the many-row kernels, then the LM head). */
    private static float[] logits(LoadedModel model) {
        int[] prompt = model.template().encode(List.of(new ChatTemplate.Message("user", "今天天气不错，我们去公园散步吧。")), true,
                model.tokenizer());
        Transformer transformer = new Transformer(model.jlama());
        KvBlockPool pool = new KvBlockPool(new KvLayout(transformer.layers(), transformer.kvDim(), InferenceEngine.KV_BLOCK_TOKENS), 16L << 20);
        try (SequenceKv kv = new PrefixCache(pool).start(prompt, 0).sequence()) {
            float[] logits = new float[model.jlama().vocabularySize()];
            model.jlama().allLogits(transformer.forward(prompt, 0, kv), logits);
            return logits;
        } finally {
            model.jlama().close();
        }
    }

    /** The logits of the repacked model, leaving a fresh kernel-layout file behind. */
    private float[] repackedAndWritten() throws Exception {
        LoadedModel first = load(TestCheckpoints.smallAligned(), q4);
        assertTrue(first.kernels() != Kernels.JAVA, "the case runs on the C kernels");
        float[] logits = logits(first);
        assertTrue(Files.isRegularFile(layoutFile()), "the first start writes the kernel layout");
        assertTrue(Files.getPosixFilePermissions(layoutFile()).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ),
                "readable by another user (a container's), as the Q4 copy is");
        return logits;
    }

    @Test
    void writtenAtTheFirstStartAndReadUnchangedAtTheNextGivingTheSameBits() throws Exception {
        float[] repacked = repackedAndWritten();
        byte[] written = Files.readAllBytes(layoutFile());
        FileTime writtenAt = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(layoutFile(), writtenAt);

        float[] read = logits(load(TestCheckpoints.smallAligned(), q4));

        assertArrayEquals(repacked, read, "read from the file, the weights are the repacked ones to the bit");
        assertEquals(writtenAt, Files.getLastModifiedTime(layoutFile()), "a valid file is read, not rewritten");
        assertArrayEquals(written, Files.readAllBytes(layoutFile()));
        try (var files = Files.list(q4)) {
            assertFalse(files.anyMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary file is left behind");
        }
    }

    @Test
    void aFileWithAFlippedWeightByteIsIgnoredAndWrittenAnew() throws Exception {
        float[] repacked = repackedAndWritten();
        byte[] written = Files.readAllBytes(layoutFile());
        byte[] corrupt = written.clone();
        corrupt[corrupt.length - 4096 - 7] ^= 0x10; // in the last matrix's data, far from the header
        Files.write(layoutFile(), corrupt);

        float[] afterCorruption = logits(load(TestCheckpoints.smallAligned(), q4));

        assertArrayEquals(repacked, afterCorruption, "the corrupt weights were not used");
        assertArrayEquals(written, Files.readAllBytes(layoutFile()), "the file was written anew, as it was first");
    }

    @Test
    void truncatedEmptyOrForeignFilesNeverFailTheStart() throws Exception {
        float[] repacked = repackedAndWritten();
        byte[] written = Files.readAllBytes(layoutFile());
        List<byte[]> bad = List.of(java.util.Arrays.copyOf(written, written.length / 2), java.util.Arrays.copyOf(written, 30), new byte[0],
                "not a kernel layout at all".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (byte[] contents : bad) {
            Files.write(layoutFile(), contents);
            assertArrayEquals(repacked, logits(load(TestCheckpoints.smallAligned(), q4)), contents.length + " bytes");
            assertArrayEquals(written, Files.readAllBytes(layoutFile()), contents.length + " bytes: written anew");
        }
    }

    /**
     * Another checkpoint of the same shape (other seed): its kernel layout, copied into this model's Q4 directory,
     * has the same matrices and shapes but was made from other weights, so it must not be used.
     */
    @Test
    void aFileMadeFromOtherWeightsOfTheSameShapeIsNotUsed() throws Exception {
        float[] repacked = repackedAndWritten();
        Path other = tmp.resolve("other");
        CheckpointGenerator.write(CheckpointSpec.smallAligned(6), other);
        Path otherQ4 = tmp.resolve("other-Q4");
        float[] otherLogits = logits(load(other, otherQ4));
        assertNotEquals(0, distance(repacked, otherLogits), "the two models must differ for this test to mean anything");
        byte[] mine = Files.readAllBytes(layoutFile());
        Files.copy(otherQ4.resolve(KernelLayoutFile.NAME), layoutFile(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        assertArrayEquals(repacked, logits(load(TestCheckpoints.smallAligned(), q4)));
        assertArrayEquals(mine, Files.readAllBytes(layoutFile()), "written anew for this model's weights");
    }

    @Test
    void theFingerprintIsTheLibrarysLayoutAndTheSameForEveryVariant() {
        long fingerprint = KernelLayoutFile.fingerprint(NativeKernels.select(Kernels.AUTO));
        NativeKernelsTest.variants().forEach(variant -> {
            try {
                assertEquals(fingerprint, KernelLayoutFile.fingerprint(NativeKernels.select(variant)), variant.id());
            } catch (IllegalStateException notOnThisCpu) {
                // a variant this CPU lacks
            }
        });
        assertNotEquals(0, fingerprint);
    }

    @Test
    void theJavaKernelsNeitherReadNorWriteIt() {
        LoadedModel model = ModelLoader.load(new ModelOptions(TestCheckpoints.smallAligned(), WeightFormat.Q4, 0, 512, q4, Kernels.JAVA),
                SamplingOverrides.none());
        try {
            assertEquals(Kernels.JAVA, model.kernels());
            assertFalse(Files.exists(layoutFile()));
        } finally {
            model.jlama().close();
        }
    }

    private static double distance(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d += Math.abs(a[i] - b[i]);
        }
        return d;
    }
}
