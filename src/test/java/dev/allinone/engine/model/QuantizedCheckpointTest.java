package dev.allinone.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.allinone.engine.TestCheckpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Q4 copy is written once and reused for the same weights, also after a copy that keeps only whole seconds. */
class QuantizedCheckpointTest {

    @Test
    void reusedForTheSameWeightsEvenWhenACopyKeptOnlyWholeSeconds(@TempDir Path tmp) throws Exception {
        Path original = copy(TestCheckpoints.tinyRandom(), tmp.resolve("model"), false);
        Path q4 = QuantizedCheckpoint.ensure(original, tmp.resolve("model-Q4"));
        FileTime written = Files.getLastModifiedTime(q4.resolve("model.safetensors"));

        // An image layer or a tar archive keeps modification times in whole seconds.
        Path copied = copy(original, tmp.resolve("copied"), true);
        QuantizedCheckpoint.ensure(copied, q4);
        assertEquals(written, Files.getLastModifiedTime(q4.resolve("model.safetensors")), "reused, not rewritten");

        Files.setLastModifiedTime(copied.resolve("model.safetensors"), FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        QuantizedCheckpoint.ensure(copied, q4);
        assertNotEquals(written, Files.getLastModifiedTime(q4.resolve("model.safetensors")), "changed weights: rewritten");
    }

    private static Path copy(Path from, Path to, boolean wholeSeconds) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                Path target = to.resolve(f.getFileName());
                Files.copy(f, target);
                FileTime time = Files.getLastModifiedTime(f);
                Files.setLastModifiedTime(target, wholeSeconds ? FileTime.from(time.to(TimeUnit.SECONDS), TimeUnit.SECONDS) : time);
            }
        }
        return to;
    }
}
