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
 * reference ({@code qwen_reference.py}, numpy float64; {@code golden/peaked.json}, written by {@link #main}) for its
 * top-5 tokens against the engine's. The fixture holds two references per prompt: on the stored weights, and on the
 * engine's Q8 copy decoded to F32 ({@link GoldenFixtures#dequantized}): what Q8's weights alone do, computed exactly.
 *
 * <p>Measured on this machine (AVX-512 VNNI C kernels for Q4 and Q8, Java kernels as stored), against the stored
 * weights' reference:
 * <ul>
 * <li>as stored: top-1 kept on 4 of 4 prompts, max |Δp| 0.0092 (bound {@value #AS_STORED_MAX_DELTA_P}: float
 * accumulation and the F16 KV cache, amplified by weights this large);
 * <li>Q8: 4 of 4, max |Δp| 0.241 (per prompt 0.040, 0.005, 0.241, 0.189); Q4: 1 of 4, 0.366.
 * <li>the reference itself on Q8's weights: 4 of 4, max |Δp| 0.2405 (0.040, 0.005, 0.2405, 0.185). So Q8 is as close
 * as its weights allow, and issue 25's |Δp| ≤ 0.03 is out of reach of 8-bit weights in blocks of 32 here: the
 * same reference on these weights rounded per block of 32 with 10 and 12 bits ({@code src/tools/python/round_weights.py})
 * gave 3 of 4 (0.029) and 4 of 4 (0.021).
 * </ul>
 * Before the residual of the activations was multiplied too ({@code MatrixFormat.residualActivations}), Q8 kept 2 of
 * 4 top-1 tokens (max |Δp| 0.22 with Jlama's rounding, 0.27 with the nearest step): rounding the activations to 8
 * bits cost two tokens its weights keep.
 *
 * <p>This test found a real bug: as stored, prompts of 6-9, 11-14, … tokens came out wrong, because Jlama's batched
 * float kernel gets some products wrong ({@code DenseGemm} replaces it; {@code DenseGemmTest}).
 */
public class PeakedQuantizationTest {

    static final double AS_STORED_MAX_DELTA_P = 0.02;
    /**
     * How much further than its own weights' reference Q8's worst |Δp| from the stored weights' may be (measured 0.2408
     * against 0.2405; prompt by prompt at most 0.0035 apart).
     */
    static final double Q8_BEYOND_ITS_WEIGHTS = 0.01;
    /**
     * Max |Δp| of Q8 from the reference on Q8's own weights (measured 0.012, on prompt 3; the others 0.0005-0.0011:
     * the activations' remaining rounding, float and the F16 KV cache, amplified by weights this large).
     */
    static final double Q8_OWN_MAX_DELTA_P = 0.02;
    static final int TOP = 5;
    /** Logits the fixture keeps per reference: enough to hold the other reference's top 5. */
    static final int FIXTURE_TOP = 50;
    private static final String STORED = "reference";
    private static final String Q8_WEIGHTS = "referenceQ8";

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
        Outcome stored = measure(WeightFormat.AS_STORED, STORED);
        assertEquals(PROMPTS.size(), stored.topKept(), "as stored changed a top-1 token");
        assertTrue(stored.maxDeltaP() <= AS_STORED_MAX_DELTA_P, "as stored: max |Δp| " + stored.maxDeltaP());
    }

    /**
     * Q8 keeps every top-1 token of the stored weights, and is no further from them than the reference computing
     * exactly with Q8's weights is (within {@value #Q8_BEYOND_ITS_WEIGHTS}); against that reference it is within
     * {@value #Q8_OWN_MAX_DELTA_P}. Issue 25 also asks for |Δp| ≤ 0.03 from the stored weights: the fixture shows Q8's
     * weights themselves 0.24 away (class javadoc).
     */
    @Test
    void q8KeepsTheTopTokensAndIsAsCloseAsItsWeightsAllow() {
        Outcome fromStored = measure(WeightFormat.Q8, STORED);
        Outcome fromItsWeights = measure(WeightFormat.Q8, Q8_WEIGHTS);
        Outcome weightsAlone = referenceAgainstReference(Q8_WEIGHTS, STORED);
        System.out.printf("peaked: the reference on Q8's weights against the stored weights' reference: top-1 kept on %d of %d, max |Δp| %.4f%n",
                weightsAlone.topKept(), PROMPTS.size(), weightsAlone.maxDeltaP());
        assertEquals(PROMPTS.size(), fromStored.topKept(), "Q8 changed a top-1 token of the stored weights");
        assertTrue(fromStored.maxDeltaP() <= weightsAlone.maxDeltaP() + Q8_BEYOND_ITS_WEIGHTS,
                "Q8 max |Δp| " + fromStored.maxDeltaP() + ", its weights alone " + weightsAlone.maxDeltaP());
        assertEquals(PROMPTS.size(), fromItsWeights.topKept(), "Q8 changed a top-1 token of its own weights' reference");
        assertTrue(fromItsWeights.maxDeltaP() <= Q8_OWN_MAX_DELTA_P, "Q8 against its own weights: max |Δp| " + fromItsWeights.maxDeltaP());
    }

    /** Q8 against Q4 on the production kernels: Q8 keeps at least as many top-1 tokens, and its worst |Δp| is smaller. */
    @Test
    void q8StaysCloserToTheReferenceThanQ4() {
        Outcome q4 = measure(WeightFormat.Q4, STORED);
        Outcome q8 = measure(WeightFormat.Q8, STORED);
        assertTrue(q8.topKept() >= q4.topKept(), "Q8 kept " + q8.topKept() + " top-1 tokens, Q4 " + q4.topKept());
        assertTrue(q8.maxDeltaP() < q4.maxDeltaP(), "Q8 max |Δp| " + q8.maxDeltaP() + ", Q4 " + q4.maxDeltaP());
    }

    /** The engine at {@code weights} against the fixture's reference {@code against}, over its top-5 tokens. */
    private Outcome measure(WeightFormat weights, String against) {
        JsonNode fixture = fixture();
        Path dir = TestCheckpoints.peaked();
        assertEquals(fixture.path("checkpoint").path("spec").asText(), TestCheckpoints.PEAKED.toString(), "the spec the fixture was made from");
        assertEquals(fixture.path("checkpoint").path("safetensorsSha256").asText(), GoldenFixtures.sha256(dir.resolve("model.safetensors")),
                "the regenerated weights are not the ones the reference read");
        if (weights == WeightFormat.Q8 || against.equals(Q8_WEIGHTS)) {
            assertEquals(fixture.path("checkpoint").path("q8SafetensorsSha256").asText(),
                    GoldenFixtures.sha256(GoldenFixtures.copy(dir, WeightFormat.Q8).resolve("model.safetensors")),
                    "the Q8 copy is not the one the reference read");
        }
        LoadedModel model = ModelLoader.load(GoldenLogitsTest.options(dir, weights, Kernels.AUTO), SamplingOverrides.none());
        try {
            double worst = 0;
            int topKept = 0;
            List<String> lines = new ArrayList<>();
            for (int i = 0; i < PROMPTS.size(); i++) {
                JsonNode reference = fixture.path("prompts").get(i).path(against);
                int[] ids = ids(dir, PROMPTS.get(i));
                assertEquals(ints(reference.path("ids")).length, ids.length, "prompt " + i + ": the ids the reference read");
                float[] logits = new GoldenLogitsTest.Engine(model, ids).run(ids.length)[0];
                double[] p = softmax(logits);
                int engineTop = GoldenLogitsTest.argmax(logits);
                JsonNode top = reference.path("positions").get(0).path("top");
                int referenceTop = top.get(0).get(0).asInt();
                double promptWorst = 0;
                for (int k = 0; k < TOP; k++) {
                    int id = top.get(k).get(0).asInt();
                    promptWorst = Math.max(promptWorst, Math.abs(p[id] - probability(reference, id)));
                }
                worst = Math.max(worst, promptWorst);
                topKept += engineTop == referenceTop ? 1 : 0;
                lines.add(String.format("prompt %d: reference top-1 %d p=%.3f, engine top-1 %d p=%.3f, max |Δp| over the top-%d %.4f",
                        i, referenceTop, probability(reference, referenceTop), engineTop, p[engineTop], TOP, promptWorst));
            }
            System.out.printf("peaked %s against the %s (ran on %s): top-1 kept on %d of %d prompts, max |Δp| %.4f%n  %s%n", weights,
                    against.equals(STORED) ? "stored weights' reference" : "reference on Q8's weights", model.kernels().id(),
                    topKept, PROMPTS.size(), worst, String.join("\n  ", lines));
            return new Outcome(topKept, worst);
        } finally {
            model.jlama().close();
        }
    }

    /** The fixture's reference {@code measured} against its reference {@code against}, as {@link #measure} compares. */
    private static Outcome referenceAgainstReference(String measured, String against) {
        JsonNode fixture = fixture();
        double worst = 0;
        int topKept = 0;
        for (JsonNode prompt : fixture.path("prompts")) {
            JsonNode reference = prompt.path(against);
            JsonNode other = prompt.path(measured);
            JsonNode top = reference.path("positions").get(0).path("top");
            for (int k = 0; k < TOP; k++) {
                int id = top.get(k).get(0).asInt();
                worst = Math.max(worst, Math.abs(probability(other, id) - probability(reference, id)));
            }
            topKept += other.path("positions").get(0).path("top").get(0).get(0).asInt() == top.get(0).get(0).asInt() ? 1 : 0;
        }
        return new Outcome(topKept, worst);
    }

    /** The probability a reference's last position gives {@code id}, which must be among its top {@value #FIXTURE_TOP}. */
    private static double probability(JsonNode reference, int id) {
        JsonNode last = reference.path("positions").get(0);
        for (JsonNode entry : last.path("top")) {
            if (entry.get(0).asInt() == id) {
                return Math.exp(entry.get(1).asDouble() - last.path("logsumexp").asDouble());
            }
        }
        throw new IllegalStateException("token " + id + " is not among the reference's top " + last.path("top").size());
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
     * {@code PeakedQuantizationTest REFERENCE_SCRIPT OUT_FILE [PYTHON]}: runs the reference for each prompt on the
     * peaked checkpoint's stored weights and on its Q8 copy decoded to F32 (the last position's top
     * {@value #FIXTURE_TOP} logits and log-sum-exp of each) and writes the fixture.
     */
    public static void main(String[] args) throws Exception {
        Path script = Path.of(args[0]);
        Path out = Path.of(args[1]);
        String python = args.length > 2 ? args[2] : "python3";
        Path dir = TestCheckpoints.peaked();
        Path q8 = GoldenFixtures.dequantized(dir, WeightFormat.Q8);
        ObjectNode fixture = JSON.createObjectNode();
        ObjectNode provenance = fixture.putObject("provenance");
        provenance.put("what", "The last position's top-" + FIXTURE_TOP + " logits of an independent numpy float64 forward pass over the stored"
                + " weights of TestCheckpoints.peaked() (reference) and over the engine's Q8 copy of them decoded to F32 by"
                + " GoldenFixtures.dequantized (referenceQ8), for each prompt of PeakedQuantizationTest.PROMPTS");
        provenance.put("script", script.toString());
        provenance.put("scriptSha256", GoldenFixtures.sha256(script));
        provenance.put("python", GoldenFixtures.run(python, "-c", "import sys, numpy; print(sys.version.split()[0], 'numpy', numpy.__version__)"));
        provenance.put("written", Instant.now().toString());
        provenance.put("regenerate", "see src/test/resources/golden/README.md");
        ObjectNode source = fixture.putObject("checkpoint");
        source.put("generatedBy", "TestCheckpoints.peaked() (dev.allinone.tools.CheckpointGenerator)");
        source.put("spec", TestCheckpoints.PEAKED.toString());
        source.put("safetensorsSha256", GoldenFixtures.sha256(dir.resolve("model.safetensors")));
        source.put("q8SafetensorsSha256", GoldenFixtures.sha256(GoldenFixtures.copy(dir, WeightFormat.Q8).resolve("model.safetensors")));
        ArrayNode prompts = fixture.putArray("prompts");
        for (List<ChatTemplate.Message> messages : PROMPTS) {
            ObjectNode prompt = prompts.addObject();
            prompt.putArray("messages").addAll(messages.stream().map(m -> (JsonNode) JSON.createObjectNode()
                    .put("role", m.role()).put("content", m.content())).toList());
            String ids = IntStream.of(ids(dir, messages)).mapToObj(Integer::toString).collect(Collectors.joining(","));
            for (Path model : List.of(dir, q8)) {
                List<String> command = List.of(python, script.toString(), model.toString(), "--ids", ids,
                        "--top", Integer.toString(FIXTURE_TOP), "--positions", "last");
                byte[] output = GoldenFixtures.runReference(command);
                String key = model.equals(dir) ? STORED : Q8_WEIGHTS;
                prompt.put(key + "Command", String.join(" ", command).replace(dir.getParent().toString(), "target/test-checkpoints"));
                prompt.set(key, JSON.readTree(output));
            }
        }
        Files.writeString(out, JSON.writeValueAsString(fixture) + "\n", StandardCharsets.UTF_8);
        System.out.println("wrote " + out);
    }
}
