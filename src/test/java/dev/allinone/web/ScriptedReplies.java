package dev.allinone.web;

import dev.allinone.engine.TestModelFiles;
import dev.allinone.engine.tokenizer.QwenTokenizer;
import dev.allinone.tools.CheckpointGenerator;
import dev.allinone.tools.CheckpointSpec;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * Tiny generated checkpoints scripted to answer any chat prompt with a given reply, for the page's Markdown tests.
 * A script maps each token to the next, so no token may occur twice in a reply (nor the "\n" that starts it): each
 * reply is given as pieces, encoded one by one, chosen so that every token differs (line breaks are " \n\n",
 * "\t\n", "  \n" …; the second list item is "2)", as "." is taken). Checked when the checkpoint is made.
 */
final class ScriptedReplies {

    /** A list, bold text, a fenced code block and a table. "2)" after "1." starts a second list, at 2. */
    static final List<String> MARKDOWN = List.of("好的，给你两点建议：\n1. **早睡**\n2) 多喝水 \n\n```python\t\nprint(\"加油\")\n```\n\n项目 | 次数",
            "  \n", "-", "|-", "   \n", "跑步|5");

    /** A javascript: link, a data: image, a data: autolink, raw script. */
    static final List<String> HOSTILE = List.of("点[这里](javascript:window.__pwned=1)，", "看![图]", "(data:image/gif,x)",
            "和<data:text/html,hi>", "<script>alert(2);");

    static String text(List<String> pieces) {
        return String.join("", pieces);
    }

    private ScriptedReplies() {
    }

    static synchronized Path checkpoint(String name, List<String> pieces) {
        QwenTokenizer tokenizer = QwenTokenizer.load(TestModelFiles.qwenTokenizerDir());
        int[] reply = pieces.stream().flatMapToInt(p -> IntStream.of(tokenizer.encode(p))).toArray();
        int start = tokenizer.encode("\n")[0];
        Set<Integer> seen = new HashSet<>(Set.of(start));
        for (int id : reply) {
            if (!seen.add(id)) {
                throw new IllegalArgumentException("Token " + id + " (" + tokenizer.decode(new int[] {id}) + ") occurs twice in " + pieces);
            }
        }
        if (!tokenizer.decode(reply).equals(text(pieces))) {
            throw new IllegalStateException("The tokens do not decode to the reply: " + tokenizer.decode(reply));
        }
        CheckpointSpec spec = CheckpointSpec.tiny(31).untied().scripted(start, reply, tokenizer.specialTokenId("<|im_end|>"));
        Path dir = Path.of("target", "test-checkpoints", name);
        Path marker = dir.resolve(".complete-" + Integer.toHexString(Arrays.hashCode(reply)));
        try {
            if (!Files.exists(marker)) {
                CheckpointGenerator.write(spec, dir);
                Files.createFile(marker);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return dir.toAbsolutePath();
    }

    /** The service on a checkpoint that replies {@link #MARKDOWN}. */
    public static class MarkdownModel implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", checkpoint("web-markdown", MARKDOWN).toString());
        }
    }

    /** The service on a checkpoint that replies {@link #HOSTILE}. */
    public static class HostileModel implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("allinone.model.path", checkpoint("web-hostile", HOSTILE).toString());
        }
    }
}
