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
import java.util.BitSet;
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
    /** An empty slot of the merge table: no pair packs to it (ids are never negative). */
    static final long NO_MERGE = -1L;

    /** Every token's text in UTF-8, one after the other; a token's text is made into a String when first asked for. */
    private final byte[] tokenBytes;
    /** Where each id's text starts in {@link #tokenBytes}; its length in {@link #tokenLength}, -1 for an unused id. */
    private final int[] tokenStart;
    private final int[] tokenLength;
    /** The texts made so far (a benign race: two threads may make equal strings). */
    private final String[] idToToken;
    /** Open addressing: (left id, right id) packed in a long → (rank, merged id) packed in a long; see {@link #merge}. */
    private final long[] mergeKeys;
    private final long[] mergeValues;
    private final Map<String, Integer> specialTokens;
    /** Ids whose text is an added token's (what {@link #isSpecial} answers). */
    private final BitSet special;
    private final Pattern specialTokenPattern;
    private final int[] byteIds;
    private final Map<String, int[]> wordCache = new ConcurrentHashMap<>();

    QwenTokenizer(byte[] tokenBytes, int[] tokenStart, int[] tokenLength, long[] mergeKeys, long[] mergeValues,
            Map<String, Integer> specialTokens, BitSet special, int[] byteIds) {
        if (Integer.bitCount(mergeKeys.length) != 1 || mergeValues.length != mergeKeys.length || tokenStart.length != tokenLength.length
                || byteIds.length != 256) {
            throw new IllegalArgumentException("Inconsistent tokenizer tables");
        }
        this.tokenBytes = tokenBytes;
        this.tokenStart = tokenStart;
        this.tokenLength = tokenLength;
        this.idToToken = new String[tokenStart.length];
        this.mergeKeys = mergeKeys;
        this.mergeValues = mergeValues;
        this.specialTokens = Collections.unmodifiableMap(specialTokens);
        this.special = special;
        this.byteIds = byteIds;
        List<String> alternatives = specialTokens.keySet().stream()
                .sorted((a, b) -> b.length() - a.length())
                .map(Pattern::quote)
                .toList();
        this.specialTokenPattern = alternatives.isEmpty() ? null : Pattern.compile(String.join("|", alternatives));
    }

    /** The tables of {@code tokenizer.json}'s vocabulary, merges (in rank order) and added tokens. */
    private static QwenTokenizer of(Map<String, Integer> vocab, List<String[]> mergeList, Map<String, Integer> specialTokens) {
        int size = 0;
        for (int id : vocab.values()) {
            size = Math.max(size, id + 1);
        }
        for (int id : specialTokens.values()) {
            size = Math.max(size, id + 1);
        }
        String[] texts = new String[size];
        vocab.forEach((token, id) -> texts[id] = token);
        specialTokens.forEach((token, id) -> texts[id] = token);
        int[] byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteLevel.charOf(b)));
            if (id == null) {
                throw new IllegalArgumentException("tokenizer.json is not byte-level: no token for byte " + b);
            }
            byteIds[b] = id;
        }
        int capacity = Integer.highestOneBit(Math.max(16, mergeList.size() + mergeList.size() / 2) * 2 - 1);
        long[] keys = new long[capacity];
        long[] values = new long[capacity];
        Arrays.fill(keys, NO_MERGE);
        for (int rank = 0; rank < mergeList.size(); rank++) {
            String[] pair = mergeList.get(rank);
            Integer left = vocab.get(pair[0]);
            Integer right = vocab.get(pair[1]);
            Integer merged = vocab.get(pair[0] + pair[1]);
            if (left == null || right == null || merged == null) {
                throw new IllegalArgumentException("tokenizer.json merge " + rank + " names unknown tokens: " + Arrays.toString(pair));
            }
            putIfAbsent(keys, values, pack(left, right), pack(rank, merged));
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(size * 8);
        int[] start = new int[size];
        int[] length = new int[size];
        BitSet special = new BitSet(size);
        for (int id = 0; id < size; id++) {
            if (texts[id] == null) {
                length[id] = -1;
                continue;
            }
            byte[] utf8 = texts[id].getBytes(StandardCharsets.UTF_8);
            start[id] = bytes.size();
            length[id] = utf8.length;
            bytes.writeBytes(utf8);
            special.set(id, specialTokens.containsKey(texts[id]));
        }
        return new QwenTokenizer(bytes.toByteArray(), start, length, keys, values, new LinkedHashMap<>(specialTokens), special, byteIds);
    }

    private static void putIfAbsent(long[] keys, long[] values, long key, long value) {
        int mask = keys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            if (keys[i] == key) {
                return;
            }
            if (keys[i] == NO_MERGE) {
                keys[i] = key;
                values[i] = value;
                return;
            }
        }
    }

    private static int slot(long key, int mask) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> 40) & mask;
    }

    /** (rank, merged id) packed in a long for the pair, or {@link #NO_MERGE}. */
    private long merge(int left, int right) {
        long key = pack(left, right);
        int mask = mergeKeys.length - 1;
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            long k = mergeKeys[i];
            if (k == key) {
                return mergeValues[i];
            }
            if (k == NO_MERGE) {
                return NO_MERGE;
            }
        }
    }

    /** Loads {@code tokenizer.json} from a Hugging Face model directory. */
    public static QwenTokenizer load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer.json");
        try {
            return parse(file, Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Loads the tokenizer of {@code modelDir} from its compiled form in {@code compiledDir} when that was made from
     * this very {@code tokenizer.json} (a few milliseconds, where parsing the JSON takes a second or more before the
     * JIT has compiled the parser); otherwise parses the JSON and writes the compiled form for the next start
     * ({@link CompiledTokenizer}: a file that does not check out is ignored and written anew, with a log line).
     */
    public static QwenTokenizer load(Path modelDir, Path compiledDir) {
        Path file = modelDir.resolve("tokenizer.json");
        try {
            byte[] json = Files.readAllBytes(file);
            CompiledTokenizer compiled = new CompiledTokenizer(compiledDir, json);
            QwenTokenizer tokenizer = compiled.read();
            if (tokenizer == null) {
                tokenizer = parse(file, json);
                compiled.write(tokenizer);
            }
            return tokenizer;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static QwenTokenizer parse(Path file, byte[] json) throws IOException {
        JsonNode root = new ObjectMapper().readTree(json);
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
        return of(vocab, mergeList, special);
    }

    /** What {@link CompiledTokenizer} writes. */
    record Tables(byte[] tokenBytes, int[] tokenStart, int[] tokenLength, long[] mergeKeys, long[] mergeValues,
            Map<String, Integer> specialTokens, BitSet special, int[] byteIds) {
    }

    Tables tables() {
        return new Tables(tokenBytes, tokenStart, tokenLength, mergeKeys, mergeValues, specialTokens, special, byteIds);
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
                long merge = merge(symbols[i], symbols[i + 1]);
                if (merge != NO_MERGE && (int) (merge >>> 32) < bestRank) {
                    bestRank = (int) (merge >>> 32);
                    bestAt = i;
                    bestMerged = (int) merge;
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
        if (!isValidId(id)) {
            throw new IllegalArgumentException("Unknown token id " + id + " (vocabulary has " + idToToken.length + " ids)");
        }
        String text = idToToken[id];
        if (text == null) {
            text = new String(tokenBytes, tokenStart[id], tokenLength[id], StandardCharsets.UTF_8);
            idToToken[id] = text;
        }
        return text;
    }

    /** The id of the single-byte token for {@code b}. */
    public int byteTokenId(byte b) {
        return byteIds[b & 0xFF];
    }

    public boolean isValidId(int id) {
        return id >= 0 && id < tokenLength.length && tokenLength[id] >= 0;
    }

    public boolean isSpecial(int id) {
        return isValidId(id) && special.get(id);
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
