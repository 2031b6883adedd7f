package dev.allinone.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.tokenizer.QwenTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * What a weight format does to the <em>answers</em> of a model whose next-token distribution is peaked:
 * {@link TestCheckpoints#PEAKED} (the grouped layout, hidden 512, on the production kernels; weights uniform with std
 * 0.4 instead of 0.02: top-1 probabilities 0.30-0.74), four chat prompts, and the probabilities of the independent
 * reference ({@code qwen_reference.py}, numpy float64 on the stored weights; {@code golden/peaked.json}, written by
 * {@link #main}) for its top-5 tokens against the engine's.
 *
 * <p>Measured on this machine (AVX-512 VNNI C kernels for Q4 and Q8, Java kernels as stored):
 * <ul>
 * <li>as stored: top-1 kept on 4 of 4 prompts, max |Δp| 0.0092 (bound {@value #AS_STORED_MAX_DELTA_P}: float
 * accumulation and the F16 KV cache, amplified by weights this large);
 * <li>Q8: top-1 kept on 2 of 4, max |Δp| 0.22; Q4: 1 of 4, max |Δp| 0.37.
 * </ul>
 * Issue 25's target for Q8 (all four kept, |Δp| ≤ 0.03) is not met, and cannot be by any 8-bit format of blocks of
 * 32 on this checkpoint: with the activations left in float (a temporary switch, Java kernels) Q8 keeps 4 of 4 top-1
 * tokens but is still 0.24 off on one prompt (prompt 2: 0.497 for 0.738), so the weights' rounding alone moves the
 * answer that far; rounding the activations to 8 bits per block of 32 as well (as llama.cpp's Q8_0 × Q8_0 does, and
 * our production kernels) costs the two top-1 tokens. With weights of std 0.15 instead of 0.4 the same four prompts
 * give Q8 4 of 4 and max |Δp| 0.035 (Q4: 0 of 4, 0.066).
 *
 * <p>This test found a real bug: as stored, prompts of 6-9, 11-14, … tokens came out wrong, because Jlama's batched
 * float kernel gets some products wrong ({@code DenseGemm} replaces it; {@code DenseGemmTest}).
 */
public class PeakedQuantizationTest {

    static final double AS_STORED_MAX_DELTA_P = 0.02;
    static final int TOP = 5;

    /** Four short chats of the kinds the service answers: Chinese and English, a label question and a reply. */
    static final List<List<ChatTemplate.Message>> PROMPTS = List.of(
            List.of(new ChatTemplate.Message("user", "刚拿到offer，超级开心！")),
            List.of(new ChatTemplate.Message("system", "判断这句话的情感，只回答 正面 或 负面。"),
                    new ChatTemplate.Message("user", "这破电脑又蓝屏了，气死我了")),
            List.of(new ChatTemplate.Message("user", "My flight got cancelled again. What should I do now?")),
            List.of(new ChatTemplate.Message("system", "You are a warm assistant."),
                    new ChatTemplate.Message("user", "今天的实验终于成功了，想和你分享一下！")));

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** How a format did on the four prompts. */
    record Outcome(int topKept, double maxDeltaP) {
    }

    @Test
    void weightsAsStoredAgreeWithTheReference() {
        Outcome stored = measure(WeightFormat.AS_STORED);
        assertEquals(PROMPTS.size(), stored.topKept(), "as stored changed a top-1 token");
        assertTrue(stored.maxDeltaP() <= AS_STORED_MAX_DELTA_P, "as stored: max |Δp| " + stored.maxDeltaP());
    }

    /**
     * Q8 against Q4 on the production kernels. Issue 25 asks Q8 to keep all four top-1 tokens within 0.03; measured
     * here it does not (see the class javadoc), so what is asserted is what holds: Q8 keeps at least as many top-1
     * tokens as Q4 and its worst |Δp| is smaller.
     */
    @Test
    void q8StaysCloserToTheReferenceThanQ4() {
        Outcome q4 = measure(WeightFormat.Q4);
        Outcome q8 = measure(WeightFormat.Q8);
        assertTrue(q8.topKept() >= q4.topKept(), "Q8 kept " + q8.topKept() + " top-1 tokens, Q4 " + q4.topKept());
        assertTrue(q8.maxDeltaP() < q4.maxDeltaP(), "Q8 max |Δp| " + q8.maxDeltaP() + ", Q4 " + q4.maxDeltaP());
    }

    private Outcome measure(WeightFormat weights) {
        JsonNode fixture = fixture();
        Path dir = TestCheckpoints.peaked();
        assertEquals(fixture.path("checkpoint").path("spec").asText(), TestCheckpoints.PEAKED.toString(), "the spec the fixture was made from");
        assertEquals(fixture.path("checkpoint").path("safetensorsSha256").asText(), GoldenFixtures.sha256(dir.resolve("model.safetensors")),
                "the regenerated weights are not the ones the reference read");
        LoadedModel model = ModelLoader.load(GoldenLogitsTest.options(dir, weights, Kernels.AUTO), SamplingOverrides.none());
        try {
            double worst = 0;
            int topKept = 0;
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < PROMPTS.size(); i++) {
                JsonNode reference = fixture.path("prompts").get(i).path("reference");
                int[] ids = ids(dir, PROMPTS.get(i));
                assertEquals(ints(reference.path("ids")).length, ids.length, "prompt " + i + ": the ids the reference read");
                JsonNode last = reference.path("positions").get(0);
                double logSumExp = last.path("logsumexp").asDouble();
                float[] logits = new GoldenLogitsTest.Engine(model, ids).run(ids.length)[0];
                double[] p = softmax(logits);
                int engineTop = GoldenLogitsTest.argmax(logits);
                JsonNode top = last.path("top");
                int referenceTop = top.get(0).get(0).asInt();
                double promptWorst = 0;
                for (JsonNode entry : top) {
                    double pReference = Math.exp(entry.get(1).asDouble() - logSumExp);
                    promptWorst = Math.max(promptWorst, Math.abs(p[entry.get(0).asInt()] - pReference));
                }
                worst = Math.max(worst, promptWorst);
                topKept += engineTop == referenceTop ? 1 : 0;
                lines.add(String.format("prompt %d: reference top-1 %d p=%.3f, engine top-1 %d p=%.3f, max |Δp| over the top-%d %.4f",
                        i, referenceTop, Math.exp(top.get(0).get(1).asDouble() - logSumExp), engineTop, p[engineTop], TOP, promptWorst));
            }
            System.out.printf("peaked %s (ran on %s): top-1 kept on %d of %d prompts, max |Δp| %.4f%n  %s%n", weights, model.kernels().id(),
                    topKept, PROMPTS.size(), worst, String.join("\n  ", lines));
            return new Outcome(topKept, worst);
        } finally {
            model.jlama().close();
        }
    }

    static int[] ids(Path checkpoint, List<ChatTemplate.Message> messages) {
        return ChatTemplate.load(checkpoint).encode(messages, true, QwenTokenizer.load(checkpoint));
    }

    private static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        double[] p = new double[logits.length];
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private static int[] ints(JsonNode array) {
        return IntStream.range(0, array.size()).map(i -> array.get(i).asInt()).toArray();
    }

    private static JsonNode fixture() {
        try (InputStream in = PeakedQuantizationTest.class.getClassLoader().getResourceAsStream("golden/peaked.json")) {
            if (in == null) {
                throw new IllegalStateException("golden/peaked.json is not on the classpath");
            }
            return JSON.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * {@code PeakedQuantizationTest REFERENCE_SCRIPT OUT_FILE [PYTHON]}: runs the reference on the peaked checkpoint's
     * stored weights for each prompt (its last position's top-5 logits and log-sum-exp) and writes the fixture.
     */
    public static void main(String[] args) throws Exception {
        Path script = Path.of(args[0]);
        Path out = Path.of(args[1]);
        String python = args.length > 2 ? args[2] : "python3";
        Path dir = TestCheckpoints.peaked();
        ObjectNode fixture = JSON.createObjectNode();
        ObjectNode provenance = fixture.putObject("provenance");
        provenance.put("what", "The last position's top-" + TOP + " logits of an independent numpy float64 forward pass over the stored"
                + " weights of TestCheckpoints.peaked(), for each prompt of PeakedQuantizationTest.PROMPTS");
        provenance.put("script", script.toString());
        provenance.put("scriptSha256", GoldenFixtures.sha256(script));
        provenance.put("python", GoldenFixtures.run(python, "-c", "import sys, numpy; print(sys.version.split()[0], 'numpy', numpy.__version__)"));
        provenance.put("written", Instant.now().toString());
        provenance.put("regenerate", "see src/test/resources/golden/README.md");
        ObjectNode source = fixture.putObject("checkpoint");
        source.put("generatedBy", "TestCheckpoints.peaked() (dev.allinone.tools.CheckpointGenerator)");
        source.put("spec", TestCheckpoints.PEAKED.toString());
        source.put("safetensorsSha256", GoldenFixtures.sha256(dir.resolve("model.safetensors")));
        ArrayNode prompts = fixture.putArray("prompts");
        for (List<ChatTemplate.Message> messages : PROMPTS) {
            List<String> command = List.of(python, script.toString(), dir.toString(), "--ids",
                    IntStream.of(ids(dir, messages)).mapToObj(Integer::toString).collect(Collectors.joining(",")),
                    "--top", Integer.toString(TOP), "--positions", "last");
            Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            byte[] output = process.getInputStream().readAllBytes();
            if (process.waitFor() != 0) {
                throw new IllegalStateException("The reference failed: " + String.join(" ", command));
            }
            ObjectNode prompt = prompts.addObject();
            prompt.put("command", String.join(" ", command).replace(dir.getParent().toString(), "target/test-checkpoints"));
            prompt.putArray("messages").addAll(messages.stream().map(m -> (JsonNode) JSON.createObjectNode()
                    .put("role", m.role()).put("content", m.content())).toList());
            prompt.set("reference", JSON.readTree(output));
        }
        Files.writeString(out, JSON.writeValueAsString(fixture) + "\n", StandardCharsets.UTF_8);
        System.out.println("wrote " + out);
    }
}
