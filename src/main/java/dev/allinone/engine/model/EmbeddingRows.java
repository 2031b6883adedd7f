package dev.allinone.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The token embedding table, read row by row from its safetensors file (seek and read) instead of through a
 * memory mapping. Mapped, every row looked up drags its neighbours into the resident size (the kernel maps cached
 * pages around each fault), so a few thousand distinct tokens made the 311 MB table count 168 MiB; read, it stays
 * in the page cache, which the kernel can drop. Reading a row costs two system calls, once per token of a prompt.
 */
final class EmbeddingRows implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Not a FileChannel: an interrupt of the model thread (engine shutdown) would close a channel for good. */
    private final RandomAccessFile file;
    private final long dataStart;
    /** 0: F32, 1: BF16, 2: F16. */
    private final int kind;
    private final int width;
    private final int rows;
    private final ByteBuffer row;

    private EmbeddingRows(RandomAccessFile file, long dataStart, String dtype, int rows, int width) {
        this.file = file;
        this.dataStart = dataStart;
        this.kind = switch (dtype) {
            case "F32" -> 0;
            case "BF16" -> 1;
            default -> 2;
        };
        this.rows = rows;
        this.width = width;
        this.row = ByteBuffer.allocate(width * bytesPer(dtype)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The tensor {@code name} of the safetensors checkpoint in {@code dir} (one file or shards with an index). */
    static EmbeddingRows open(Path dir, String name) throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        Path path = Files.isRegularFile(index)
                ? dir.resolve(JSON.readTree(index.toFile()).path("weight_map").path(name).asText("model.safetensors"))
                : dir.resolve("model.safetensors");
        RandomAccessFile file = new RandomAccessFile(path.toFile(), "r");
        try {
            byte[] size = new byte[8];
            file.readFully(size);
            long headerLength = ByteBuffer.wrap(size).order(ByteOrder.LITTLE_ENDIAN).getLong();
            byte[] header = new byte[Math.toIntExact(headerLength)];
            file.readFully(header);
            JsonNode tensor = JSON.readTree(header).path(name);
            if (tensor.isMissingNode()) {
                throw new IOException(path + " has no tensor " + name);
            }
            String dtype = tensor.path("dtype").asText();
            bytesPer(dtype);
            long begin = tensor.path("data_offsets").path(0).asLong();
            return new EmbeddingRows(file, 8 + headerLength + begin, dtype, tensor.path("shape").path(0).asInt(),
                    tensor.path("shape").path(1).asInt());
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static int bytesPer(String dtype) {
        return switch (dtype) {
            case "F32" -> 4;
            case "BF16", "F16" -> 2;
            default -> throw new IllegalArgumentException("Embedding table of type " + dtype + " is not supported");
        };
    }

    int width() {
        return width;
    }

    /** Row {@code token} as floats into {@code out[offset…offset+width-1]}. */
    void read(int token, float[] out, int offset) {
        if (token < 0 || token >= rows) {
            throw new IllegalArgumentException("Token id " + token + " is outside the embedding table (" + rows + " rows)");
        }
        row.clear();
        try {
            file.seek(dataStart + (long) token * row.capacity());
            file.readFully(row.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (int j = 0; j < width; j++) {
            out[offset + j] = switch (kind) {
                case 0 -> row.getFloat();
                case 1 -> Float.intBitsToFloat((row.getShort() & 0xFFFF) << 16);
                default -> Float.float16ToFloat(row.getShort());
            };
        }
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
