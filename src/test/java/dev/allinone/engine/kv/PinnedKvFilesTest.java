package dev.allinone.engine.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.allinone.engine.GenerationFuture;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.kernels.NativeKernels;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.tokenizer.ChatTemplate;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A pinned prompt's KV is written beside the model when it is computed and restored at the next start, with the
 * answers of a computed one; a file that is corrupt, truncated, or holds numbers this engine does not compute (other
 * arithmetic) is ignored, the prompt computed and the file written anew. On the tiny model (Java kernels) and on
 * the small aligned one (the C kernels, as in production).
 */
class PinnedKvFilesTest {

    enum Model {
        TINY_JAVA_KERNELS, ALIGNED_C_KERNELS;

        Path checkpoint() {
            return this == TINY_JAVA_KERNELS ? TestCheckpoints.tinyRandom() : TestCheckpoints.smallAligned();
        }
    }

    private static final String SYSTEM = "你是一个冷静的情感分析师，只回答正面或负面。You are a calm sentiment analyst; answer positive or negative.";

    @TempDir
    Path tmp;

    private InferenceEngine engine(Model model, Kernels kernels) {
        return engine(model, kernels, KvCacheType.F16);
    }

    private InferenceEngine engine(Model model, Kernels kernels, KvCacheType kvType) {
        if (model == Model.ALIGNED_C_KERNELS && kernels != Kernels.JAVA) {
            assumeTrue(NativeKernels.select(Kernels.AUTO) != null, "no C kernels on this machine");
        }
        LoadedModel loaded = ModelLoader.load(new ModelOptions(model.checkpoint(), WeightFormat.Q4, 0, 1024, tmp.resolve("q4"), kernels),
                SamplingOverrides.none());
        return new InferenceEngine(loaded, new InferenceEngine.Limits(16, 60_000, 16L << 20, 0, 8, kvType));
    }

    private InferenceEngine engine(Model model) {
        return engine(model, Kernels.AUTO);
    }

    private static int[] system(InferenceEngine engine) {
        LoadedModel m = engine.model();
        return m.template().encode(List.of(new ChatTemplate.Message("system", SYSTEM)), false, m.tokenizer());
    }

    private static int[] withUser(InferenceEngine engine, String user) {
        LoadedModel m = engine.model();
        return m.template().encode(List.of(new ChatTemplate.Message("system", SYSTEM), new ChatTemplate.Message("user", user)), true,
                m.tokenizer());
    }

    /** What a start answers after pinning the system prompt: label probabilities and a greedy reply through it. */
    private record Answers(double[] scores, String reply, long restored, boolean exact) {
    }

    private static Answers pinAndAnswer(InferenceEngine engine) throws Exception {
        engine.pinPrefix(system(engine)).get(1, TimeUnit.MINUTES);
        double[] scores = engine.scoreLabels(withUser(engine, "刚拿到offer，超级开心！"), List.of("正面", "负面")).get(1, TimeUnit.MINUTES)
                .probabilities();
        GenerationFuture reply = new GenerationFuture();
        engine.generate(withUser(engine, "今天被领导批评了"), new SamplingParams(0f, 1, 1f, 1f, 12), reply);
        return new Answers(scores, reply.result().get(1, TimeUnit.MINUTES).text(), engine.pinsRestored(),
                engine.model().kernels() != Kernels.JAVA);
    }

    private Answers start(Model model) throws Exception {
        return start(model, KvCacheType.F16);
    }

    private Answers start(Model model, KvCacheType kvType) throws Exception {
        try (InferenceEngine engine = engine(model, Kernels.AUTO, kvType)) {
            return pinAndAnswer(engine);
        }
    }

    private List<Path> files() throws Exception {
        try (Stream<Path> list = Files.list(tmp.resolve("q4"))) {
            return list.filter(f -> f.getFileName().toString().startsWith(PinnedKvFiles.PREFIX)).sorted().toList();
        }
    }

    private Path theFile() throws Exception {
        List<Path> files = files();
        assertEquals(1, files.size(), files.toString());
        return files.getFirst();
    }

    /**
     * Exact on the C kernels; to 1e-6 on the Java kernels, whose vector reductions add in another order before and
     * after the JIT compiles them (two computed starts in one JVM differ as much).
     */
    private static void assertSameAnswers(Answers expected, Answers actual) {
        assertArrayEquals(expected.scores(), actual.scores(), expected.exact() ? 0 : 1e-6, "label probabilities");
        assertEquals(expected.reply(), actual.reply(), "greedy reply");
    }

    @ParameterizedTest
    @EnumSource(Model.class)
    void computedAtTheFirstStartRestoredAtTheNextWithTheSameAnswers(Model model) throws Exception {
        Answers computed = start(model);
        assertEquals(0, computed.restored());
        byte[] written = Files.readAllBytes(theFile());
        assertTrue(Files.getPosixFilePermissions(theFile()).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ),
                "readable by another user (a container's), as the Q4 copy is");

        Answers restored = start(model);

        assertEquals(1, restored.restored(), "the second start restores the pinned prompt");
        assertSameAnswers(computed, restored);
        assertArrayEquals(written, Files.readAllBytes(theFile()), "a file that was used is left as it is");
    }

    @ParameterizedTest
    @EnumSource(Model.class)
    void an8BitCacheIsWrittenAndRestoredWithTheSameAnswers(Model model) throws Exception {
        Answers computed = start(model, KvCacheType.Q8);
        assertEquals(0, computed.restored());
        byte[] written = Files.readAllBytes(theFile());

        Answers restored = start(model, KvCacheType.Q8);

        assertEquals(1, restored.restored(), "the second start restores the pinned prompt");
        assertSameAnswers(computed, restored);
        assertArrayEquals(written, Files.readAllBytes(theFile()), "a file that was used is left as it is");
    }

    /**
     * An F16 file is never read as Q8 nor the other way round: each type has its own file, and an F16 file put in
     * place of the Q8 one (its name, its checksum right) is refused by its header, the prompt computed afresh.
     */
    @Test
    void anF16FileIsNeverReadAsAn8BitOne() throws Exception {
        Answers f16 = start(Model.TINY_JAVA_KERNELS, KvCacheType.F16);
        Path f16File = theFile();
        byte[] f16Bytes = Files.readAllBytes(f16File);
        Answers q8 = start(Model.TINY_JAVA_KERNELS, KvCacheType.Q8);
        assertEquals(0, q8.restored(), "the F16 file is not the Q8 one");
        assertEquals(2, files().size(), "one file per KV type");
        Path q8File = files().stream().filter(f -> !f.equals(f16File)).findFirst().orElseThrow();
        byte[] q8Bytes = Files.readAllBytes(q8File);

        Files.write(q8File, f16Bytes);
        Answers after = start(Model.TINY_JAVA_KERNELS, KvCacheType.Q8);

        assertEquals(0, after.restored(), "an F16 file under the Q8 name is refused");
        assertSameAnswers(q8, after);
        assertArrayEquals(q8Bytes, Files.readAllBytes(q8File), "written anew as Q8");
        assertEquals(1, start(Model.TINY_JAVA_KERNELS, KvCacheType.F16).restored(), "the F16 file still serves F16");
        assertEquals(0, f16.restored());
    }

    @ParameterizedTest
    @EnumSource(Model.class)
    void aFileWithAFlippedByteIsIgnoredAndWrittenAnew(Model model) throws Exception {
        Answers computed = start(model);
        Path file = theFile();
        byte[] written = Files.readAllBytes(file);
        byte[] corrupt = written.clone();
        corrupt[corrupt.length / 2] ^= 0x40;
        Files.write(file, corrupt);

        Answers after = start(model);

        assertEquals(0, after.restored(), "a corrupt file is not restored");
        assertSameAnswers(computed, after);
        assertArrayEquals(written, Files.readAllBytes(theFile()), "written anew");
        assertEquals(1, start(model).restored(), "and restored at the start after");
    }

    @Test
    void truncatedAndForeignFilesNeverFailThePin() throws Exception {
        Answers computed = start(Model.TINY_JAVA_KERNELS);
        Path file = theFile();
        byte[] written = Files.readAllBytes(file);
        for (byte[] bad : List.of(java.util.Arrays.copyOf(written, written.length - 100), new byte[0], "no KV here".getBytes())) {
            Files.write(file, bad);
            Answers after = start(Model.TINY_JAVA_KERNELS);
            assertEquals(0, after.restored(), bad.length + " bytes");
            assertSameAnswers(computed, after);
            assertArrayEquals(written, Files.readAllBytes(theFile()), bad.length + " bytes: written anew");
        }
    }

    /**
     * A file whose header and checksum are right but whose numbers are not what this engine computes (as after a
     * change to its arithmetic): every key and value negated, the checksum fixed up. The recomputed last position
     * gives it away; the prompt is computed and the file written anew.
     */
    @ParameterizedTest
    @EnumSource(Model.class)
    void aFileWithNumbersTheModelDoesNotComputeIsCaughtByTheLastPosition(Model model) throws Exception {
        Answers computed = start(model);
        Path file = theFile();
        byte[] written = Files.readAllBytes(file);
        byte[] other = written.clone();
        long values;
        try (InferenceEngine engine = engine(model)) {
            var config = engine.model().jlama().config();
            values = (long) system(engine).length * config.numberOfLayers * 2 * config.numberOfKeyValueHeads * config.headSize;
        }
        int dataStart = (int) (other.length - Integer.BYTES - values * Short.BYTES);
        for (int i = dataStart + 1; i < other.length - Integer.BYTES; i += 2) {
            other[i] ^= (byte) 0x80; // the sign bit of each little-endian half
        }
        CRC32C crc = new CRC32C();
        crc.update(other, 0, other.length - Integer.BYTES);
        ByteBuffer.wrap(other).order(ByteOrder.LITTLE_ENDIAN).putInt(other.length - Integer.BYTES, (int) crc.getValue());
        Files.write(file, other);

        Answers after = start(model);

        assertEquals(0, after.restored(), "numbers the model does not compute are not kept");
        assertSameAnswers(computed, after);
        assertArrayEquals(written, Files.readAllBytes(theFile()), "written anew");
    }

    /** The C kernels and the Java kernels compute other numbers: each has its own file, neither restores the other's. */
    @Test
    void theJavaKernelsDoNotRestoreWhatTheCKernelsComputed() throws Exception {
        assertEquals(0, start(Model.ALIGNED_C_KERNELS).restored());
        try (InferenceEngine java = engine(Model.ALIGNED_C_KERNELS, Kernels.JAVA)) {
            assertEquals(Kernels.JAVA, java.model().kernels());
            assertEquals(0, pinAndAnswer(java).restored(), "the C kernels' file is not the Java kernels'");
        }
        assertEquals(2, files().size(), "one file per kernels family");
        try (InferenceEngine java = engine(Model.ALIGNED_C_KERNELS, Kernels.JAVA)) {
            assertEquals(1, pinAndAnswer(java).restored(), "the Java kernels restore their own");
        }
    }

    @Test
    void atMostKeepFilesStayTheLeastRecentlyUsedGo() throws Exception {
        try (InferenceEngine engine = engine(Model.TINY_JAVA_KERNELS)) {
            LoadedModel m = engine.model();
            for (int i = 0; i < PinnedKvFiles.KEEP + 3; i++) {
                int[] prompt = m.template().encode(List.of(new ChatTemplate.Message("system", "提示 " + i)), false, m.tokenizer());
                engine.pinPrefix(prompt).get(1, TimeUnit.MINUTES);
                Thread.sleep(20); // distinct modification times
            }
        }
        assertEquals(PinnedKvFiles.KEEP, files().size());
        try (InferenceEngine engine = engine(Model.TINY_JAVA_KERNELS)) {
            LoadedModel m = engine.model();
            int[] newest = m.template().encode(List.of(new ChatTemplate.Message("system", "提示 " + (PinnedKvFiles.KEEP + 2))), false,
                    m.tokenizer());
            int[] oldest = m.template().encode(List.of(new ChatTemplate.Message("system", "提示 0")), false, m.tokenizer());
            engine.pinPrefix(newest).get(1, TimeUnit.MINUTES);
            assertEquals(1, engine.pinsRestored(), "the newest file is kept");
            engine.pinPrefix(oldest).get(1, TimeUnit.MINUTES);
            assertEquals(1, engine.pinsRestored(), "the oldest was dropped");
        }
        assertTrue(files().size() <= PinnedKvFiles.KEEP);
    }
}
