package dev.allinone.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.allinone.engine.TestModelFiles;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class StreamingDecoderTest {

    private static QwenTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = QwenTokenizer.load(TestModelFiles.qwenTokenizerDir());
    }

    /** One byte-level token per UTF-8 byte: the worst case, every multi-byte character split across tokens. */
    private static int[] byteTokens(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = tokenizer.byteTokenId(bytes[i]);
        }
        return ids;
    }

    @Test
    void chineseAndEmojiSplitOverByteTokensNeverYieldHalfCharacters() {
        String text = "刚拿到offer，超级开心！😄👍🏽 café";
        List<String> pieces = stream(byteTokens(text));
        for (String piece : pieces) {
            assertFalse(piece.contains("\uFFFD"), "piece with U+FFFD: " + piece);
        }
        assertEquals(text, String.join("", pieces));
    }

    @Test
    void realTokenizationStreamsToTheFullDecode() {
        String text = "今天被领导批评了，心情很低落……😞 但明天会更好";
        int[] ids = tokenizer.encode(text);
        List<String> pieces = stream(ids);
        pieces.forEach(p -> assertFalse(p.contains("\uFFFD")));
        assertEquals(tokenizer.decode(ids), String.join("", pieces));
    }

    @Test
    void invalidBytesBecomeReplacementAsInAFullDecode() {
        int[] ids = {tokenizer.byteTokenId((byte) 0xE4), tokenizer.byteTokenId((byte) 'A'), tokenizer.byteTokenId((byte) 0xE4)};
        assertEquals(tokenizer.decode(ids), String.join("", stream(ids)));
    }

    @Test
    void specialTokensAreSkipped() {
        int[] ids = tokenizer.encodeWithSpecialTokens("你好<|im_end|>");
        assertEquals("你好", String.join("", stream(ids)));
    }

    private static List<String> stream(int[] ids) {
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        List<String> pieces = new ArrayList<>();
        for (int id : ids) {
            String piece = decoder.accept(id);
            if (!piece.isEmpty()) {
                pieces.add(piece);
            }
        }
        String rest = decoder.flush();
        if (!rest.isEmpty()) {
            pieces.add(rest);
        }
        return pieces;
    }
}
