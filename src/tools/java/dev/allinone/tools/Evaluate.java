package dev.allinone.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a labelled JSONL file ({@code {"text":…,"label":…}} per line) through a closed-set task of a running service
 * ({@code POST /api/tasks/{task}}, one request at a time) and reports accuracy, per-class precision / recall / F1,
 * the confusion matrix and latency percentiles — printed, and written as JSON.
 *
 * <pre>usage: Evaluate --task sentiment --data src/eval/sentiment.jsonl [--url http://127.0.0.1:8080]
 *                [--out target/eval-sentiment.json] [--api-key KEY (default: $ALLINONE_API_KEY)]</pre>
 */
public final class Evaluate {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One labelled example, with its line number for messages. */
    record Example(int line, String text, String label) {
    }

    /** What the service answered for an example. */
    record Answer(Example example, String predicted, double millis) {
    }

    public static void main(String[] args) throws Exception {
        try {
            Map<String, String> options = options(args);
            ObjectNode report = run(URI.create(options.getOrDefault("url", "http://127.0.0.1:8080")), require(options, "task"),
                    Path.of(require(options, "data")), Path.of(options.getOrDefault("out", "target/eval-" + options.get("task") + ".json")),
                    options.getOrDefault("api-key", System.getenv("ALLINONE_API_KEY")), System.out);
            System.exit(report.path("errors").asInt() == 0 ? 0 : 1);
        } catch (IllegalArgumentException e) {
            System.err.println("evaluate: " + e.getMessage());
            System.exit(2);
        }
    }

    /**
     * @throws IllegalArgumentException for a task that is not closed-set, a bad data line (with its number), or a
     *                                  label the task does not have
     */
    public static ObjectNode run(URI base, String task, Path data, Path out, String apiKey, PrintStream print)
            throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        List<String> labels = labelsOf(http, base, task, apiKey);
        List<Example> examples = read(data, labels);
        List<Answer> answers = new ArrayList<>();
        int errors = 0;
        for (Example example : examples) {
            HttpRequest request = request(base.resolve("/api/tasks/" + task), apiKey)
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("text", example.text()))))
                    .header("Content-Type", "application/json").build();
            long start = System.nanoTime();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            double millis = (System.nanoTime() - start) / 1e6;
            if (response.statusCode() != 200) {
                errors++;
                print.printf("line %d: HTTP %d %s%n", example.line(), response.statusCode(), response.body());
                continue;
            }
            answers.add(new Answer(example, JSON.readTree(response.body()).path("label").asText(), millis));
        }
        ObjectNode report = report(task, data, labels, answers, errors);
        Files.createDirectories(out.toAbsolutePath().getParent());
        JSON.writeValue(out.toFile(), report);
        print(report, print);
        print.println("written: " + out);
        return report;
    }

    private static List<String> labelsOf(HttpClient http, URI base, String task, String apiKey) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(request(base.resolve("/api/tasks"), apiKey).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalArgumentException("GET /api/tasks answered " + response.statusCode() + ": " + response.body());
        }
        for (JsonNode t : JSON.readTree(response.body())) {
            if (t.path("name").asText().equals(task)) {
                if (!t.path("output").asText().equals("labels")) {
                    throw new IllegalArgumentException("task '" + task + "' writes " + t.path("output").asText()
                            + "; evaluation needs a closed-set (labels) task");
                }
                List<String> labels = new ArrayList<>();
                t.path("labels").forEach(l -> labels.add(l.asText()));
                return labels;
            }
        }
        throw new IllegalArgumentException("the service has no task '" + task + "'");
    }

    private static HttpRequest.Builder request(URI uri, String apiKey) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(2));
        return apiKey == null || apiKey.isBlank() ? b : b.header("Authorization", "Bearer " + apiKey);
    }

    static List<Example> read(Path data, List<String> labels) throws IOException {
        List<Example> examples = new ArrayList<>();
        List<String> lines = Files.readAllLines(data, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty()) {
                continue;
            }
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (IOException e) {
                throw new IllegalArgumentException(data + ":" + (i + 1) + ": not JSON");
            }
            if (!node.path("text").isTextual() || !node.path("label").isTextual()) {
                throw new IllegalArgumentException(data + ":" + (i + 1) + ": needs string fields 'text' and 'label'");
            }
            if (!labels.contains(node.get("label").asText())) {
                throw new IllegalArgumentException(data + ":" + (i + 1) + ": label '" + node.get("label").asText()
                        + "' is not one of the task's " + labels);
            }
            examples.add(new Example(i + 1, node.get("text").asText(), node.get("label").asText()));
        }
        if (examples.isEmpty()) {
            throw new IllegalArgumentException(data + ": no examples");
        }
        return examples;
    }

    static ObjectNode report(String task, Path data, List<String> labels, List<Answer> answers, int errors) {
        int n = labels.size();
        int[][] confusion = new int[n][n]; // [expected][predicted]
        int correct = 0;
        for (Answer a : answers) {
            confusion[labels.indexOf(a.example().label())][labels.indexOf(a.predicted())]++;
            correct += a.example().label().equals(a.predicted()) ? 1 : 0;
        }
        ObjectNode report = JSON.createObjectNode();
        report.put("task", task).put("data", data.toString()).put("examples", answers.size() + errors).put("errors", errors);
        report.put("accuracy", answers.isEmpty() ? 0 : (double) correct / answers.size());
        ObjectNode classes = report.putObject("classes");
        for (int c = 0; c < n; c++) {
            int support = Arrays.stream(confusion[c]).sum();
            int predicted = 0;
            for (int[] row : confusion) {
                predicted += row[c];
            }
            Double precision = predicted == 0 ? null : (double) confusion[c][c] / predicted;
            Double recall = support == 0 ? null : (double) confusion[c][c] / support;
            ObjectNode k = classes.putObject(labels.get(c));
            k.put("support", support).put("predicted", predicted);
            putOrNull(k, "precision", precision);
            putOrNull(k, "recall", recall);
            putOrNull(k, "f1", precision == null || recall == null || precision + recall == 0 ? null : 2 * precision * recall / (precision + recall));
        }
        ObjectNode matrix = report.putObject("confusion");
        for (int e = 0; e < n; e++) {
            ObjectNode row = matrix.putObject(labels.get(e));
            for (int p = 0; p < n; p++) {
                row.put(labels.get(p), confusion[e][p]);
            }
        }
        double[] millis = answers.stream().mapToDouble(Answer::millis).sorted().toArray();
        ObjectNode latency = report.putObject("latencyMillis");
        for (int p : new int[] {50, 90, 95, 99}) {
            latency.put("p" + p, percentile(millis, p));
        }
        latency.put("max", millis.length == 0 ? 0 : millis[millis.length - 1]);
        ArrayNode wrong = report.putArray("misclassified");
        answers.stream().filter(a -> !a.example().label().equals(a.predicted())).limit(20).forEach(a ->
                wrong.addObject().put("line", a.example().line()).put("text", a.example().text())
                        .put("expected", a.example().label()).put("predicted", a.predicted()));
        return report;
    }

    private static void putOrNull(ObjectNode node, String field, Double value) {
        if (value == null) {
            node.putNull(field);
        } else {
            node.put(field, value);
        }
    }

    /** Nearest-rank percentile. */
    static double percentile(double[] sorted, int p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    private static void print(ObjectNode r, PrintStream out) {
        out.printf("task %s on %s: %d examples, %d errors%n", r.path("task").asText(), r.path("data").asText(),
                r.path("examples").asInt(), r.path("errors").asInt());
        out.printf("accuracy %.1f %%%n", 100 * r.path("accuracy").asDouble());
        out.printf("%-12s %9s %9s %9s %9s%n", "class", "precision", "recall", "f1", "support");
        r.path("classes").properties().forEach(e -> out.printf("%-12s %9s %9s %9s %9d%n", e.getKey(), pct(e.getValue().path("precision")),
                pct(e.getValue().path("recall")), pct(e.getValue().path("f1")), e.getValue().path("support").asInt()));
        List<String> labels = new ArrayList<>();
        r.path("confusion").fieldNames().forEachRemaining(labels::add);
        out.println("confusion (rows: expected, columns: predicted)");
        out.printf("%-12s", "");
        labels.forEach(l -> out.printf(" %10s", l));
        out.println();
        for (String expected : labels) {
            out.printf("%-12s", expected);
            labels.forEach(p -> out.printf(" %10d", r.path("confusion").path(expected).path(p).asInt()));
            out.println();
        }
        JsonNode l = r.path("latencyMillis");
        out.printf("latency ms: p50 %.1f  p90 %.1f  p95 %.1f  p99 %.1f  max %.1f%n", l.path("p50").asDouble(), l.path("p90").asDouble(),
                l.path("p95").asDouble(), l.path("p99").asDouble(), l.path("max").asDouble());
    }

    private static String pct(JsonNode v) {
        return v.isNull() ? "—" : String.format("%.1f %%", 100 * v.asDouble());
    }

    private static String require(Map<String, String> options, String name) {
        String v = options.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + " is required (usage: --task T --data FILE [--url U] [--out FILE] [--api-key K])");
        }
        return v;
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
            }
            options.put(args[i].substring(2), args[++i]);
        }
        return options;
    }
}
