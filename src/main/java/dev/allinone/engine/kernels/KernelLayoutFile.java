package dev.allinone.engine.kernels;

import dev.allinone.engine.files.DerivedFiles;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

import org.jboss.logging.Logger;

/**
 * The packed matrices in the C kernels' layout ({@link PackedMatrix}: Q4 or Q8, each entry tagged with its
 * {@link MatrixFormat}), written once into the quantized copy's directory and mapped at later starts instead of
 * repacking the copy (which read all of it through page faults, then rearranged it into
 * new memory). Mapped, not read into memory of our own: the weights stay in the page cache (several processes on
 * one machine share them), and no new memory has to be faulted in and zeroed first, which on our virtual machine
 * cost more than copying (docs/fast-start.md has the measurements, and the benchmark's with each).
 *
 * <p>A file is used only if everything about it checks out, else it is ignored (with a log line saying why), the
 * weights are repacked and the file is written anew: its magic and format version; a checksum of its header; the
 * identity of the quantized copy it was made from ({@link dev.allinone.engine.model.QuantizedCheckpoint#identity}); the layout's fingerprint (the C
 * library's repacking of a probe matrix in each format, so a change to the layout in {@code kernels_common.c} makes old files
 * stale by itself); the same matrices with the same shapes as the model asks for; and a CRC-32C of each matrix's
 * bytes, checked at every start (which also brings the mapping's pages in before the first request needs them).
 * It is written to a temporary file and renamed into place, so a reader never sees half a file, and a process
 * that has the old one mapped keeps reading the old one; a file must never be changed in place.
 *
 * <p>Layout: magic, header length (little-endian), the header (format, identity, fingerprint, then per matrix its
 * name, format, rows, columns, data offset, quant and scale bytes, checksum), the header's CRC-32C, then each matrix's
 * packed quants followed by its scales, every matrix starting on a 4 KiB boundary.
 */
public final class KernelLayoutFile {

    static final String NAME = "allinone-kernel-layout.bin";
    private static final Logger LOG = Logger.getLogger(KernelLayoutFile.class);
    private static final long MAGIC = 0x5941_4c4b_4f49_4141L; // "AAIOKLAY" little-endian
    /** 2: entries carry their format (1 held Q4 only, untagged). */
    private static final int FORMAT = 2;
    private static final long ALIGN = 4096;

    private final Path file;
    private final String identity;

    /**
     * @param dir      the quantized (Q4 or Q8) copy's directory
     * @param identity what the copy was made from ({@link dev.allinone.engine.model.QuantizedCheckpoint#identity}); a file made from other weights
     *                 is stale
     */
    public KernelLayoutFile(Path dir, String identity) {
        this.file = dir.resolve(NAME);
        this.identity = identity;
    }

    /** One matrix as the model asks for it. */
    record Shape(MatrixFormat format, int rows, int in) {
    }

    /** What the header says of one matrix. */
    private record Entry(String name, String format, int rows, int in, long offset, long quantBytes, long scaleBytes, int checksum) {
    }

    /** The matrices of a valid file, mapped; they stay valid until {@link #close}. */
    record Mapped(Map<String, PackedMatrix> matrices, Arena arena) implements AutoCloseable {
        @Override
        public void close() {
            arena.close();
        }
    }

    /**
     * The matrices {@code wanted}, mapped from the file; null if the file is absent, stale or corrupt (logged), in
     * which case the caller repacks and {@link #write}s it. Never throws for a bad file.
     */
    Mapped map(Map<String, Shape> wanted, NativeKernels kernels) {
        if (!Files.isRegularFile(file)) {
            LOG.infof("No kernel-layout file %s yet: repacking the quantized weights (once; later starts map it)", file);
            return null;
        }
        long start = System.nanoTime();
        Arena arena = Arena.ofShared();
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ)) {
            Map<String, Entry> entries = header(in, kernels);
            if (!entries.keySet().equals(wanted.keySet())) {
                throw new Stale("it holds other matrices than this model's");
            }
            MemorySegment all = in.map(FileChannel.MapMode.READ_ONLY, 0, in.size(), arena);
            Map<String, PackedMatrix> packed = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> w : wanted.entrySet()) {
                Entry e = entries.get(w.getKey());
                Shape shape = w.getValue();
                if (!e.format().equals(shape.format().name())) {
                    throw new Stale(e.name() + " is " + e.format() + ", this model's is " + shape.format());
                }
                if (e.rows() != shape.rows() || e.in() != shape.in()
                        || e.quantBytes() != shape.format().packedBytes(kernels, e.rows(), e.in())
                        || e.scaleBytes() != kernels.packedScales(e.rows(), e.in()) * Float.BYTES) {
                    throw new Stale(e.name() + " has another shape than this model's");
                }
                MemorySegment quants = all.asSlice(e.offset(), e.quantBytes());
                MemorySegment scales = all.asSlice(e.offset() + e.quantBytes(), e.scaleBytes());
                CRC32C crc = new CRC32C();
                crc.update(quants.asByteBuffer());
                crc.update(scales.asByteBuffer());
                if ((int) crc.getValue() != e.checksum()) {
                    throw new Stale(e.name() + "'s bytes do not match their checksum");
                }
                packed.put(e.name(), shape.format().mapped(quants, scales, e.rows(), e.in()));
            }
            LOG.infof("Kernel layout mapped from %s in %d ms (no repacking)", file, (System.nanoTime() - start) / 1_000_000);
            return new Mapped(packed, arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            return stale(e instanceof Stale ? e.getMessage() : "it could not be read: " + e);
        }
    }

    private Mapped stale(String why) {
        LOG.warnf("Kernel-layout file %s ignored: %s. Repacking the quantized weights and writing it anew", file, why);
        return null;
    }

    /** The header's entries, after checking everything in it that does not need the data. */
    private Map<String, Entry> header(FileChannel in, NativeKernels kernels) throws IOException {
        ByteBuffer prefix = ByteBuffer.allocate(Long.BYTES + Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        if (!readFully(in, 0, prefix) || prefix.getLong(0) != MAGIC) {
            throw new Stale("it is not a kernel-layout file");
        }
        int length = prefix.getInt(Long.BYTES);
        if (length <= 0 || length > (64 << 20) || prefix.capacity() + length + Integer.BYTES > in.size()) {
            throw new Stale("its header is truncated");
        }
        ByteBuffer header = ByteBuffer.allocate(length + Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        if (!readFully(in, prefix.capacity(), header)) {
            throw new Stale("its header is truncated");
        }
        CRC32C crc = new CRC32C();
        crc.update(header.array(), 0, length);
        if ((int) crc.getValue() != header.getInt(length)) {
            throw new Stale("its header does not match its checksum");
        }
        DataInputStream data = new DataInputStream(new java.io.ByteArrayInputStream(header.array(), 0, length));
        int format = data.readInt();
        if (format != FORMAT) {
            throw new Stale("it has format " + format + ", this version writes " + FORMAT);
        }
        if (!data.readUTF().equals(identity)) {
            throw new Stale("it was made from other quantized weights");
        }
        if (data.readLong() != fingerprint(kernels)) {
            throw new Stale("the kernels' weight layout has changed since it was written");
        }
        int count = data.readInt();
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            Entry e = new Entry(data.readUTF(), data.readUTF(), data.readInt(), data.readInt(), data.readLong(), data.readLong(),
                    data.readLong(), data.readInt());
            if (e.offset() < 0 || e.quantBytes() < 0 || e.scaleBytes() < 0 || e.offset() + e.quantBytes() + e.scaleBytes() > in.size()) {
                throw new Stale("it is shorter than its header says");
            }
            entries.put(e.name(), e);
        }
        return entries;
    }

    private static boolean readFully(FileChannel in, long position, ByteBuffer into) throws IOException {
        while (into.hasRemaining()) {
            if (in.read(into, position + into.position()) < 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Writes the file for {@code packed} (named as the model names them): into a temporary file beside it, renamed
     * into place. A failure is logged, not thrown: the next start repacks and tries again.
     */
    void write(Map<String, PackedMatrix> packed, NativeKernels kernels) {
        long start = System.nanoTime();
        Path tmp = null;
        try {
            tmp = DerivedFiles.temporaryBeside(file);
            ByteArrayOutputStream headerBytes = new ByteArrayOutputStream();
            DataOutputStream header = new DataOutputStream(headerBytes);
            header.writeInt(FORMAT);
            header.writeUTF(identity);
            header.writeLong(fingerprint(kernels));
            header.writeInt(packed.size());
            // Entries have a fixed size apart from their names, so the offsets can be computed before writing them.
            long headerLength = headerBytes.size();
            for (Map.Entry<String, PackedMatrix> e : packed.entrySet()) {
                headerLength += 2 + e.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                        + 2 + e.getValue().format().name().length() + 4 + 4 + 8 + 8 + 8 + 4;
            }
            long offset = align(Long.BYTES + Integer.BYTES + headerLength + Integer.BYTES);
            Map<Long, PackedMatrix> at = new LinkedHashMap<>();
            for (Map.Entry<String, PackedMatrix> e : packed.entrySet()) {
                PackedMatrix p = e.getValue();
                CRC32C crc = new CRC32C();
                crc.update(p.quants().asByteBuffer());
                crc.update(p.scales().asByteBuffer());
                header.writeUTF(e.getKey());
                header.writeUTF(p.format().name());
                header.writeInt(p.rows());
                header.writeInt(p.in());
                header.writeLong(offset);
                header.writeLong(p.quants().byteSize());
                header.writeLong(p.scales().byteSize());
                header.writeInt((int) crc.getValue());
                at.put(offset, p);
                offset = align(offset + p.quants().byteSize() + p.scales().byteSize());
            }
            header.flush();
            byte[] h = headerBytes.toByteArray();
            CRC32C crc = new CRC32C();
            crc.update(h);
            ByteBuffer prefix = ByteBuffer.allocate(Long.BYTES + Integer.BYTES + h.length + Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(MAGIC).putInt(h.length).put(h).putInt((int) crc.getValue()).flip();
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(out, 0, prefix);
                for (Map.Entry<Long, PackedMatrix> e : at.entrySet()) {
                    writeFully(out, e.getKey(), e.getValue().quants().asByteBuffer());
                    writeFully(out, e.getKey() + e.getValue().quants().byteSize(), e.getValue().scales().asByteBuffer());
                }
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            LOG.infof("Kernel layout written to %s in %d ms (later starts read it instead of repacking)", file,
                    (System.nanoTime() - start) / 1_000_000);
        } catch (IOException | RuntimeException e) {
            LOG.warnf("Cannot write the kernel-layout file %s (%s): the next start repacks the quantized weights again", file,
                    e.toString());
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort; a leftover temporary file is never read
                }
            }
        }
    }

    private static void writeFully(FileChannel out, long position, ByteBuffer from) throws IOException {
        while (from.hasRemaining()) {
            out.write(from, position + from.position());
        }
    }

    private static long align(long offset) {
        return (offset + ALIGN - 1) / ALIGN * ALIGN;
    }

    /**
     * The C library's packed layouts, summed up: their sizes for a probe shape and their repacking of a probe matrix
     * (17 rows, so a partial group, of 64 values) in Q4 and in Q8, as a CRC-32C. Any change to how
     * {@code aio_q4_repack} or {@code aio_q8_repack} arranges weights changes it.
     */
    static long fingerprint(NativeKernels kernels) {
        int rows = 17;
        int in = 64;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment q = arena.allocate((long) rows * in / 2, 64);
            MemorySegment s = arena.allocate((long) rows * in / 32 * Float.BYTES, 64);
            for (long i = 0; i < q.byteSize(); i++) {
                q.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 37 + 11));
            }
            for (long i = 0; i < s.byteSize() / Float.BYTES; i++) {
                s.setAtIndex(ValueLayout.JAVA_FLOAT, i, i + 0.5f);
            }
            long quantBytes = kernels.packedBytes(rows, in);
            long scaleCount = kernels.packedScales(rows, in);
            MemorySegment out = arena.allocate(quantBytes, 64);
            MemorySegment outScales = arena.allocate(scaleCount * Float.BYTES, 64);
            kernels.repack(q, s, rows, in, out, outScales);
            CRC32C crc = new CRC32C();
            crc.update(ByteBuffer.allocate(16).putLong(quantBytes).putLong(scaleCount).flip());
            crc.update(out.asByteBuffer());
            crc.update(outScales.asByteBuffer());
            MemorySegment q8 = arena.allocate((long) rows * in, 64);
            for (long i = 0; i < q8.byteSize(); i++) {
                q8.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 37 + 11));
            }
            long q8Bytes = kernels.q8PackedBytes(rows, in);
            MemorySegment q8Out = arena.allocate(q8Bytes, 64);
            kernels.q8Repack(q8, s, rows, in, q8Out, outScales);
            crc.update(ByteBuffer.allocate(8).putLong(q8Bytes).flip());
            crc.update(q8Out.asByteBuffer());
            crc.update(outScales.asByteBuffer());
            return crc.getValue();
        }
    }

    /** Something in the file makes it unusable; the message says what. */
    private static final class Stale extends IOException {
        Stale(String why) {
            super(why);
        }
    }
}
