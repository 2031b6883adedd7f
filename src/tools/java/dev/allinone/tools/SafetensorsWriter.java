package dev.allinone.tools;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Writes a single {@code model.safetensors} file, streaming each tensor's values so full-size models fit. */
final class SafetensorsWriter {

    enum DType {
        F32(4), BF16(2);

        final int bytes;

        DType(int bytes) {
            this.bytes = bytes;
        }
    }

    /** Produces the value at a flat index of a tensor (row-major). */
    interface Values {
        float at(long index);
    }

    private record Entry(String name, long[] shape, Values values) {
        long count() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final DType dtype;
    private final List<Entry> entries = new ArrayList<>();

    SafetensorsWriter(DType dtype) {
        this.dtype = dtype;
    }

    void add(String name, Values values, long... shape) {
        entries.add(new Entry(name, shape, values));
    }

    void write(Path file) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("__metadata__", Map.of("format", "pt"));
        long offset = 0;
        for (Entry e : entries) {
            long size = e.count() * dtype.bytes;
            // Sorted keys: Map.of's order changes from JVM to JVM, and the golden fixtures record the file's hash.
            header.put(e.name(), new TreeMap<>(Map.of("dtype", dtype.name(), "shape", e.shape(), "data_offsets", new long[] {offset, offset + size})));
            offset += size;
        }
        byte[] json = new ObjectMapper().writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ch.write(head);
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
            for (Entry e : entries) {
                long n = e.count();
                for (long i = 0; i < n; i++) {
                    if (buf.remaining() < 4) {
                        drain(buf, ch);
                    }
                    float v = e.values().at(i);
                    if (dtype == DType.F32) {
                        buf.putFloat(v);
                    } else {
                        buf.putShort(toBf16(v));
                    }
                }
            }
            drain(buf, ch);
        }
    }

    private static void drain(ByteBuffer buf, FileChannel ch) throws IOException {
        buf.flip();
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
        buf.clear();
    }

    /** Round-to-nearest-even float → bfloat16. */
    static short toBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
