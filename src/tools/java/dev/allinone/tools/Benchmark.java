package dev.allinone.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.KvStats;
import dev.allinone.engine.Generation;
import dev.allinone.engine.GenerationFuture;
import dev.allinone.engine.GenerationOptions;
import dev.allinone.engine.GenerationResult;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.kv.KvCacheType;
import dev.allinone.engine.kv.KvLayout;
import dev.allinone.engine.model.Transformer;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.json.JsonConstraint;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Measures the engine on a full-size checkpoint of a supported model's shape (generated if absent: Qwen1.5-0.5B-Chat's
 * by default, {@code --shape qwen2.5-0.5b} or {@code qwen3-0.6b} for the others) as the service runs it
 * (warm-up and pinned task prompts before the first request): load time, the first requests after readiness,
 * sentiment latency, prompt processing speed, chat time to first token and decode speed, a six-turn conversation
 * turn by turn, four clients at once, KV memory and the resident size after many conversations. Prints a table and
 * writes target/benchmark.json. Figures are medians over warm runs.
 *
 * <pre>usage: Benchmark [--shape qwen1.5-0.5b|qwen2.5-0.5b|qwen3-0.6b] [--model DIR] [--weights AS_STORED|Q4|Q8] [--kernels auto|avx512-vnni|avx-vnni|avx2|neon-dotprod|neon|java]
 *                  [--threads N] [--runs N] [--decode-tokens N]
 *                  [--kv-cache-mib N] [--kv-cache-type F16|Q8] [--memory-conversations N]   (20 one after another, then 4 at once; 0 = skip)
 *                  [--only json]   (after the warm-up, only decode with and without a JSON schema)</pre>
 */
public final class Benchmark {

    private static final List<String> SENTENCES = List.of(
            "刚拿到offer，超级开心！", "这破电脑又蓝屏了，气死我了", "今天的实验终于成功了，太棒了！",
            "今天被领导批评了，心情很低落……", "The movie was great, I loved every minute.", "My flight got cancelled again, awful day.",
            "你说得对，但我还是觉得不太行", "哈哈哈笑死我了，这也太离谱了吧");

    private Benchmark() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opts.put(args[i], args[i + 1]);
        }
        String shape = opts.getOrDefault("--shape", "qwen1.5-0.5b");
        CheckpointSpec spec = switch (shape) {
            case "qwen1.5-0.5b" -> CheckpointSpec.qwen15HalfB(1);
            case "qwen2.5-0.5b" -> CheckpointSpec.qwen25HalfB(1);
            case "qwen3-0.6b" -> CheckpointSpec.qwen3SixB(1);
            default -> throw new IllegalArgumentException("--shape is qwen1.5-0.5b, qwen2.5-0.5b or qwen3-0.6b, not " + shape);
        };
        Path model = Path.of(opts.getOrDefault("--model", "target/bench/" + shape + "-bf16"));
        WeightFormat weights = WeightFormat.valueOf(opts.getOrDefault("--weights", "Q4"));
        Kernels kernels = Kernels.valueOf(opts.getOrDefault("--kernels", "auto").toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
        int threads = Integer.parseInt(opts.getOrDefault("--threads", "0"));
        int runs = Integer.parseInt(opts.getOrDefault("--runs", "5"));
        int decodeTokens = Integer.parseInt(opts.getOrDefault("--decode-tokens", "128"));
        int memoryConversations = Integer.parseInt(opts.getOrDefault("--memory-conversations", "20"));
        long kvBytes = Long.parseLong(opts.getOrDefault("--kv-cache-mib", "192")) << 20;
        KvCacheType kvType = KvCacheType.valueOf(opts.getOrDefault("--kv-cache-type", "F16"));
        int streams = Integer.parseInt(opts.getOrDefault("--streams", "8"));

        if (!Files.exists(model.resolve("model.safetensors"))) {
            System.out.println("Generating a full-size " + shape + "-shaped checkpoint in " + model + " ...");
            CheckpointGenerator.write(spec, model);
        }
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("machine", machine());
        report.put("model", model.toString());
        report.put("shape", shape);
        report.put("weights", weights.name());
        report.put("threads", threads == 0 ? "default" : threads);
        report.put("rssBeforeLoadMiB", rssMiB());

        long start = System.nanoTime();
        LoadedModel loaded = ModelLoader.load(new ModelOptions(model, weights, threads, 2048, null, kernels), SamplingOverrides.none());
        report.put("kernels", loaded.kernels().id());
        report.put("loadMillis", (System.nanoTime() - start) / 1_000_000);
        report.put("rssAfterLoadMiB", rssMiB());

        report.put("kvCacheType", kvType.name());
        KvLayout kvLayout = new Transformer(loaded.jlama()).kvLayout(InferenceEngine.KV_BLOCK_TOKENS, kvType);
        report.put("kvTokensInBudget", kvBytes / kvLayout.blockBytes() * kvLayout.blockTokens());
        try (InferenceEngine engine = new InferenceEngine(loaded, new InferenceEngine.Limits(64, 600_000, kvBytes, 0, 8, kvType))) {
            long warm = System.nanoTime();
            // What the service's TaskPromptWarmUp does: both task prompts pinned together (restored from their files where
            // an earlier run wrote them) before readiness, then a scoring and a short reply through them, together, after
            // it; the rows below are measured once both are done, as the service's tests measure once it reports warm.
            String system = resource("prompts/sentiment.txt");
            String chatSystem = resource("prompts/chat.txt");
            var sentimentPin = engine.pinPrefix(encode(loaded, system, null));
            var chatPin = engine.pinPrefix(encode(loaded, chatSystem, null));
            sentimentPin.get(10, TimeUnit.MINUTES);
            chatPin.get(10, TimeUnit.MINUTES);
            var scored = engine.scoreLabels(encode(loaded, system, "刚拿到offer，超级开心！"), List.of("正面", "负面"));
            generate(engine, encode(loaded, chatSystem, "刚拿到offer，超级开心！"), new SamplingParams(0f, 1, 1f, 1f, 4));
            scored.get(10, TimeUnit.MINUTES);
            report.put("warmUpMillis", (System.nanoTime() - warm) / 1_000_000);
            report.put("firstSentimentAfterReadyMillis", round(timeScore(engine, encode(loaded, system, "第一次来这家店，服务真不错"))));
            SamplingParams greedy = new SamplingParams(0f, 1, 1f, 1f, decodeTokens);
            if ("json".equals(opts.get("--only"))) { // the JSON-schema decode rows alone
                jsonDecode(engine, loaded, chatSystem, greedy, runs, report);
                print(report);
                System.exit(0);
            }
            report.put("firstChatTokenAfterReadyMillis",
                    generate(engine, encode(loaded, chatSystem, "第一次用这个服务，有点紧张"), greedy.withMaxNewTokens(1)).firstTokenMillis());

            List<int[]> prompts = new ArrayList<>();
            for (int r = 0; r < runs; r++) {
                for (String sentence : SENTENCES) {
                    prompts.add(encode(loaded, system, "(" + r + ") " + sentence)); // unique right after the system prompt
                }
            }
            report.put("sentimentPromptTokens", prompts.stream().mapToInt(p -> p.length).summaryStatistics().toString());
            report.put("systemPrefixTokens", encode(loaded, system, null).length);
            report.put("sentimentMillis", latencies(engine, prompts));
            for (int tokens : List.of(128, 512)) {
                List<Double> rates = new ArrayList<>();
                for (int r = 0; r < runs; r++) {
                    int[] prompt = new java.util.Random(tokens * 31L + r).ints(tokens, 0, 151_000).toArray();
                    rates.add(tokens * 1000.0 / timeScore(engine, prompt));
                }
                report.put("prefill" + tokens + "TokensPerSecond", median(rates));
            }
            String longText = longText(loaded, 760);
            List<Double> longMillis = new ArrayList<>();
            for (int r = 0; r < runs; r++) {
                longMillis.add(timeScore(engine, encode(loaded, system, r + longText)));
            }
            report.put("sentiment760TokenTextMillis", median(longMillis));

            int[] chatPrompt = encode(loaded, chatSystem, SENTENCES.getFirst());
            List<Double> ttft = new ArrayList<>();
            List<Double> decode = new ArrayList<>();
            for (int i = 0; i < Math.max(1, runs / 2); i++) {
                GenerationResult r = generate(engine, encode(loaded, chatSystem, SENTENCES.get(i) + i), greedy);
                ttft.add((double) r.firstTokenMillis());
                if (r.generatedTokens() > 1) {
                    decode.add((r.generatedTokens() - 1) * 1000.0 / Math.max(1, r.totalMillis() - r.firstTokenMillis()));
                }
            }
            report.put("chatPromptTokens", chatPrompt.length);
            report.put("chatTimeToFirstTokenMillisMedian", median(ttft));
            report.put("decodeTokensPerSecondMedian", median(decode));
            report.put("decodeTokens", decodeTokens);
            jsonDecode(engine, loaded, chatSystem, greedy, runs, report);

            List<List<Double>> turns = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                turns.add(conversation(engine, loaded, chatSystem, c));
            }
            for (int t = 0; t < TURNS.size(); t++) {
                int turn = t;
                report.put("conversationTurn" + (t + 1) + "TimeToFirstTokenMillis", median(turns.stream().map(l -> l.get(turn)).toList()));
            }
            List<int[]> streamPrompts = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                streamPrompts.add(encode(loaded, chatSystem, SENTENCES.get(i % SENTENCES.size()) + " #" + i));
            }
            report.put("concurrentStreams", concurrentStreams(engine, streamPrompts, greedy));
            report.put("sentiment4ClientsNoChatMillis", fourClients(engine, prompts, null));
            report.put("sentiment4ClientsUnderChatLoadMillis", fourClients(engine, prompts, chatPrompt));
            report.put("kvAfterBenchmark", kvReport(engine));
            report.put("rssAfterBenchmarkMiB", rssMiB());
            if (memoryConversations > 0) {
                for (int c = 0; c < memoryConversations; c++) {
                    conversation(engine, loaded, chatSystem, 100 + c);
                }
                report.put("rssAfter" + memoryConversations + "SequentialConversationsMiB", rssMiB());
                List<Thread> clients = new ArrayList<>();
                List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
                for (int c = 0; c < 4; c++) {
                    int id = 1000 + c;
                    clients.add(Thread.ofPlatform().start(() -> {
                        try {
                            conversation(engine, loaded, chatSystem, id);
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    }));
                }
                for (Thread t : clients) {
                    t.join();
                }
                report.put("rssAfter4ConcurrentConversationsMiB", rssMiB());
                report.put("concurrentConversationFailures", failures.stream().map(Throwable::toString).toList());
                report.put("kvAfterConversations", kvReport(engine));
            }
        }
        print(report);
        Path out = Path.of("target", "benchmark.json");
        Files.createDirectories(out.getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), report);
        System.out.println("written " + out.toAbsolutePath());
        System.exit(0);
    }

    private static final List<String> TURNS = List.of("最近工作压力好大，每天都加班到很晚。", "老板还总是挑我的毛病，我都不知道该怎么办了。",
            "我在想要不要换一份工作，但又怕找不到更好的。", "你觉得我应该先跟老板谈谈吗？", "好的，我试试看。谢谢你一直听我说这些。",
            "对了，周末有什么放松的好办法吗？");

    /** Six turns of one conversation, replies capped at 128 tokens; returns each turn's time to the first token. */
    private static List<Double> conversation(InferenceEngine engine, LoadedModel model, String system, int id) throws Exception {
        List<ChatTemplate.Message> history = new ArrayList<>();
        history.add(new ChatTemplate.Message("system", system));
        List<Double> ttft = new ArrayList<>();
        for (String turn : TURNS) {
            history.add(new ChatTemplate.Message("user", (history.size() == 1 ? "(" + id + ") " : "") + turn));
            int[] prompt = model.template().encode(history, true, model.tokenizer());
            GenerationResult r = generate(engine, prompt, new SamplingParams(0f, 1, 1f, 1f, 128));
            ttft.add((double) r.firstTokenMillis());
            history.add(new ChatTemplate.Message("assistant", r.text()));
        }
        return ttft;
    }

    private static Map<String, Object> kvReport(InferenceEngine engine) {
        KvStats kv = engine.kvStats();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("inUseMiB", kv.bytesInUse() >> 20);
        m.put("budgetMiB", kv.budgetBytes() >> 20);
        m.put("cachedPrefixes", kv.cachedPrefixes());
        m.put("hits", kv.hits());
        m.put("reusedTokens", kv.reusedTokens());
        m.put("evictions", kv.evictions());
        return m;
    }

    /** A text of about {@code tokens} tokens made of the benchmark's sentences. */
    private static String longText(LoadedModel model, int tokens) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; model.tokenizer().encode(text.toString()).length < tokens; i++) {
            text.append(SENTENCES.get(i % SENTENCES.size()));
        }
        return text.toString();
    }

    static int[] encode(LoadedModel model, String system, String user) {
        List<ChatTemplate.Message> messages = new ArrayList<>();
        messages.add(new ChatTemplate.Message("system", system));
        if (user != null) {
            messages.add(new ChatTemplate.Message("user", user));
        }
        return model.template().encode(messages, user != null, model.tokenizer());
    }

    private static Map<String, Object> latencies(InferenceEngine engine, List<int[]> prompts) throws Exception {
        List<Double> millis = new ArrayList<>();
        for (int[] p : prompts) {
            millis.add(timeScore(engine, p));
        }
        return percentiles(millis);
    }

    private static Map<String, Object> percentiles(List<Double> millis) {
        double[] sorted = millis.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", sorted.length);
        m.put("p50", round(percentile(sorted, 0.50)));
        m.put("p95", round(percentile(sorted, 0.95)));
        m.put("max", round(sorted[sorted.length - 1]));
        return m;
    }

    /** 4 clients scoring sentences back to back (5 each), while one chat reply streams if {@code chatPrompt} is given. */
    private static Map<String, Object> fourClients(InferenceEngine engine, List<int[]> prompts, int[] chatPrompt) throws Exception {
        GenerationFuture chat = new GenerationFuture();
        Generation reply = chatPrompt == null ? null
                : engine.generate(chatPrompt, new SamplingParams(0f, 1, 1f, 1f, 1500), chat);
        List<Double> millis = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            int client = c;
            clients.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 5; i++) {
                    try {
                        millis.add(timeScore(engine, prompts.get((client * 5 + i) % prompts.size())));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            }));
        }
        for (Thread t : clients) {
            t.join();
        }
        boolean chatStillStreaming = reply != null && !chat.result().isDone();
        if (reply != null) {
            reply.cancel();
            chat.result().get(10, TimeUnit.MINUTES);
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("clients", 4);
        m.put("chatStreamedThroughout", chatStillStreaming);
        m.putAll(percentiles(millis));
        return m;
    }

    /** Replies to all prompts streaming at once: aggregate and per-stream decode rates, time to first token. */
    private static Map<String, Object> concurrentStreams(InferenceEngine engine, List<int[]> prompts, SamplingParams params) throws Exception {
        long start = System.nanoTime();
        List<GenerationFuture> replies = new ArrayList<>();
        for (int[] prompt : prompts) {
            GenerationFuture f = new GenerationFuture();
            engine.generate(prompt, params, f);
            replies.add(f);
        }
        List<Double> ttft = new ArrayList<>();
        List<Double> perStream = new ArrayList<>();
        long tokens = 0;
        for (GenerationFuture f : replies) {
            GenerationResult r = f.result().get(10, TimeUnit.MINUTES);
            tokens += r.generatedTokens();
            ttft.add((double) r.firstTokenMillis());
            perStream.add((r.generatedTokens() - 1) * 1000.0 / Math.max(1, r.totalMillis() - r.firstTokenMillis()));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("streams", prompts.size());
        m.put("aggregateTokensPerSecond", round(tokens / seconds));
        m.put("perStreamTokensPerSecondMedian", median(perStream));
        m.put("timeToFirstTokenMillis", percentiles(ttft));
        return m;
    }

    static double timeScore(InferenceEngine engine, int[] prompt) throws Exception {
        long t = System.nanoTime();
        engine.scoreLabels(prompt, List.of("正面", "负面")).get(10, TimeUnit.MINUTES);
        return (System.nanoTime() - t) / 1e6;
    }

    static GenerationResult generate(InferenceEngine engine, int[] prompt, SamplingParams params) throws Exception {
        return generate(engine, prompt, params, GenerationOptions.none());
    }

    private static GenerationResult generate(InferenceEngine engine, int[] prompt, SamplingParams params, GenerationOptions options)
            throws Exception {
        GenerationFuture done = new GenerationFuture();
        engine.generate(prompt, params, options, done);
        return done.result().get(10, TimeUnit.MINUTES);
    }

    /** An answer a program parses: mostly free text in bounded strings, as an extraction or a summary writes. */
    static final String BENCH_SCHEMA = """
            {"type":"object","properties":{
              "summary":{"type":"string","maxLength":200},
              "mood":{"type":"string","enum":["positive","negative","neutral"]},
              "keywords":{"type":"array","maxItems":5,"items":{"type":"string","maxLength":24}},
              "confidence":{"type":"integer","minimum":0,"maximum":100}},
             "required":["summary","mood","keywords","confidence"],"additionalProperties":false}""";

    /**
     * Decode speed with a JSON schema against without, one stream, greedy, on the same prompts: the first constrained
     * reply (its states' token masks computed as they are met) apart, then the median of the others (masks cached).
     */
    private static void jsonDecode(InferenceEngine engine, LoadedModel loaded, String chatSystem, SamplingParams greedy, int runs,
            Map<String, Object> report) throws Exception {
        JsonConstraint schema = JsonConstraint.forSchema(new ObjectMapper().readTree(BENCH_SCHEMA));
        GenerationOptions constrained = GenerationOptions.none().withJson(schema);
        List<Double> free = new ArrayList<>();
        List<Double> json = new ArrayList<>();
        for (int i = 0; i <= runs; i++) {
            int[] prompt = encode(loaded, chatSystem, "用 JSON 总结：" + SENTENCES.get(i % SENTENCES.size()) + " #" + i);
            GenerationResult withSchema = generate(engine, prompt, greedy, constrained);
            if (i == 0) {
                report.put("decodeJsonSchemaFirstReplyTokensPerSecond", round(decodeRate(withSchema)));
                continue;
            }
            json.add(decodeRate(withSchema));
            free.add(decodeRate(generate(engine, prompt, greedy)));
        }
        report.put("decodeFreeSamePromptsTokensPerSecondMedian", median(free));
        report.put("decodeJsonSchemaTokensPerSecondMedian", median(json));
        report.put("decodeJsonSchemaOverFree", round(median(json) / median(free)));
    }

    private static double decodeRate(GenerationResult r) {
        return (r.generatedTokens() - 1) * 1000.0 / Math.max(1, r.totalMillis() - r.firstTokenMillis());
    }

    static double percentile(double[] sorted, double p) {
        int index = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    static double median(List<Double> values) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return round(sorted.length % 2 == 1 ? sorted[sorted.length / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2);
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    static long rssMiB() {
        return rssMiB("self");
    }

    /** Resident set size of a process ("self" or a pid) in MiB, -1 if unknown. */
    static long rssMiB(String pid) {
        if (pid == null) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }

    static Map<String, Object> machine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cores", Runtime.getRuntime().availableProcessors());
        m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        try {
            List<String> cpu = Files.readAllLines(Path.of("/proc/cpuinfo"));
            cpu.stream().filter(l -> l.startsWith("model name")).findFirst().ifPresent(l -> m.put("cpu", l.substring(l.indexOf(':') + 1).trim()));
            cpu.stream().filter(l -> l.startsWith("flags")).findFirst().ifPresent(l -> m.put("simd",
                    Arrays.stream(l.substring(l.indexOf(':') + 1).trim().split(" "))
                            .filter(f -> f.startsWith("avx") || f.equals("fma") || f.startsWith("amx")).sorted().toList()));
        } catch (IOException e) {
            m.put("cpu", "unknown");
        }
        m.put("preferredVectorBits", jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize());
        return m;
    }

    static String resource(String name) throws IOException {
        try (InputStream in = Benchmark.class.getClassLoader().getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static void print(Map<String, Object> report) {
        System.out.println();
        System.out.println("| metric | value |");
        System.out.println("|---|---|");
        report.forEach((k, v) -> System.out.println("| " + k + " | " + v + " |"));
        System.out.println();
    }
}
