package dev.allinone.engine;

import dev.allinone.engine.tokenizer.QwenTokenizer;
import dev.allinone.tools.CheckpointGenerator;
import dev.allinone.tools.CheckpointSpec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;

/** Generated checkpoints shared by the tests, written once under target/test-checkpoints. */
public final class TestCheckpoints {

    /** What the scripted model answers to any chat prompt (its last prompt token is the "\n" after "assistant"). */
    public static final String SCRIPTED_REPLY = "正面太棒了，恭喜你😄！";

    private static final Path ROOT = Path.of("target", "test-checkpoints");

    private TestCheckpoints() {
    }

    /** Tiny, tied embeddings, seeded random weights. */
    public static synchronized Path tinyRandom() {
        return ensure("tiny-random", CheckpointSpec.tiny(7));
    }

    /** {@link CheckpointSpec#smallAligned}: at Q4, the full-size model's kernels. */
    public static synchronized Path smallAligned() {
        return ensure("small-aligned", CheckpointSpec.smallAligned(5));
    }

    /** Tiny, untied, seeded random weights: the golden-logit test's tiny checkpoint (src/test/resources/golden). */
    public static final CheckpointSpec GOLDEN_TINY = CheckpointSpec.tiny(23).untied();

    /** {@link CheckpointSpec#smallGrouped}: grouped KV heads on the production kernel path (8-bit activations). */
    public static final CheckpointSpec SMALL_GROUPED = CheckpointSpec.smallGrouped(29);

    /** {@link CheckpointSpec#tinyQwen3}, untied: the golden tiny Qwen3 (Java kernels, per-head q/k norms, head size ≠ hidden / heads). */
    public static final CheckpointSpec GOLDEN_TINY_QWEN3 = CheckpointSpec.tinyQwen3(31).untied();

    /** {@link CheckpointSpec#smallQwen3}: Qwen3 with 128-wide heads on the production kernel path. */
    public static final CheckpointSpec SMALL_QWEN3 = CheckpointSpec.smallQwen3(37);

    /** {@link CheckpointSpec#smallQwen25}: Qwen2.5's row lengths (not whole vectors of blocks) and 6 query heads per KV head. */
    public static final CheckpointSpec SMALL_QWEN25 = CheckpointSpec.smallQwen25(41);

    /**
     * {@link CheckpointSpec#smallGrouped} with weights of std 0.4 instead of 0.02: a peaked next-token distribution (the
     * top token's probability mostly above 0.5), so a format's error shows as changed top tokens and probabilities.
     */
    public static final CheckpointSpec PEAKED = CheckpointSpec.smallGrouped(43).peaked(0.4);

    public static synchronized Path peaked() {
        return ensure("peaked", PEAKED);
    }

    public static synchronized Path goldenTinyQwen3() {
        return ensure("golden-tiny-qwen3", GOLDEN_TINY_QWEN3);
    }

    public static synchronized Path smallQwen3() {
        return ensure("small-qwen3", SMALL_QWEN3);
    }

    public static synchronized Path smallQwen25() {
        return ensure("small-qwen25", SMALL_QWEN25);
    }

    public static synchronized Path goldenTiny() {
        return ensure("golden-tiny", GOLDEN_TINY);
    }

    public static synchronized Path smallGrouped() {
        return ensure("small-grouped", SMALL_GROUPED);
    }

    /**
     * Tiny, untied, scripted so that after a prompt it replies {@link #SCRIPTED_REPLY} then stops: its first token
     * is 正面 (so sentiment scoring says POSITIVE), and the emoji comes as four single-byte tokens, so streaming
     * must hold back partial UTF-8.
     */
    public static synchronized Path tinyScripted() {
        QwenTokenizer tokenizer = QwenTokenizer.load(TestModelFiles.qwenTokenizerDir());
        int[] head = tokenizer.encode("正面太棒了，恭喜你");
        int[] emoji = bytesAsTokens(tokenizer, "😄");
        int[] tail = tokenizer.encode("！");
        int[] reply = IntStream.concat(IntStream.concat(IntStream.of(head), IntStream.of(emoji)), IntStream.of(tail)).toArray();
        int newline = tokenizer.encode("\n")[0];
        CheckpointSpec spec = CheckpointSpec.tiny(11).untied().scripted(newline, reply, tokenizer.specialTokenId("<|im_end|>"));
        return ensure("tiny-scripted", spec);
    }

    /** What {@link #tinyQwen3Thinking()} thinks when thinking is on. */
    public static final String QWEN3_THOUGHT = "先心算一下";
    /** What {@link #tinyQwen3Thinking()} answers, thinking on or off. */
    public static final String QWEN3_ANSWER = "答案是四😄";

    /**
     * Tiny Qwen3 with Qwen3-0.6B's tokenizer files (its added tokens, its template with the thinking switch, its
     * generation config), untied, scripted as a Qwen3 answers: after {@code assistant\n} (thinking on) it writes
     * {@code <think>}{@link #QWEN3_THOUGHT}{@code </think>\n\n}{@link #QWEN3_ANSWER}; after the empty block the
     * template writes when thinking is off ({@code …</think>\n\n}) it writes the answer alone; then {@code <|im_end|>}.
     */
    public static synchronized Path tinyQwen3Thinking() {
        QwenTokenizer tokenizer = QwenTokenizer.load(goldenTinyQwen3());
        int open = tokenizer.specialTokenId("<think>");
        int close = tokenizer.specialTokenId("</think>");
        int blank = tokenizer.encode("\n\n")[0];
        int[] reply = java.util.stream.Stream.of(new int[] {open}, tokenizer.encode(QWEN3_THOUGHT), new int[] {close, blank},
                        tokenizer.encode("答案是四"), bytesAsTokens(tokenizer, "😄"))
                .flatMapToInt(IntStream::of).toArray();
        CheckpointSpec spec = CheckpointSpec.tinyQwen3(43).untied().scripted(tokenizer.encode("\n")[0], reply,
                tokenizer.specialTokenId("<|im_end|>"));
        return ensure("tiny-qwen3-thinking", spec);
    }

    /** The reply of {@link #tinyMarkup()}: markup that a page inserting model text as HTML would run. */
    public static final String MARKUP_REPLY = "<img src onerror=alert(document.domain)>粗体";

    /** Tiny, untied, scripted to reply {@link #MARKUP_REPLY} then stop. */
    public static synchronized Path tinyMarkup() {
        QwenTokenizer tokenizer = QwenTokenizer.load(TestModelFiles.qwenTokenizerDir());
        CheckpointSpec spec = CheckpointSpec.tiny(17).untied()
                .scripted(tokenizer.encode("\n")[0], tokenizer.encode(MARKUP_REPLY), tokenizer.specialTokenId("<|im_end|>"));
        return ensure("tiny-markup", spec);
    }

    /** Tiny, untied, scripted to answer 正面 and then repeat 哈哈，好的 until a limit or a cancel stops it. */
    public static synchronized Path tinyLooping() {
        QwenTokenizer tokenizer = QwenTokenizer.load(TestModelFiles.qwenTokenizerDir());
        int[] loop = IntStream.concat(IntStream.of(tokenizer.encode("正面")), IntStream.of(tokenizer.encode("哈哈，好的"))).toArray();
        // 32768 positions: a reply that must outlive a request timeout cannot end at the context's end first (the C
        // kernels decode the tiny model at several hundred tokens/s: 4096 positions took under 7 s).
        return ensure("tiny-looping", CheckpointSpec.tiny(13).withMaxPositions(32768).untied().looping(tokenizer.encode("\n")[0], loop));
    }

    /**
     * Tiny, untied, random, with the LM-head rows of the tokens of 饕餮 overwritten by NaN: weights corrupt in part,
     * as a damaged file can be. It loads; labels scored on other rows work; every reply's logits hold NaN.
     */
    public static synchronized Path tinyCorrupt() {
        return ensure("tiny-corrupt", CheckpointSpec.tiny(19).untied(), dir -> {
            int[] rows = QwenTokenizer.load(TestModelFiles.qwenTokenizerDir()).encode("饕餮");
            Safetensors.overwriteRows(dir.resolve("model.safetensors"), "lm_head.weight", rows, Float.NaN);
        });
    }

    private static int[] bytesAsTokens(QwenTokenizer tokenizer, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            ids[i] = tokenizer.byteTokenId(bytes[i]);
        }
        return ids;
    }

    /** What a checkpoint gets done to it after it is written, before it counts as complete. */
    private interface Finish {
        void apply(Path dir) throws IOException;
    }

    private static Path ensure(String name, CheckpointSpec spec) {
        return ensure(name, spec, dir -> { });
    }

    private static Path ensure(String name, CheckpointSpec spec, Finish finish) {
        Path dir = ROOT.resolve(name);
        Path marker = dir.resolve(".complete-" + Integer.toHexString(stableHash(spec)));
        try {
            if (!Files.exists(marker)) {
                CheckpointGenerator.write(spec, dir);
                finish.apply(dir);
                try (var old = Files.list(dir)) {
                    for (Path f : old.filter(f -> f.getFileName().toString().startsWith(".complete-")).toList()) {
                        Files.delete(f);
                    }
                }
                Files.createFile(marker);
            }
            return dir.toAbsolutePath();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The same in every JVM: a record's hashCode is not (an enum's hash is its identity, and an immutable map's
     * iteration order is salted per run), which regenerated every checkpoint in every test JVM.
     */
    /** Qwen3 checkpoints carry Qwen3's own tokenizer files since this was added: those written before are written anew. */
    private static final int QWEN3_TOKENIZER_FILES = 2;

    private static int stableHash(CheckpointSpec spec) {
        return java.util.List.of(spec.hidden(), spec.intermediate(), spec.layers(), spec.heads(), spec.kvHeads(), spec.vocab(),
                spec.maxPositions(), spec.tied(), String.valueOf(spec.dtype()), spec.seed(), new java.util.TreeMap<>(spec.nextToken()).toString(),
                spec.modelType(), spec.headDim())
                .toString().hashCode() + (spec.weightStd() == CheckpointSpec.INIT_STD ? 0 : Double.hashCode(spec.weightStd()))
                + (spec.modelType().equals(CheckpointSpec.QWEN3) ? QWEN3_TOKENIZER_FILES : 0);
    }
}
