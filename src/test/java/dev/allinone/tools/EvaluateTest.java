package dev.allinone.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.allinone.ReadyService;
import dev.allinone.ScriptedModelResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The evaluation command against the service on the scripted checkpoint, with the shipped sets. That model favours
 * 正面 whatever the text, so sentiment answers POSITIVE throughout: the report's numbers must be what that predicts,
 * computed here from the data file.
 */
@QuarkusTest
@QuarkusTestResource(ScriptedModelResource.class)
class EvaluateTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TestHTTPResource("/")
    URL service;

    @TempDir
    Path tmp;

    @BeforeEach
    void ready() {
        ReadyService.await();
    }

    @Test
    void theSentimentSetIsEvaluated() throws Exception {
        Path data = Path.of("src/eval/sentiment.jsonl");
        List<JsonNode> rows = rows(data);
        assertTrue(rows.size() >= 300, rows.size() + " sentences");
        long positive = rows.stream().filter(r -> r.get("label").asText().equals("POSITIVE")).count();
        long negative = rows.size() - positive;
        assertTrue(rows.stream().anyMatch(r -> r.get("lang").asText().equals("en")) && rows.stream().anyMatch(r -> r.get("lang").asText().equals("zh")));

        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        Path out = tmp.resolve("eval.json");
        Evaluate.run(URI.create(service.toString()), "sentiment", data, out, null, new PrintStream(printed, true, StandardCharsets.UTF_8));

        JsonNode report = JSON.readTree(out.toFile());
        assertEquals(rows.size(), report.get("examples").asInt());
        assertEquals(0, report.get("errors").asInt());
        assertEquals((double) positive / rows.size(), report.get("accuracy").asDouble(), 1e-9);
        assertEquals(positive, report.at("/confusion/POSITIVE/POSITIVE").asLong());
        assertEquals(negative, report.at("/confusion/NEGATIVE/POSITIVE").asLong());
        assertEquals(0, report.at("/confusion/NEGATIVE/NEGATIVE").asLong());
        assertEquals(1.0, report.at("/classes/POSITIVE/recall").asDouble(), 1e-9);
        assertEquals((double) positive / rows.size(), report.at("/classes/POSITIVE/precision").asDouble(), 1e-9);
        assertTrue(report.at("/classes/NEGATIVE/precision").isNull(), "never predicted: no precision");
        assertEquals(0.0, report.at("/classes/NEGATIVE/recall").asDouble());
        assertTrue(report.at("/latencyMillis/p50").asDouble() > 0);
        assertTrue(report.at("/latencyMillis/p50").asDouble() <= report.at("/latencyMillis/p95").asDouble());
        assertEquals(20, report.get("misclassified").size());

        String text = printed.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains(String.format("accuracy %.1f %%", 100.0 * positive / rows.size())), text);
        assertTrue(text.contains("confusion (rows: expected, columns: predicted)"), text);
        assertTrue(text.contains("latency ms: p50"), text);
    }

    @Test
    void theIntentSetCoversEveryLabel() throws Exception {
        Path out = tmp.resolve("intent.json");
        Evaluate.run(URI.create(service.toString()), "intent", Path.of("src/eval/intent.jsonl"), out, null, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        JsonNode report = JSON.readTree(out.toFile());
        int total = 0;
        for (String label : List.of("inquiry", "complaint", "chitchat", "other")) {
            int support = report.at("/classes/" + label + "/support").asInt();
            assertTrue(support >= 10, label + ": " + support);
            total += support;
        }
        assertEquals(report.get("examples").asInt(), total);
    }

    @Test
    void badDataAndTasksAreRefusedWithTheLine() throws IOException {
        URI base = URI.create(service.toString());
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, "{\"text\":\"好\",\"label\":\"POSITIVE\"}\n\n{\"text\":\"坏\",\"label\":\"NEUTRAL\"}\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Evaluate.run(base, "sentiment", bad, tmp.resolve("o.json"), null, quiet))
                .getMessage().endsWith("bad.jsonl:3: label 'NEUTRAL' is not one of the task's [POSITIVE, NEGATIVE]"));
        Files.writeString(bad, "{\"text\":\"好\",\"label\":\"POSITIVE\"}\n{oops\n");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Evaluate.run(base, "sentiment", bad, tmp.resolve("o.json"), null, quiet))
                .getMessage().endsWith("bad.jsonl:2: not JSON"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Evaluate.run(base, "summary", bad, tmp.resolve("o.json"), null, quiet))
                .getMessage().contains("evaluation needs a closed-set (labels) task"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Evaluate.run(base, "poetry", bad, tmp.resolve("o.json"), null, quiet))
                .getMessage().contains("no task 'poetry'"));
    }

    private static List<JsonNode> rows(Path data) throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(data)) {
            if (!line.isBlank()) {
                rows.add(JSON.readTree(line));
            }
        }
        return rows;
    }
}
