package dev.allinone.engine.tokenizer;

import dev.allinone.engine.files.DerivedFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

import org.jboss.logging.Logger;

/**
 * {@link QwenTokenizer}'s tables as they are in memory, kept in a file beside the model: at a start, reading them
 * takes milliseconds, where parsing {@code tokenizer.json} (4.7 MB, 151,387 merges) and building the tables took
 * 0.5 s with a warm JIT and 1.7 s in a fresh JVM (docs/fast-start.md).
 *
 * <p>The file is used only if its magic and format match, its CRC-32C is right, it was made from a
 * {@code tokenizer.json} of the same length and CRC-32C as the model's, and its tables are consistent; else it is
 * ignored with a log line, the JSON parsed and the file written anew (to a temporary file renamed into place).
 *
 * <p>Layout (little-endian): magic, format, the JSON's length and CRC-32C, the id count, the 256 byte ids, each id's
 * text offset and length, the texts (UTF-8), the special-id bit set, the merge table (capacity, keys, values), the
 * added tokens (id, UTF-8 content), then a CRC-32C of all before it.
 */
final class CompiledTokenizer {

    static final String NAME = "allinone-tokenizer.bin";
    private static final Logger LOG = Logger.getLogger(CompiledTokenizer.class);
    private static final long MAGIC = 0x4e45_4b4f_5449_4141L; // "AAITOKEN" little-endian
    private static final int FORMAT = 1;

    private final Path file;
    private final long sourceLength;
    private final int sourceChecksum;

    /** @param json the model's {@code tokenizer.json}, as read */
    CompiledTokenizer(Path dir, byte[] json) {
        this.file = dir.resolve(NAME);
        this.sourceLength = json.length;
        CRC32C crc = new CRC32C();
        crc.update(json);
        this.sourceChecksum = (int) crc.getValue();
    }

    /** The tokenizer from the file, or null (absent, stale or corrupt: logged) — never throws for a bad file. */
    QwenTokenizer read() {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            byte[] bytes = Files.readAllBytes(file);
            if (bytes.length < Long.BYTES + 3 * Integer.BYTES + Long.BYTES) {
                return ignored("it is truncated");
            }
            ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            CRC32C crc = new CRC32C();
            crc.update(bytes, 0, bytes.length - Integer.BYTES);
            if (in.getLong() != MAGIC) {
                return ignored("it is not a compiled tokenizer");
            }
            if ((int) crc.getValue() != in.getInt(bytes.length - Integer.BYTES)) {
                return ignored("its bytes do not match their checksum");
            }
            int format = in.getInt();
            if (format != FORMAT) {
                return ignored("it has format " + format + ", this version writes " + FORMAT);
            }
            if (in.getLong() != sourceLength || in.getInt() != sourceChecksum) {
                return ignored("it was made from another tokenizer.json");
            }
            int size = count(in, 2 * Integer.BYTES);
            int[] byteIds = ints(in, 256);
            int[] start = ints(in, size);
            int[] length = ints(in, size);
            byte[] texts = new byte[count(in, 1)];
            in.get(texts);
            BitSet special = BitSet.valueOf(longs(in, count(in, Long.BYTES)));
            int capacity = count(in, 2 * Long.BYTES);
            long[] keys = longs(in, capacity);
            long[] values = longs(in, capacity);
            int added = count(in, 2 * Integer.BYTES);
            Map<String, Integer> specialTokens = new LinkedHashMap<>();
            for (int i = 0; i < added; i++) {
                int id = in.getInt();
                byte[] content = new byte[count(in, 1)];
                in.get(content);
                specialTokens.put(new String(content, StandardCharsets.UTF_8), id);
            }
            if (in.remaining() != Integer.BYTES) {
                return ignored("its length does not match its tables");
            }
            for (int id = 0; id < size; id++) {
                if (length[id] >= 0 && (start[id] < 0 || start[id] + length[id] > texts.length)) {
                    return ignored("token " + id + " lies outside its texts");
                }
            }
            for (int id : byteIds) {
                if (id < 0 || id >= size || length[id] < 0) {
                    return ignored("its byte ids name unknown tokens");
                }
            }
            return new QwenTokenizer(texts, start, length, keys, values, specialTokens, special, byteIds);
        } catch (IOException | RuntimeException e) {
            return ignored("it could not be read: " + e);
        }
    }

    private QwenTokenizer ignored(String why) {
        LOG.warnf("Compiled tokenizer %s ignored: %s. Parsing tokenizer.json and writing it anew", file, why);
        return null;
    }

    /** A count read from the file, checked against what is left of it (a bad one must not allocate gigabytes). */
    private static int count(ByteBuffer in, int bytesEach) {
        int count = in.getInt();
        if (count < 0 || (long) count * bytesEach > in.remaining()) {
            throw new IllegalArgumentException("a count of " + count + " does not fit in the file");
        }
        return count;
    }

    private static int[] ints(ByteBuffer in, int count) {
        int[] out = new int[count];
        in.asIntBuffer().get(out);
        in.position(in.position() + count * Integer.BYTES);
        return out;
    }

    private static long[] longs(ByteBuffer in, int count) {
        long[] out = new long[count];
        in.asLongBuffer().get(out);
        in.position(in.position() + count * Long.BYTES);
        return out;
    }

    /** Writes the file for {@code tokenizer}; a failure is logged, not thrown (the next start parses the JSON again). */
    void write(QwenTokenizer tokenizer) {
        QwenTokenizer.Tables t = tokenizer.tables();
        Path tmp = null;
        try {
            long[] special = t.special().toLongArray();
            Map<byte[], Integer> added = new LinkedHashMap<>();
            int addedBytes = 0;
            for (Map.Entry<String, Integer> e : t.specialTokens().entrySet()) {
                byte[] content = e.getKey().getBytes(StandardCharsets.UTF_8);
                added.put(content, e.getValue());
                addedBytes += 2 * Integer.BYTES + content.length;
            }
            int size = t.tokenStart().length;
            long total = Long.BYTES + Integer.BYTES + Long.BYTES + Integer.BYTES + Integer.BYTES + 256L * Integer.BYTES
                    + 2L * size * Integer.BYTES + Integer.BYTES + t.tokenBytes().length + Integer.BYTES + (long) special.length * Long.BYTES
                    + Integer.BYTES + 2L * t.mergeKeys().length * Long.BYTES + Integer.BYTES + addedBytes + Integer.BYTES;
            ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(total)).order(ByteOrder.LITTLE_ENDIAN);
            out.putLong(MAGIC).putInt(FORMAT).putLong(sourceLength).putInt(sourceChecksum).putInt(size);
            out.asIntBuffer().put(t.byteIds());
            out.position(out.position() + 256 * Integer.BYTES);
            out.asIntBuffer().put(t.tokenStart());
            out.position(out.position() + size * Integer.BYTES);
            out.asIntBuffer().put(t.tokenLength());
            out.position(out.position() + size * Integer.BYTES);
            out.putInt(t.tokenBytes().length).put(t.tokenBytes());
            out.putInt(special.length);
            out.asLongBuffer().put(special);
            out.position(out.position() + special.length * Long.BYTES);
            out.putInt(t.mergeKeys().length);
            out.asLongBuffer().put(t.mergeKeys());
            out.position(out.position() + t.mergeKeys().length * Long.BYTES);
            out.asLongBuffer().put(t.mergeValues());
            out.position(out.position() + t.mergeValues().length * Long.BYTES);
            out.putInt(added.size());
            added.forEach((content, id) -> out.putInt(id).putInt(content.length).put(content));
            CRC32C crc = new CRC32C();
            crc.update(out.array(), 0, out.position());
            out.putInt((int) crc.getValue());
            tmp = DerivedFiles.temporaryBeside(file);
            Files.write(tmp, out.array());
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            LOG.debugf("Compiled tokenizer written to %s", file);
        } catch (IOException | RuntimeException e) {
            LOG.warnf("Cannot write the compiled tokenizer %s (%s): the next start parses tokenizer.json again", file, e.toString());
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort; a leftover temporary file is never read
                }
            }
        }
    }
}
