package dev.allinone.engine;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** Paths of the Qwen1.5 tokenizer files and configs copied into the test resources. */
public final class TestModelFiles {

    private TestModelFiles() {
    }

    public static Path qwenTokenizerDir() {
        return resource("qwen1.5");
    }

    public static Path resource(String name) {
        try {
            return Path.of(TestModelFiles.class.getClassLoader().getResource(name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
