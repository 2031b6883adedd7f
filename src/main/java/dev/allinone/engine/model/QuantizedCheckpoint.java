package dev.allinone.engine.model;

import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.safetensors.SafeTensorSupport;
import com.github.tjake.jlama.safetensors.TensorInfo;
import com.github.tjake.jlama.safetensors.WeightLoader;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.FloatBufferTensor;
import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;
import com.github.tjake.jlama.tensor.Q8ByteBufferTensor;
import com.github.tjake.jlama.util.JsonSupport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jboss.logging.Logger;

/**
 * A quantized copy of a checkpoint (Q4 or Q8: {@link WeightFormat}), written once and reused by later starts. Jlama's
 * load-time quantization leaves the sharded projections in full precision and then fails on them, so the weight
 * matrices are quantized here, tensor by tensor, into a plain safetensors file that Jlama loads as Q4 (its
 * {@code Q4ByteBufferTensor}) or Q8 (its {@code Q8ByteBufferTensor}, dtype I8: 32 signed bytes and a float scale per
 * block, as llama.cpp's Q8_0). The LM head is written quantized as {@code lm_head.weight} even for tied checkpoints
 * (it is read whole for every generated token); the embedding table, norms and biases stay as stored (the table is
 * only looked up row by row).
 */
public final class QuantizedCheckpoint {

    private static final Logger LOG = Logger.getLogger(QuantizedCheckpoint.class);
    private static final List<String> COPIED_FILES = List.of("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json");

    private QuantizedCheckpoint() {
    }

    /** Returns the Q4 directory for {@code source}, writing it first if it is absent or stale. */
    public static Path ensure(Path source, Path target) {
        return ensure(source, target, WeightFormat.Q4);
    }

    /** The stamp file of a copy in {@code format} (the source weights it was made from). */
    private static String stampFile(WeightFormat format) {
        return "allinone-" + tag(format) + ".stamp";
    }

    private static String tag(WeightFormat format) {
        return format.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Returns the directory of {@code source}'s copy in {@code format}, writing it first if it is absent or stale. */
    public static Path ensure(Path source, Path target, WeightFormat format) {
        if (!format.quantized()) {
            throw new IllegalArgumentException(format + " is not a quantized format");
        }
        String stamp = stampOf(source);
        String stampFile = stampFile(format);
        try {
            if (Files.isRegularFile(target.resolve(stampFile)) && Files.readString(target.resolve(stampFile)).equals(stamp)) {
                return target;
            }
            long start = System.nanoTime();
            LOG.infof("Quantizing %s to %s into %s (once; later starts reuse it)", source, format, target);
            Files.createDirectories(target);
            // One copy per directory (allinone.model.quantized-path may be kept across a change of format).
            for (WeightFormat other : WeightFormat.values()) {
                if (other.quantized()) {
                    Files.deleteIfExists(target.resolve(stampFile(other)));
                }
            }
            for (String name : COPIED_FILES) {
                if (Files.isRegularFile(source.resolve(name))) {
                    Files.copy(source.resolve(name), target.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            writeWeights(source, target.resolve("model.safetensors"), format);
            Files.writeString(target.resolve(stampFile), stamp);
            LOG.infof("%s checkpoint written in %d ms", format, (System.nanoTime() - start) / 1_000_000);
            return target;
        } catch (IOException e) {
            throw new ModelUnavailableException("Cannot write the " + format + " checkpoint to " + target + " (" + e.getMessage()
                    + "); set allinone.model.quantized-path to a writable directory", e);
        }
    }

    /**
     * What the copy in {@code format} in {@code dir} is: its stamp (the source weights it was made from), its format
     * and its weights file's size and modification time (whole seconds, as {@link #stampOf}). Files derived from the
     * copy at load (the kernel layout, pinned prompts' KV) are valid only for this identity.
     */
    static String identity(Path dir, WeightFormat format) throws IOException {
        Path weights = dir.resolve("model.safetensors");
        return Files.readString(dir.resolve(stampFile(format))) + tag(format) + ' ' + Files.size(weights) + ' '
                + Files.getLastModifiedTime(weights).to(TimeUnit.SECONDS) + '\n';
    }

    private static void writeWeights(Path source, Path file, WeightFormat format) throws IOException {
        Path data = Files.createTempFile(file.getParent(), "q4", ".data");
        Map<String, TensorInfo> header = new LinkedHashMap<>();
        WeightLoader weights = SafeTensorSupport.loadWeights(source.toFile());
        try (FileChannel out = FileChannel.open(data, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (String name : weights.tensorInfoMap().keySet().stream().sorted().toList()) {
                try (AbstractTensor tensor = weights.load(name)) {
                    if (quantizes(name, tensor)) {
                        writeQuantized(name, tensor, format, header, out);
                    } else {
                        header.put(name, tensor.save(out));
                    }
                }
            }
            if (!weights.isWeightPresent("lm_head.weight")) {
                try (AbstractTensor tied = weights.load("model.embed_tokens.weight")) {
                    writeQuantized("lm_head.weight", tied, format, header, out);
                }
            }
        }
        byte[] json = JsonSupport.om.writeValueAsBytes(header);
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                FileChannel in = FileChannel.open(data, StandardOpenOption.READ)) {
            out.write(ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(0, json.length));
            out.write(ByteBuffer.wrap(json));
            long size = in.size();
            for (long pos = 0; pos < size; ) {
                pos += in.transferTo(pos, size - pos, out);
            }
        } finally {
            Files.deleteIfExists(data);
        }
    }

    /** The tensor in {@code format} (Jlama's Q4, or its I8 = Q8) and its block scales as {@code NAME.qb}, as Jlama reads them. */
    private static void writeQuantized(String name, AbstractTensor tensor, WeightFormat format, Map<String, TensorInfo> header,
            FileChannel out) throws IOException {
        DType type = switch (format) {
            case Q4 -> DType.Q4;
            case Q8 -> DType.I8;
            case AS_STORED -> throw new IllegalArgumentException(format + " is not quantized");
        };
        try (AbstractTensor q = tensor.quantize(type, true)) {
            FloatBufferTensor scales = q instanceof Q4ByteBufferTensor q4 ? q4.getBlockF() : ((Q8ByteBufferTensor) q).getBlockF();
            header.put(name, q.save(out));
            header.put(name + ".qb", scales.save(out));
        }
    }

    private static boolean quantizes(String name, AbstractTensor tensor) {
        return tensor.dims() == 2 && !name.contains("embed_tokens");
    }

    /**
     * Identifies the source weights by file names, sizes and modification times. Whole seconds: image layers and
     * tar archives keep no more, and a model copied into a container image must still match its Q4 copy.
     */
    private static String stampOf(Path source) {
        try (Stream<Path> files = Files.list(source)) {
            StringBuilder stamp = new StringBuilder("v3\n");
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("model")).sorted().toList()) {
                stamp.append(f.getFileName()).append(' ').append(Files.size(f)).append(' ')
                        .append(Files.getLastModifiedTime(f).to(TimeUnit.SECONDS)).append('\n');
            }
            return stamp.toString();
        } catch (IOException e) {
            throw new ModelUnavailableException("Cannot list " + source + ": " + e.getMessage(), e);
        }
    }
}
