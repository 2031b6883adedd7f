package dev.allinone.engine.files;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Files the engine computes from a model and keeps beside its quantized copy (kernel layout, tokenizer tables,
 * pinned prompts' KV): each is written to a temporary file and renamed into place, so a reader never sees half a file.
 */
public final class DerivedFiles {

    private DerivedFiles() {
    }

    /**
     * A temporary file beside {@code target}, readable by all as the Q4 copy's files are (createTempFile makes it
     * owner-only): another user, such as a container's, may start from this directory.
     */
    public static Path temporaryBeside(Path target) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".tmp");
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException notPosix) {
            // the file system's defaults apply
        }
        return tmp;
    }
}
