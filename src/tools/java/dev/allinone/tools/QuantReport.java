package dev.allinone.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.allinone.engine.GenerationResult;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.LabelScores;
import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.KvCacheType;
import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.model.Transformer;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.SamplingOverrides;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * The quantization report (as llama.cpp's {@code llama-perplexity --kl-divergence}): how far each weight format's
 * answers are from the weights as stored, on the user's own model and the labelled texts of {@code src/eval/}, beside
 * its speed and memory — one table to choose a format from.
 *
 * <p>For every text of each file (its task's system prompt from {@code src/main/resources/prompts/}, the text as the
 * user's turn): the next-token distribution at the end of the prompt, where the model starts its answer, and the
 * task's label as the service scores it. Per format: KL divergence of that distribution from the stored weights'
 * (mean and 99th percentile, nats), agreement of the top token, labels that differ from the stored weights' label,
 * then prompt (512 tokens) and decode (64 tokens) speed and the resident size once all of it ran (every weight
 * read at least once; the KV budget, 192 MiB, is reserved only as used). Each format runs in a child JVM of its
 * own, so the resident sizes are the format's alone; the stored weights run first and leave their
 * log-probabilities in the output directory for the others.
 *
 * <p>Rows are weight formats, optionally with the 8-bit KV cache ({@code Q4+KV8}: Q4 weights, keys and values in 8 bits).
 *
 * <pre>usage: QuantReport [--model DIR] [--formats AS_STORED,Q8,Q4,Q4+KV8] [--limit N (texts per file, 0 = all; default 40)]
 *                    [--runs N] [--out target/quant-report]</pre>
 * Run with {@code ./mvnw -q test-compile exec:exec@quant-report -Dquant-report.args="..."}.
 */
public final class QuantReport {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** The labelled files and their tasks (the file's name is the task's). */
    private static final List<String> TASKS = List.of("sentiment", "intent");
    private static final int PROMPT_TOKENS = 512;
    private static final int DECODE_TOKENS = 64;

    private QuantReport() {
    }

    /** A row of the report: a weight format and a KV cache type, written {@code Q4} or {@code Q4+KV8}. */
    record Variant(WeightFormat weights, KvCacheType kv) {

        static Variant parse(String text) {
            String[] parts = text.split("\\+KV", 2);
            KvCacheType kv = parts.length == 1 ? KvCacheType.F16 : switch (parts[1]) {
                case "8" -> KvCacheType.Q8;
                case "16" -> KvCacheType.F16;
                default -> throw new IllegalArgumentException("a row is WEIGHTS or WEIGHTS+KV8, not " + text);
            };
            return new Variant(WeightFormat.valueOf(parts[0]), kv);
        }

        boolean reference() {
            return weights == WeightFormat.AS_STORED && kv == KvCacheType.F16;
        }

        String file() {
            return toString().toLowerCase(java.util.Locale.ROOT).replace('+', '-');
        }

        @Override
        public String toString() {
            return weights + (kv == KvCacheType.F16 ? "" : "+KV8");
        }
    }

    /** One labelled text as the task's prompt. */
    record Example(String task, String text) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            opts.put(args[i], args[i + 1]);
        }
        Path model = Path.of(opts.getOrDefault("--model", "target/bench/qwen1.5-0.5b-bf16"));
        int limit = Integer.parseInt(opts.getOrDefault("--limit", "40"));
        int runs = Integer.parseInt(opts.getOrDefault("--runs", "3"));
        Path out = Path.of(opts.getOrDefault("--out", "target/quant-report"));
        if (opts.containsKey("--one")) {
            one(model, Variant.parse(opts.get("--one")), limit, runs, out);
            return;
        }
        if (!Files.exists(model.resolve("model.safetensors"))) {
            System.out.println("Generating a full-size qwen1.5-0.5b-shaped checkpoint in " + model + " ...");
            CheckpointGenerator.write(CheckpointSpec.qwen15HalfB(1), model);
        }
        List<Variant> formats = Arrays.stream(opts.getOrDefault("--formats", "AS_STORED,Q8,Q4,Q4+KV8").split(","))
                .map(Variant::parse).toList();
        Variant stored = new Variant(WeightFormat.AS_STORED, KvCacheType.F16);
        if (!formats.contains(stored)) {
            throw new IllegalArgumentException("--formats must include AS_STORED: the others are measured against it");
        }
        Files.createDirectories(out);
        List<Variant> order = new ArrayList<>(formats);
        order.remove(stored);
        order.addFirst(stored);
        Map<Variant, JsonNode> rows = new LinkedHashMap<>();
        for (Variant format : order) {
            List<String> command = new ArrayList<>();
            command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), QuantReport.class.getName(), "--model", model.toString(),
                    "--one", format.toString(), "--limit", Integer.toString(limit), "--runs", Integer.toString(runs), "--out", out.toString()));
            System.out.println("== " + format + " ==");
            Process child = new ProcessBuilder(command).inheritIO().start();
            if (child.waitFor() != 0) {
                throw new IllegalStateException(format + " failed (exit " + child.exitValue() + ")");
            }
            rows.put(format, JSON.readTree(out.resolve(format.file() + ".json").toFile()));
        }
        String table = table(model, rows);
        Files.writeString(out.resolve("report.md"), table, StandardCharsets.UTF_8);
        System.out.println(table);
    }

    private static String table(Path model, Map<Variant, JsonNode> rows) {
        JsonNode stored = rows.get(new Variant(WeightFormat.AS_STORED, KvCacheType.F16));
        StringBuilder t = new StringBuilder();
        t.append("Model ").append(model).append(", ").append(stored.path("examples").asInt()).append(" texts of src/eval/\n\n");
        t.append("| weights (+ 8-bit KV) | kernels | KL mean | KL p99 | top-1 agreement | label flips | prompt tok/s | decode tok/s | RSS MiB |\n");
        t.append("|---|---|---|---|---|---|---|---|---|\n");
        for (Map.Entry<Variant, JsonNode> e : rows.entrySet()) {
            JsonNode r = e.getValue();
            boolean reference = e.getKey().reference();
            t.append(String.format("| %s | %s | %s | %s | %s | %s | %.0f | %.1f | %d |%n", e.getKey(), r.path("kernels").asText(),
                    // Three significant digits: Q8's divergence is below 1e-4.
                    reference ? "0" : String.format("%.3g", r.path("klMean").asDouble()),
                    reference ? "0" : String.format("%.3g", r.path("klP99").asDouble()),
                    reference ? "100%" : String.format("%.1f%%", 100 * r.path("top1Agreement").asDouble()),
                    reference ? "—" : r.path("labelFlips").asInt() + " of " + r.path("examples").asInt(),
                    r.path("promptTokensPerSecond").asDouble(), r.path("decodeTokensPerSecond").asDouble(), r.path("rssAfterRunMiB").asLong()));
        }
        return t.toString();
    }

    /** One format, in this JVM: writes {@code <format>.json} (and, as stored, the log-probabilities) to {@code out}. */
    private static void one(Path model, Variant variant, int limit, int runs, Path out) throws Exception {
        WeightFormat format = variant.weights();
        List<Example> examples = examples(limit);
        Properties labelWords = new Properties();
        labelWords.load(new java.io.StringReader(Benchmark.resource("prompts/labels.properties")));
        Properties tasks = new Properties();
        tasks.load(new java.io.StringReader(Benchmark.resource("prompts/tasks.properties")));
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("weights", format.name());
        row.put("kvCacheType", variant.kv().name());
        row.put("examples", examples.size());
        row.put("rssBeforeLoadMiB", Benchmark.rssMiB());
        LoadedModel loaded = ModelLoader.load(new ModelOptions(model, format, 0, 2048, null, Kernels.AUTO), SamplingOverrides.none());
        row.put("kernels", loaded.kernels().id());
        row.put("rssAfterLoadMiB", Benchmark.rssMiB());
        int vocab = loaded.jlama().vocabularySize();
        // Each text as its task's prompt, encoded once for both passes below.
        Map<String, String> systems = new LinkedHashMap<>();
        for (String task : TASKS) {
            systems.put(task, Benchmark.resource("prompts/" + task + ".txt"));
        }
        List<int[]> prompts = examples.stream().map(e -> Benchmark.encode(loaded, systems.get(e.task()), e.text())).toList();

        // The next-token log-probabilities at each prompt's end, and the labels.
        Path storedFile = out.resolve("as_stored.logprobs");
        boolean reference = variant.reference();
        double[] kl = new double[examples.size()];
        int agree = 0;
        List<String> labels = new ArrayList<>();
        Transformer transformer = new Transformer(loaded.jlama());
        KvBlockPool pool = new KvBlockPool(transformer.kvLayout(InferenceEngine.KV_BLOCK_TOKENS, variant.kv()), 64L << 20);
        PrefixCache cache = new PrefixCache(pool);
        try (DataOutputStream write = reference ? new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(storedFile), 1 << 20)) : null;
                DataInputStream read = reference ? null : new DataInputStream(new BufferedInputStream(Files.newInputStream(storedFile), 1 << 20))) {
            float[] logits = new float[vocab];
            double[] logProbs = new double[vocab];
            for (int i = 0; i < examples.size(); i++) {
                int[] prompt = prompts.get(i);
                try (SequenceKv kv = cache.start(prompt, 0).sequence()) {
                    float[] normed = transformer.forward(List.of(new Transformer.Segment(prompt, 0, prompt.length, kv)))[0];
                    loaded.jlama().allLogits(normed, logits);
                }
                logSoftmax(logits, logProbs);
                if (reference) {
                    for (double l : logProbs) {
                        write.writeFloat((float) l);
                    }
                } else {
                    double divergence = 0;
                    int storedTop = 0;
                    double storedBest = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < vocab; v++) {
                        double p = read.readFloat();
                        if (p > storedBest) {
                            storedBest = p;
                            storedTop = v;
                        }
                        divergence += Math.exp(p) * (p - logProbs[v]);
                    }
                    kl[i] = Math.max(0, divergence);
                    agree += storedTop == argmax(logits) ? 1 : 0;
                }
            }
        }
        try (InferenceEngine engine = new InferenceEngine(loaded, new InferenceEngine.Limits(64, 600_000, 192L << 20, 0, 8, variant.kv()))) {
            for (int i = 0; i < examples.size(); i++) {
                Example example = examples.get(i);
                List<String> answers = List.of(tasks.getProperty(example.task() + ".labels").split(","));
                List<String> words = answers.stream().map(a -> labelWords.getProperty(example.task() + "." + a, a)).toList();
                LabelScores scores = engine.scoreLabels(prompts.get(i), words).get(10, TimeUnit.MINUTES);
                labels.add(answers.get(scores.bestIndex()));
            }
            List<Double> promptRates = new ArrayList<>();
            List<Double> decodeRates = new ArrayList<>();
            for (int r = 0; r < runs; r++) {
                int[] random = new java.util.Random(PROMPT_TOKENS * 31L + r).ints(PROMPT_TOKENS, 0, 151_000).toArray();
                promptRates.add(PROMPT_TOKENS * 1000.0 / Benchmark.timeScore(engine, random));
                GenerationResult g = Benchmark.generate(engine, Benchmark.encode(loaded, Benchmark.resource("prompts/chat.txt"), "讲个故事 " + r),
                        new SamplingParams(0f, 1, 1f, 1f, DECODE_TOKENS));
                if (g.generatedTokens() > 1) {
                    decodeRates.add((g.generatedTokens() - 1) * 1000.0 / Math.max(1, g.totalMillis() - g.firstTokenMillis()));
                }
            }
            row.put("promptTokensPerSecond", Benchmark.median(promptRates));
            row.put("decodeTokensPerSecond", Benchmark.median(decodeRates));
            row.put("rssAfterRunMiB", Benchmark.rssMiB());
        } // closing the engine closes the model
        Path labelFile = out.resolve("as_stored.labels");
        if (reference) {
            Files.write(labelFile, labels);
        } else {
            List<String> storedLabels = Files.readAllLines(labelFile);
            int flips = 0;
            for (int i = 0; i < labels.size(); i++) {
                flips += labels.get(i).equals(storedLabels.get(i)) ? 0 : 1;
            }
            double[] sorted = kl.clone();
            Arrays.sort(sorted);
            row.put("klMean", Arrays.stream(kl).average().orElse(0));
            row.put("klP99", Benchmark.percentile(sorted, 0.99));
            row.put("top1Agreement", agree / (double) examples.size());
            row.put("labelFlips", flips);
        }
        row.put("machine", Benchmark.machine());
        JSON.writeValue(out.resolve(variant.file() + ".json").toFile(), row);
    }

    private static List<Example> examples(int limit) throws IOException {
        List<Example> examples = new ArrayList<>();
        for (String task : TASKS) {
            List<String> lines = Files.readAllLines(Path.of("src", "eval", task + ".jsonl"));
            int taken = 0;
            for (String line : lines) {
                if (line.isBlank() || (limit > 0 && taken >= limit)) {
                    continue;
                }
                examples.add(new Example(task, JSON.readTree(line).path("text").asText()));
                taken++;
            }
        }
        return examples;
    }

    private static void logSoftmax(float[] logits, double[] out) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double log = max + Math.log(sum);
        for (int i = 0; i < logits.length; i++) {
            out[i] = logits[i] - log;
        }
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
