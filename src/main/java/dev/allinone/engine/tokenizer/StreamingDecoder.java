package dev.allinone.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Turns a stream of token ids into text pieces that never end inside a UTF-8 sequence: bytes of a character
 * split over several tokens are held back until the character is complete. The concatenation of all pieces
 * (plus {@link #flush()}) equals the decode of all ids at once. Special tokens are skipped. Not thread-safe:
 * one instance per stream.
 */
public final class StreamingDecoder {

    private final QwenTokenizer tokenizer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream(16);

    public StreamingDecoder(QwenTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds one token and returns the text that is now complete (possibly empty). */
    public String accept(int id) {
        tokenizer.appendBytes(id, true, pending);
        byte[] bytes = pending.toByteArray();
        int complete = completePrefixLength(bytes);
        if (complete == 0) {
            return "";
        }
        pending.reset();
        pending.write(bytes, complete, bytes.length - complete);
        return new String(bytes, 0, complete, StandardCharsets.UTF_8);
    }

    /** Returns whatever is held back (an unfinished character decodes to U+FFFD, as a full decode would). */
    public String flush() {
        byte[] bytes = pending.toByteArray();
        pending.reset();
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * Length of the longest prefix that does not end in an unfinished (but so far valid) UTF-8 sequence.
     * Invalid bytes are not held back: they can never become valid, so they decode to U+FFFD now.
     */
    static int completePrefixLength(byte[] bytes) {
        int n = bytes.length;
        // A sequence is at most 4 bytes, so only the last 3 bytes can belong to an unfinished one.
        for (int back = 1; back <= Math.min(3, n); back++) {
            int b = bytes[n - back] & 0xFF;
            if ((b & 0xC0) == 0x80) {
                continue; // continuation byte: look further back for the lead byte
            }
            int needed = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 1;
            if (needed > back && b >= 0xC2 && isValidStart(Arrays.copyOfRange(bytes, n - back, n))) {
                return n - back;
            }
            return n;
        }
        return n;
    }

    /** True if the bytes are a valid beginning of a UTF-8 sequence (checks the second byte's range too). */
    private static boolean isValidStart(byte[] seq) {
        int lead = seq[0] & 0xFF;
        if (seq.length < 2) {
            return true;
        }
        int second = seq[1] & 0xFF;
        return switch (lead) {
            case 0xE0 -> second >= 0xA0 && second <= 0xBF;
            case 0xED -> second >= 0x80 && second <= 0x9F;
            case 0xF0 -> second >= 0x90 && second <= 0xBF;
            case 0xF4 -> second >= 0x80 && second <= 0x8F;
            default -> true;
        };
    }
}
