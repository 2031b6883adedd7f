package dev.allinone.tools;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.allinone.engine.ChatTemplate;
import dev.allinone.engine.Generation;
import dev.allinone.engine.GenerationFuture;
import dev.allinone.engine.GenerationResult;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.LoadedModel;
import dev.allinone.engine.ModelLoader;
import dev.allinone.engine.ModelOptions;
import dev.allinone.engine.SamplingOverrides;
import dev.allinone.engine.SamplingParams;
import dev.allinone.engine.WeightFormat;

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
 * Measures the engine on a full-size Qwen1.5-0.5B-shaped checkpoint (generated if absent): load time, RSS,
 * sentiment latency with and without the system-prompt prefix cache, chat time-to-first-token and decode speed.
 * Prints a table and writes target/benchmark.json. Figures are medians over warm runs.
 *
 * <pre>usage: Benchmark [--model DIR] [--weights AS_STORED|Q4] [--threads N] [--runs N] [--decode-tokens N]
 *                  [--soak-requests N]   (continue to N requests and report RSS again)</pre>
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
        Path model = Path.of(opts.getOrDefault("--model", "target/bench/qwen1.5-0.5b-bf16"));
        WeightFormat weights = WeightFormat.valueOf(opts.getOrDefault("--weights", "AS_STORED"));
        int threads = Integer.parseInt(opts.getOrDefault("--threads", "0"));
        int runs = Integer.parseInt(opts.getOrDefault("--runs", "5"));
        int decodeTokens = Integer.parseInt(opts.getOrDefault("--decode-tokens", "128"));
        int soakRequests = Integer.parseInt(opts.getOrDefault("--soak-requests", "0"));

        if (!Files.exists(model.resolve("model.safetensors"))) {
            System.out.println("Generating a full-size Qwen1.5-0.5B-shaped checkpoint in " + model + " ...");
            CheckpointGenerator.write(CheckpointSpec.qwen15HalfB(1), model);
        }
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("machine", machine());
        report.put("model", model.toString());
        report.put("weights", weights.name());
        report.put("threads", threads == 0 ? "default" : threads);
        report.put("rssBeforeLoadMiB", rssMiB());

        long start = System.nanoTime();
        LoadedModel loaded = ModelLoader.load(new ModelOptions(model, weights, threads, 2048), SamplingOverrides.none());
        report.put("loadMillis", (System.nanoTime() - start) / 1_000_000);
        report.put("rssAfterLoadMiB", rssMiB());

        try (InferenceEngine engine = new InferenceEngine(loaded, new InferenceEngine.Limits(64, 600_000, 192L << 20, 0))) {
            String system = resource("prompts/sentiment.txt");
            int prefix = loaded.template().encode(List.of(new ChatTemplate.Message("system", system)), false, loaded.tokenizer()).length;
            List<int[]> prompts = new ArrayList<>();
            for (String s : SENTENCES) {
                prompts.add(loaded.template().encode(List.of(new ChatTemplate.Message("system", system), new ChatTemplate.Message("user", s)),
                        true, loaded.tokenizer()));
            }
            report.put("sentimentPromptTokens", prompts.stream().mapToInt(p -> p.length).summaryStatistics().toString());
            report.put("systemPrefixTokens", prefix);
            for (int[] p : prompts.subList(0, 2)) { // JIT warm-up
                score(engine, p, 0);
                score(engine, p, prefix);
            }
            report.put("sentimentNoPrefixCacheMillis", latencies(engine, prompts, 0, runs));
            report.put("sentimentPrefixCacheMillis", latencies(engine, prompts, prefix, runs));

            String chatSystem = resource("prompts/chat.txt");
            int[] chatPrompt = loaded.template().encode(List.of(new ChatTemplate.Message("system", chatSystem),
                    new ChatTemplate.Message("user", SENTENCES.getFirst())), true, loaded.tokenizer());
            int chatPrefix = loaded.template().encode(List.of(new ChatTemplate.Message("system", chatSystem)), false, loaded.tokenizer()).length;
            SamplingParams greedy = new SamplingParams(0f, 1, 1f, 1f, decodeTokens);
            List<Double> ttft = new ArrayList<>();
            List<Double> ttftCached = new ArrayList<>();
            List<Double> decode = new ArrayList<>();
            generate(engine, chatPrompt, chatPrefix, greedy.withMaxNewTokens(1)); // computes the chat prompt's prefix entry
            for (int i = 0; i < Math.max(1, runs / 2); i++) {
                GenerationResult r = generate(engine, chatPrompt, 0, greedy);
                ttft.add((double) r.firstTokenMillis());
                if (r.generatedTokens() > 1) {
                    decode.add((r.generatedTokens() - 1) * 1000.0 / Math.max(1, r.totalMillis() - r.firstTokenMillis()));
                }
                ttftCached.add((double) generate(engine, chatPrompt, chatPrefix, greedy.withMaxNewTokens(1)).firstTokenMillis());
            }
            report.put("chatPromptTokens", chatPrompt.length);
            report.put("chatTimeToFirstTokenMillisMedian", median(ttft));
            report.put("chatTimeToFirstTokenPrefixCacheMillisMedian", median(ttftCached));
            report.put("decodeTokensPerSecondMedian", median(decode));
            report.put("decodeTokens", decodeTokens);
            report.put("sentimentPrefixCache4ClientsNoChatMillis", fourClients(engine, prompts, prefix, null, 0));
            report.put("sentimentPrefixCacheUnderChatLoadMillis", fourClients(engine, prompts, prefix, chatPrompt, chatPrefix));
            int requests = 2 * runs * prompts.size() + 3 * Math.max(1, runs / 2) + 2 * 4 * 5 + 2;
            for (; requests < 100; requests++) {
                score(engine, prompts.get(requests % prompts.size()), prefix);
            }
            report.put("rssAfter100RequestsMiB", rssMiB());
            if (soakRequests > 100) {
                // Mixed traffic: every tenth request is a 32-token chat reply, the rest are scorings.
                for (; requests < soakRequests; requests++) {
                    if (requests % 10 == 0) {
                        generate(engine, chatPrompt, chatPrefix, greedy.withMaxNewTokens(32));
                    } else {
                        score(engine, prompts.get(requests % prompts.size()), prefix);
                    }
                }
                report.put("rssAfter" + soakRequests + "RequestsMiB", rssMiB());
            }
        }
        print(report);
        Path out = Path.of("target", "benchmark.json");
        Files.createDirectories(out.getParent());
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), report);
        System.out.println("written " + out.toAbsolutePath());
        System.exit(0);
    }

    private static Map<String, Object> latencies(InferenceEngine engine, List<int[]> prompts, int prefix, int runs) throws Exception {
        List<Double> millis = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            for (int[] p : prompts) {
                long t = System.nanoTime();
                score(engine, p, prefix);
                millis.add((System.nanoTime() - t) / 1e6);
            }
        }
        double[] sorted = millis.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", sorted.length);
        m.put("p50", round(percentile(sorted, 0.50)));
        m.put("p95", round(percentile(sorted, 0.95)));
        m.put("max", round(sorted[sorted.length - 1]));
        return m;
    }

    /** 4 clients scoring sentences back to back (5 each), while one chat reply streams if {@code chatPrompt} is given. */
    private static Map<String, Object> fourClients(InferenceEngine engine, List<int[]> prompts, int prefix, int[] chatPrompt,
            int chatPrefix) throws Exception {
        GenerationFuture chat = new GenerationFuture();
        Generation reply = chatPrompt == null ? null
                : engine.generate(chatPrompt, new SamplingParams(0f, 1, 1f, 1f, 1500), chat);
        List<Double> millis = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            int client = c;
            clients.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 5; i++) {
                    long t = System.nanoTime();
                    try {
                        score(engine, prompts.get((client + i) % prompts.size()), prefix);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    millis.add((System.nanoTime() - t) / 1e6);
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
        double[] sorted = millis.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("clients", 4);
        m.put("chatStreamedThroughout", chatStillStreaming);
        m.put("n", sorted.length);
        m.put("p50", round(percentile(sorted, 0.50)));
        m.put("p95", round(percentile(sorted, 0.95)));
        m.put("max", round(sorted[sorted.length - 1]));
        return m;
    }

    private static void score(InferenceEngine engine, int[] prompt, int prefix) throws Exception {
        engine.scoreLabels(prompt, List.of("正面", "负面")).get(10, TimeUnit.MINUTES);
    }

    private static GenerationResult generate(InferenceEngine engine, int[] prompt, int prefix, SamplingParams params) throws Exception {
        GenerationFuture done = new GenerationFuture();
        engine.generate(prompt, params, done);
        return done.result().get(10, TimeUnit.MINUTES);
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

    private static String resource(String name) throws IOException {
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
