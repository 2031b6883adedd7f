package dev.allinone.engine.model;

import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.safetensors.SafeTensorSupport;
import com.github.tjake.jlama.safetensors.TensorInfo;
import com.github.tjake.jlama.safetensors.WeightLoader;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;
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
 * A Q4 copy of a checkpoint, written once and reused by later starts. Jlama's load-time quantization leaves
 * the sharded projections in full precision and then fails on them, so the weight matrices are quantized here,
 * tensor by tensor, into a plain safetensors file that Jlama loads as Q4. The LM head is written as a Q4
 * {@code lm_head.weight} even for tied checkpoints (it is read whole for every generated token); the embedding
 * table, norms and biases stay as stored (the table is only looked up row by row).
 */
public final class Q4Checkpoint {

    private static final Logger LOG = Logger.getLogger(Q4Checkpoint.class);
    private static final List<String> COPIED_FILES = List.of("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json");
    private static final String STAMP = "allinone-q4.stamp";

    private Q4Checkpoint() {
    }

    /** Returns the Q4 directory for {@code source}, writing it first if it is absent or stale. */
    public static Path ensure(Path source, Path target) {
        String stamp = stampOf(source);
        try {
            if (Files.isRegularFile(target.resolve(STAMP)) && Files.readString(target.resolve(STAMP)).equals(stamp)) {
                return target;
            }
            long start = System.nanoTime();
            LOG.infof("Quantizing %s to Q4 into %s (once; later starts reuse it)", source, target);
            Files.createDirectories(target);
            for (String name : COPIED_FILES) {
                if (Files.isRegularFile(source.resolve(name))) {
                    Files.copy(source.resolve(name), target.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            writeWeights(source, target.resolve("model.safetensors"));
            Files.writeString(target.resolve(STAMP), stamp);
            LOG.infof("Q4 checkpoint written in %d ms", (System.nanoTime() - start) / 1_000_000);
            return target;
        } catch (IOException e) {
            throw new ModelUnavailableException("Cannot write the Q4 checkpoint to " + target + " (" + e.getMessage()
                    + "); set allinone.model.quantized-path to a writable directory", e);
        }
    }

    /**
     * What the Q4 copy in {@code q4Dir} is: its stamp (the source weights it was made from) and its weights file's
     * size and modification time (whole seconds, as {@link #stampOf}). Files derived from the copy at load (the
     * kernel layout, pinned prompts' KV) are valid only for this identity.
     */
    static String identity(Path q4Dir) throws IOException {
        Path weights = q4Dir.resolve("model.safetensors");
        return Files.readString(q4Dir.resolve(STAMP)) + "q4 " + Files.size(weights) + ' '
                + Files.getLastModifiedTime(weights).to(TimeUnit.SECONDS) + '\n';
    }

    private static void writeWeights(Path source, Path file) throws IOException {
        Path data = Files.createTempFile(file.getParent(), "q4", ".data");
        Map<String, TensorInfo> header = new LinkedHashMap<>();
        WeightLoader weights = SafeTensorSupport.loadWeights(source.toFile());
        try (FileChannel out = FileChannel.open(data, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (String name : weights.tensorInfoMap().keySet().stream().sorted().toList()) {
                try (AbstractTensor tensor = weights.load(name)) {
                    if (quantizes(name, tensor)) {
                        writeQ4(name, tensor, header, out);
                    } else {
                        header.put(name, tensor.save(out));
                    }
                }
            }
            if (!weights.isWeightPresent("lm_head.weight")) {
                try (AbstractTensor tied = weights.load("model.embed_tokens.weight")) {
                    writeQ4("lm_head.weight", tied, header, out);
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

    private static void writeQ4(String name, AbstractTensor tensor, Map<String, TensorInfo> header, FileChannel out) throws IOException {
        try (Q4ByteBufferTensor q4 = (Q4ByteBufferTensor) tensor.quantize(DType.Q4, true)) {
            header.put(name, q4.save(out));
            header.put(name + ".qb", q4.getBlockF().save(out));
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
