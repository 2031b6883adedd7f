package dev.allinone.engine.kv;

import dev.allinone.engine.files.DerivedFiles;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import org.jboss.logging.Logger;

/**
 * The keys and values of pinned prompts (the task prompts pinned before readiness), kept in files beside the model so
 * that a later start restores them instead of prefilling them again. One file per prompt, named by a hash of what
 * it depends on: the weights ({@link dev.allinone.engine.model.QuantizedCheckpoint#identity}), the kernels' family (the C variants compute the same
 * bits, the Java kernels other ones), the KV layout (with its {@link KvCacheType}: an F16 file is never read as Q8)
 * and the prompt's tokens.
 *
 * <p>A file is used only if its magic, format, weights identity, kernels, layout and tokens (all of them, not their
 * hash) match and its CRC-32C is right; else it is ignored with a log line and written anew once the prompt is
 * computed. Even then the engine does not take it on trust: it restores all positions but the last, computes the
 * last one with the model as it is now, and compares its keys and values with the file's ({@link #distance}); if
 * they differ, the engine's arithmetic has changed since the file was written, and the prompt is computed afresh.
 *
 * <p>Layout: magic, format, the weights identity, kernels, layers, KV width, KV type, head size, the token count and
 * the tokens, then per position and layer the key and the value as {@link SequenceKv#readPosition} lays them out
 * (half-precision floats, little-endian; Q8: bytes then scales), then a CRC-32C of all before it. At most {@link #KEEP} such files stay in the directory; the least recently used go first.
 */
public final class PinnedKvFiles {

    static final String PREFIX = "allinone-pinned-kv-";
    /** Files kept at most: two prompts are pinned per start; edits of the prompts leave older ones behind. */
    static final int KEEP = 8;
    /**
     * Largest relative distance between the restored and the recomputed last position still taken as the same
     * computation: half-precision storage and summation order leave ≈ 1e-3 (with 8-bit storage a value that crossed
     * a rounding boundary is one step of max|x|/127 off; measured 0 for both types in {@code PinnedKvFilesTest}, the
     * recomputed position having the same bits); other weights or arithmetic give ≈ 1.
     */
    public static final double TOLERANCE = 0.02;
    private static final Logger LOG = Logger.getLogger(PinnedKvFiles.class);
    private static final long MAGIC = 0x564b_4e49_5049_4141L; // "AAIPINKV" little-endian
    /**
     * 2: the KV type and head size in the header; 3: activations rounded to the nearest 8-bit value (earlier files hold
     * KV computed with Jlama's rounding, slightly different numbers).
     */
    private static final int FORMAT = 3;
    /** A pinned prompt longer than this is not worth a file (the context is 2,048 tokens at most by default). */
    private static final long MAX_BYTES = 512L << 20;

    private final Path dir;
    private final String weights;
    private final String kernels;

    /**
     * @param dir     where the files are kept (the Q4 copy's directory)
     * @param weights the weights' identity
     * @param kernels the kernels' family: their numbers differ
     */
    public PinnedKvFiles(Path dir, String weights, String kernels) {
        this.dir = dir;
        this.weights = weights;
        this.kernels = kernels;
    }

    /** The file that holds (or would hold) the KV of {@code tokens} in {@code layout}. */
    public Path file(int[] tokens, KvLayout layout) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(header(tokens, layout));
            return dir.resolve(PREFIX + HexFormat.of().formatHex(sha.digest(), 0, 12) + ".bin");
        } catch (NoSuchAlgorithmException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private byte[] header(int[] tokens, KvLayout layout) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeLong(MAGIC);
        out.writeInt(FORMAT);
        writeString(out, weights);
        writeString(out, kernels);
        out.writeInt(layout.layers());
        out.writeInt(layout.kvDim());
        writeString(out, layout.type().name());
        out.writeInt(layout.headSize());
        out.writeInt(tokens.length);
        for (int t : tokens) {
            out.writeInt(t);
        }
        out.flush();
        return bytes.toByteArray();
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    /**
     * Fills positions {@code kv.length() … tokens.length - 2} of {@code kv} (which holds a prefix of {@code tokens})
     * from the file and returns the file's keys and values of the last position (as {@link SequenceKv#readPosition}
     * lays them out), for {@link #distance}; null, with
     * {@code kv} untouched, when there is no usable file. Never throws for a bad file.
     */
    public byte[] restore(int[] tokens, SequenceKv kv) {
        KvLayout layout = kv.layout();
        Path file = file(tokens, layout);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            byte[] header = header(tokens, layout);
            long perPosition = layout.positionBytes();
            long expectedSize = header.length + perPosition * tokens.length + Integer.BYTES;
            if (Files.size(file) != expectedSize || expectedSize > MAX_BYTES) {
                return ignored(file, "its size is not what its prompt and layout need");
            }
            byte[] bytes = Files.readAllBytes(file);
            if (bytes.length != expectedSize) {
                return ignored(file, "it changed while being read");
            }
            CRC32C crc = new CRC32C();
            crc.update(bytes, 0, bytes.length - Integer.BYTES);
            ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            if ((int) crc.getValue() != buffer.getInt(bytes.length - Integer.BYTES)) {
                return ignored(file, "its bytes do not match their checksum");
            }
            if (!java.util.Arrays.equals(bytes, 0, header.length, header, 0, header.length)) {
                return ignored(file, describeMismatch(bytes));
            }
            int last = tokens.length - 1;
            int from = kv.length();
            kv.append(tokens, from, last - from);
            int perPositionBytes = layout.positionBytes();
            for (int p = from; p < last; p++) {
                kv.writePosition(p, bytes, header.length + p * perPositionBytes);
            }
            byte[] expected = java.util.Arrays.copyOfRange(bytes, header.length + last * perPositionBytes,
                    header.length + (last + 1) * perPositionBytes);
            touch(file);
            return expected;
        } catch (IOException | RuntimeException e) {
            return ignored(file, "it could not be read: " + e);
        }
    }

    /** Why a file with the right name and checksum does not fit (a hash collision, or a file copied from elsewhere). */
    private String describeMismatch(byte[] bytes) {
        try {
            DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes));
            if (in.readLong() != MAGIC) {
                return "it is not a pinned-KV file";
            }
            int format = in.readInt();
            return format != FORMAT ? "it has format " + format + ", this version writes " + FORMAT
                    : "it was computed for other weights, kernels or tokens";
        } catch (IOException e) {
            return "its header is unreadable";
        }
    }

    private byte[] ignored(Path file, String why) {
        LOG.warnf("Pinned-prompt KV file %s ignored: %s. The prompt is computed and the file written anew", file, why);
        return null;
    }

    /**
     * Relative L2 distance between the keys and values {@link #restore} returned for the last position and those
     * the model computed for it in {@code kv}.
     */
    public static double distance(byte[] expected, SequenceKv kv, int position) {
        KvLayout layout = kv.layout();
        byte[] computed = new byte[layout.positionBytes()];
        kv.readPosition(position, computed, 0);
        float[] want = layout.decodePosition(expected);
        float[] got = layout.decodePosition(computed);
        double difference = 0;
        double norm = 0;
        for (int j = 0; j < want.length; j++) {
            difference += (double) (got[j] - want[j]) * (got[j] - want[j]);
            norm += (double) want[j] * want[j];
        }
        if (Double.isNaN(difference)) {
            return Double.POSITIVE_INFINITY;
        }
        return norm == 0 ? (difference == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(difference / norm);
    }

    /**
     * Puts the file's keys and values of the last position (from {@link #restore}) in place of the computed ones that
     * {@link #distance} found close: the restored prompt is then, to the bit, the one that was written (the Java
     * kernels round a position computed alone a little differently from one computed in a chunk).
     */
    public static void keep(byte[] expected, SequenceKv kv, int position) {
        kv.writePosition(position, expected, 0);
    }

    /**
     * Writes the KV of all {@code tokens} that {@code kv} holds, into a temporary file renamed into place, then drops
     * the least recently used files beyond {@link #KEEP}. A failure is logged, not thrown.
     */
    public void save(int[] tokens, SequenceKv kv) {
        KvLayout layout = kv.layout();
        Path file = file(tokens, layout);
        Path tmp = null;
        try {
            byte[] header = header(tokens, layout);
            int perPosition = layout.positionBytes();
            long size = header.length + (long) perPosition * tokens.length + Integer.BYTES;
            if (size > MAX_BYTES) {
                return;
            }
            ByteBuffer buffer = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
            buffer.put(header);
            for (int p = 0; p < tokens.length; p++) {
                kv.readPosition(p, buffer.array(), header.length + p * perPosition);
            }
            CRC32C crc = new CRC32C();
            crc.update(buffer.array(), 0, (int) size - Integer.BYTES);
            buffer.putInt((int) size - Integer.BYTES, (int) crc.getValue());
            tmp = DerivedFiles.temporaryBeside(file);
            Files.write(tmp, buffer.array());
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            LOG.debugf("Pinned-prompt KV of %d tokens written to %s", tokens.length, file);
            prune();
        } catch (IOException | RuntimeException e) {
            LOG.warnf("Cannot write the pinned-prompt KV file %s (%s): the next start computes the prompt again", file, e.toString());
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort; a leftover temporary file is never read
                }
            }
        }
    }

    private static void touch(Path file) {
        try {
            Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException e) {
            LOG.debugf("Cannot touch %s: %s", file, e);
        }
    }

    private void prune() throws IOException {
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(f -> f.getFileName().toString().startsWith(PREFIX) && f.getFileName().toString().endsWith(".bin"))
                    .sorted(Comparator.comparing(PinnedKvFiles::modified).reversed())
                    .toList();
        }
        for (Path old : files.subList(Math.min(KEEP, files.size()), files.size())) {
            Files.deleteIfExists(old);
        }
    }

    private static FileTime modified(Path file) {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }
}
