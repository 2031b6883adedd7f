package dev.allinone.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Qwen's byte-level BPE tokenizer, producing exactly the ids Hugging Face's {@code tokenizers} gives for a
 * Qwen2/Qwen1.5 {@code tokenizer.json}: added-token split (only where asked), NFC, the Qwen split regex, the
 * byte-level alphabet, then rank-ordered merges. No BOS is ever added. Immutable and thread-safe.
 */
public final class QwenTokenizer {

    /** Qwen's pre-tokenizer regex; {@code \s} must be Unicode whitespace as in Hugging Face's Oniguruma. */
    private static final Pattern SPLIT = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static final int WORD_CACHE_LIMIT = 65_536;

    private final String[] idToToken;
    /** (left id, right id) packed in a long → (rank, merged id) packed in a long. */
    private final Map<Long, Long> merges;
    private final Map<String, Integer> specialTokens;
    private final Pattern specialTokenPattern;
    private final int[] byteIds = new int[256];
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();

    private QwenTokenizer(Map<String, Integer> vocab, List<String[]> mergeList, Map<String, Integer> specialTokens) {
        this.specialTokens = Collections.unmodifiableMap(specialTokens);
        int size = 0;
        for (int id : vocab.values()) {
            size = Math.max(size, id + 1);
        }
        for (int id : specialTokens.values()) {
            size = Math.max(size, id + 1);
        }
        this.idToToken = new String[size];
        vocab.forEach((token, id) -> idToToken[id] = token);
        specialTokens.forEach((token, id) -> idToToken[id] = token);
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteLevel.charOf(b)));
            if (id == null) {
                throw new IllegalArgumentException("tokenizer.json is not byte-level: no token for byte " + b);
            }
            byteIds[b] = id;
        }
        this.merges = new HashMap<>(mergeList.size() * 2);
        for (int rank = 0; rank < mergeList.size(); rank++) {
            String[] pair = mergeList.get(rank);
            Integer left = vocab.get(pair[0]);
            Integer right = vocab.get(pair[1]);
            Integer merged = vocab.get(pair[0] + pair[1]);
            if (left == null || right == null || merged == null) {
                throw new IllegalArgumentException("tokenizer.json merge " + rank + " names unknown tokens: " + Arrays.toString(pair));
            }
            merges.putIfAbsent(pack(left, right), pack(rank, merged));
        }
        List<String> alternatives = specialTokens.keySet().stream()
                .sorted((a, b) -> b.length() - a.length())
                .map(Pattern::quote)
                .toList();
        this.specialTokenPattern = alternatives.isEmpty() ? null : Pattern.compile(String.join("|", alternatives));
    }

    /** Loads {@code tokenizer.json} from a Hugging Face model directory. */
    public static QwenTokenizer load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer.json");
        try {
            JsonNode root = new ObjectMapper().readTree(Files.readAllBytes(file));
            JsonNode model = root.path("model");
            if (!"BPE".equals(model.path("type").asText())) {
                throw new IllegalArgumentException(file + " is not a BPE tokenizer (model.type=" + model.path("type").asText() + ")");
            }
            Map<String, Integer> vocab = new HashMap<>(model.path("vocab").size() * 2);
            model.path("vocab").properties().forEach(e -> vocab.put(e.getKey(), e.getValue().asInt()));
            List<String[]> mergeList = new ArrayList<>(model.path("merges").size());
            for (JsonNode merge : model.path("merges")) {
                if (merge.isArray()) {
                    mergeList.add(new String[] {merge.get(0).asText(), merge.get(1).asText()});
                } else {
                    String text = merge.asText();
                    int space = text.indexOf(' ', 1);
                    mergeList.add(new String[] {text.substring(0, space), text.substring(space + 1)});
                }
            }
            Map<String, Integer> special = new LinkedHashMap<>();
            for (JsonNode added : root.path("added_tokens")) {
                special.put(added.path("content").asText(), added.path("id").asInt());
            }
            return new QwenTokenizer(vocab, mergeList, special);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Encodes text as plain text: special-token strings inside it are ordinary characters (no injection). */
    public int[] encode(String text) {
        IntList out = new IntList(text.length());
        encodeOrdinary(text, out);
        return out.toArray();
    }

    /** Encodes text in which special-token strings ({@code <|im_start|>} …) become their control ids. */
    public int[] encodeWithSpecialTokens(String text) {
        IntList out = new IntList(text.length());
        splitOnSpecialTokens(text, part -> encodeOrdinary(part, out), out::add);
        return out.toArray();
    }

    /**
     * Walks text in order, handing each run of ordinary text (possibly empty) to {@code onText} and the id of each
     * special-token string to {@code onSpecial}.
     */
    public void splitOnSpecialTokens(String text, Consumer<String> onText, IntConsumer onSpecial) {
        if (specialTokenPattern == null) {
            onText.accept(text);
            return;
        }
        Matcher m = specialTokenPattern.matcher(text);
        int last = 0;
        while (m.find()) {
            onText.accept(text.substring(last, m.start()));
            onSpecial.accept(specialTokens.get(m.group()));
            last = m.end();
        }
        onText.accept(text.substring(last));
    }

    private void encodeOrdinary(String text, IntList out) {
        if (text.isEmpty()) {
            return;
        }
        String normalized = Normalizer.normalize(text, Normalizer.Form.NFC);
        Matcher m = SPLIT.matcher(normalized);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) {
                encodeWord(normalized.substring(last, m.start()), out);
            }
            encodeWord(m.group(), out);
            last = m.end();
        }
        if (last < normalized.length()) {
            encodeWord(normalized.substring(last), out);
        }
    }

    private void encodeWord(String word, IntList out) {
        int[] ids = wordCache.get(word);
        if (ids == null) {
            ids = bpe(word.getBytes(StandardCharsets.UTF_8));
            if (wordCache.size() >= WORD_CACHE_LIMIT) {
                wordCache.clear();
            }
            wordCache.put(word, ids);
        }
        out.addAll(ids);
    }

    private int[] bpe(byte[] bytes) {
        int n = bytes.length;
        int[] symbols = new int[n];
        for (int i = 0; i < n; i++) {
            symbols[i] = byteIds[bytes[i] & 0xFF];
        }
        while (n > 1) {
            int bestRank = Integer.MAX_VALUE;
            int bestAt = -1;
            int bestMerged = -1;
            for (int i = 0; i + 1 < n; i++) {
                Long merge = merges.get(pack(symbols[i], symbols[i + 1]));
                if (merge != null && (int) (merge >>> 32) < bestRank) {
                    bestRank = (int) (merge >>> 32);
                    bestAt = i;
                    bestMerged = (int) (long) merge;
                }
            }
            if (bestAt < 0) {
                break;
            }
            symbols[bestAt] = bestMerged;
            System.arraycopy(symbols, bestAt + 2, symbols, bestAt + 1, n - bestAt - 2);
            n--;
        }
        return Arrays.copyOf(symbols, n);
    }

    /** Decodes ids to text, special tokens included; invalid UTF-8 becomes U+FFFD as in Hugging Face. */
    public String decode(int[] ids) {
        return new String(decodeBytes(ids, 0, ids.length, false), StandardCharsets.UTF_8);
    }

    /** The raw UTF-8 bytes that a run of ids stands for. */
    public byte[] decodeBytes(int[] ids, int from, int to, boolean skipSpecial) {
        ByteArrayOutputStream out = new ByteArrayOutputStream((to - from) * 4);
        for (int i = from; i < to; i++) {
            appendBytes(ids[i], skipSpecial, out);
        }
        return out.toByteArray();
    }

    void appendBytes(int id, boolean skipSpecial, ByteArrayOutputStream out) {
        String token = tokenText(id);
        if (isSpecial(id)) {
            if (!skipSpecial) {
                out.writeBytes(token.getBytes(StandardCharsets.UTF_8));
            }
        } else if (!ByteLevel.decodeInto(token, out)) {
            throw new IllegalStateException("Token " + id + " is not byte-level text");
        }
    }

    public String tokenText(int id) {
        if (id < 0 || id >= idToToken.length || idToToken[id] == null) {
            throw new IllegalArgumentException("Unknown token id " + id + " (vocabulary has " + idToToken.length + " ids)");
        }
        return idToToken[id];
    }

    /** The id of the single-byte token for {@code b}. */
    public int byteTokenId(byte b) {
        return byteIds[b & 0xFF];
    }

    public boolean isValidId(int id) {
        return id >= 0 && id < idToToken.length && idToToken[id] != null;
    }

    public boolean isSpecial(int id) {
        return isValidId(id) && specialTokens.containsKey(idToToken[id]);
    }

    /** The id of a special token such as {@code <|im_end|>}. */
    public int specialTokenId(String content) {
        Integer id = specialTokens.get(content);
        if (id == null) {
            throw new IllegalArgumentException("The tokenizer has no special token " + content);
        }
        return id;
    }

    public Map<String, Integer> specialTokens() {
        return specialTokens;
    }

    /** Number of ids the tokenizer knows (ordinary and special). */
    public int size() {
        return idToToken.length;
    }

    private static long pack(int high, int low) {
        return ((long) high << 32) | (low & 0xFFFFFFFFL);
    }

    private static final class IntList {
        private int[] data;
        private int size;

        IntList(int capacity) {
            data = new int[Math.max(8, capacity)];
        }

        void add(int v) {
            if (size == data.length) {
                data = Arrays.copyOf(data, size * 2);
            }
            data[size++] = v;
        }

        void addAll(int[] values) {
            if (size + values.length > data.length) {
                data = Arrays.copyOf(data, Math.max(size * 2, size + values.length));
            }
            System.arraycopy(values, 0, data, size, values.length);
            size += values.length;
        }

        int[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }
}
