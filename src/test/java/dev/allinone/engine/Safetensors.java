package dev.allinone.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** A safetensors file read here, independently of Jlama, for tests that check what the engine computed from it. */
public record Safetensors(JsonNode header, ByteBuffer data) {

    public static Safetensors read(Path file) throws IOException {
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int headerLength = (int) all.getLong(0);
        JsonNode header = new ObjectMapper().readTree(new String(all.array(), 8, headerLength, java.nio.charset.StandardCharsets.UTF_8));
        return new Safetensors(header, all.slice(8 + headerLength, all.capacity() - 8 - headerLength).order(ByteOrder.LITTLE_ENDIAN));
    }

    /** Sets every value of the given rows of an F32 matrix in the file to {@code value}. */
    static void overwriteRows(Path file, String name, int[] rows, float value) throws IOException {
        Safetensors read = read(file);
        JsonNode tensor = read.header.path(name);
        if (!tensor.path("dtype").asText().equals("F32")) {
            throw new IllegalArgumentException(name + " is not F32");
        }
        int width = tensor.path("shape").get(1).asInt();
        long begin = tensor.path("data_offsets").get(0).asLong();
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long dataStart = file.toFile().length() - read.data.capacity();
        for (int row : rows) {
            for (int j = 0; j < width; j++) {
                all.putFloat((int) (dataStart + begin + ((long) row * width + j) * 4), value);
            }
        }
        Files.write(file, all.array());
    }

    /** A tensor's values in row-major order (F32 or BF16). */
    public float[] floats(String name) {
        JsonNode tensor = header.path(name);
        if (tensor.isMissingNode()) {
            throw new IllegalArgumentException("no tensor " + name);
        }
        long begin = tensor.path("data_offsets").get(0).asLong();
        long end = tensor.path("data_offsets").get(1).asLong();
        String dtype = tensor.path("dtype").asText();
        int width = dtype.equals("F32") ? 4 : 2;
        float[] out = new float[(int) ((end - begin) / width)];
        for (int i = 0; i < out.length; i++) {
            int at = (int) begin + i * width;
            out[i] = switch (dtype) {
                case "F32" -> data.getFloat(at);
                case "BF16" -> Float.intBitsToFloat((data.getShort(at) & 0xffff) << 16);
                default -> throw new IllegalArgumentException(name + " is " + dtype);
            };
        }
        return out;
    }

    /**
     * A tensor's values in row-major order, also for Jlama's Q4 ({@code NAME} holds blocks of 32 values in 16 bytes,
     * value j of a block in the low nibble of byte j for j &lt; 16 and the high nibble of byte j − 16 after; a value
     * is (nibble − 8) × the block's F32 scale in {@code NAME.qb}) and Q8 (dtype I8: blocks of 32 signed bytes, a value
     * is its byte × the block's scale in {@code NAME.qb}). Read here, not by Jlama's {@code get}, which
     * computes the block of an index in float and misreads tensors of more than 2²⁴ values.
     */
    float[] values(String name) {
        JsonNode tensor = header.path(name);
        String dtype = tensor.path("dtype").asText();
        if (!dtype.equals("Q4") && !dtype.equals("I8")) {
            return floats(name);
        }
        float[] scales = floats(name + ".qb");
        int begin = tensor.path("data_offsets").get(0).asInt();
        float[] out = new float[scales.length * 32];
        if (dtype.equals("I8")) {
            for (int i = 0; i < out.length; i++) {
                out[i] = data.get(begin + i) * scales[i / 32];
            }
            return out;
        }
        for (int i = 0; i < out.length; i++) {
            int block = i / 32;
            int j = i % 32;
            int b = data.get(begin + block * 16 + (j < 16 ? j : j - 16));
            int nibble = j < 16 ? b & 15 : (b >> 4) & 15;
            out[i] = (nibble - 8) * scales[block];
        }
        return out;
    }
}
