package dev.allinone.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.allinone.engine.TestModelFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tokenizer's compiled form beside the model gives exactly the parsed tokenizer's ids and texts; a file that
 * is corrupt, truncated or made from another {@code tokenizer.json} is ignored and written anew.
 */
class CompiledTokenizerTest {

    private static final List<String> TEXTS = List.of("刚拿到offer，超级开心！", "<|im_start|>system\nYou are helpful.<|im_end|>\n",
            " leading space and trailing space ", "The quick brown fox jumps over the lazy dog. 1234567890", "café cafe\u0301 😄🎉",
            "こんにちは、世界。안녕하세요 Привет мир", "\t\n\r\n   multiple   spaces\u3000全角", "a".repeat(300));

    private static QwenTokenizer parsed;

    @TempDir
    Path tmp;

    @BeforeAll
    static void parse() {
        parsed = QwenTokenizer.load(TestModelFiles.qwenTokenizerDir());
    }

    private Path compiled() {
        return tmp.resolve(CompiledTokenizer.NAME);
    }

    /** Same ids for every text, same text and special flag for every id. */
    private static void assertSame(QwenTokenizer expected, QwenTokenizer actual) {
        assertEquals(expected.size(), actual.size());
        for (String text : TEXTS) {
            assertArrayEquals(expected.encodeWithSpecialTokens(text), actual.encodeWithSpecialTokens(text), text);
            assertArrayEquals(expected.encode(text), actual.encode(text), text);
        }
        for (int id = 0; id < expected.size(); id++) {
            assertEquals(expected.isValidId(id), actual.isValidId(id), "id " + id);
            if (expected.isValidId(id)) {
                assertEquals(expected.tokenText(id), actual.tokenText(id), "id " + id);
                assertEquals(expected.isSpecial(id), actual.isSpecial(id), "id " + id);
            }
        }
        assertEquals(expected.specialTokens(), actual.specialTokens());
    }

    @Test
    void writtenOnceThenReadWithTheParsedTokenizersIdsAndTexts() throws Exception {
        QwenTokenizer first = QwenTokenizer.load(TestModelFiles.qwenTokenizerDir(), tmp);
        assertTrue(Files.isRegularFile(compiled()), "the first load writes the compiled form");
        assertTrue(Files.getPosixFilePermissions(compiled()).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ),
                "readable by another user (a container's), as the Q4 copy is");
        byte[] written = Files.readAllBytes(compiled());
        FileTime writtenAt = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(compiled(), writtenAt);

        QwenTokenizer read = QwenTokenizer.load(TestModelFiles.qwenTokenizerDir(), tmp);

        assertEquals(writtenAt, Files.getLastModifiedTime(compiled()), "a valid file is read, not rewritten");
        assertArrayEquals(written, Files.readAllBytes(compiled()));
        assertSame(parsed, first);
        assertSame(parsed, read);
    }

    @Test
    void corruptOrTruncatedFilesAreIgnoredAndWrittenAnew() throws Exception {
        QwenTokenizer.load(TestModelFiles.qwenTokenizerDir(), tmp);
        byte[] written = Files.readAllBytes(compiled());
        byte[] flipped = written.clone();
        flipped[written.length / 3] ^= 0x01;
        byte[] badCount = written.clone();
        Arrays.fill(badCount, 24, 28, (byte) 0x7f); // the id count, checksum left wrong too
        for (byte[] bad : List.of(flipped, badCount, Arrays.copyOf(written, written.length / 2), Arrays.copyOf(written, 10), new byte[0],
                "{\"not\":\"compiled\"}".getBytes(StandardCharsets.UTF_8))) {
            Files.write(compiled(), bad);
            assertSame(parsed, QwenTokenizer.load(TestModelFiles.qwenTokenizerDir(), tmp));
            assertArrayEquals(written, Files.readAllBytes(compiled()), bad.length + " bytes: written anew");
        }
    }

    /** The model's tokenizer.json changes (here: its first merge is dropped): the compiled form of the old one is stale. */
    @Test
    void aFileMadeFromAnotherTokenizerJsonIsNotUsed() throws Exception {
        Path model = Files.createDirectories(tmp.resolve("model"));
        Path cache = Files.createDirectories(tmp.resolve("cache"));
        Files.copy(TestModelFiles.qwenTokenizerDir().resolve("tokenizer.json"), model.resolve("tokenizer.json"));
        QwenTokenizer.load(model, cache);
        byte[] before = Files.readAllBytes(cache.resolve(CompiledTokenizer.NAME));

        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(model.resolve("tokenizer.json").toFile());
        ArrayNode merges = (ArrayNode) root.path("model").path("merges");
        merges.remove(0);
        Files.write(model.resolve("tokenizer.json"), json.writeValueAsBytes(root));
        QwenTokenizer changed = QwenTokenizer.load(model);
        assertTrue(TEXTS.stream().anyMatch(t -> !Arrays.equals(parsed.encode(t), changed.encode(t))),
                "the change must show in the ids for this test to mean anything");

        QwenTokenizer loaded = QwenTokenizer.load(model, cache);

        assertNotEquals(Arrays.hashCode(before), Arrays.hashCode(Files.readAllBytes(cache.resolve(CompiledTokenizer.NAME))),
                "written anew for the changed tokenizer.json");
        assertSame(changed, loaded);
        assertSame(changed, QwenTokenizer.load(model, cache));
    }
}
