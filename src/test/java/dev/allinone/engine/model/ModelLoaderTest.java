package dev.allinone.engine.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.Safetensors;
import dev.allinone.engine.TestCheckpoints;
import dev.allinone.engine.sampling.SamplingOverrides;
import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.KvLayout;
import dev.allinone.engine.kv.PrefixCache;
import dev.allinone.engine.kv.SequenceKv;
import dev.allinone.tools.CheckpointGenerator;
import dev.allinone.tools.CheckpointSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLoaderTest {

    private static LoadedModel load(Path dir, WeightFormat format) {
        return ModelLoader.load(new ModelOptions(dir, format, 0, 512), SamplingOverrides.none());
    }

    @Test
    void missingDirectoryNamesThePathAndHowToGetTheModel(@TempDir Path tmp) {
        ModelUnavailableException e = assertThrows(ModelUnavailableException.class, () -> load(tmp.resolve("nope"), WeightFormat.AS_STORED));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        assertTrue(e.getMessage().contains("Getting the model"), e.getMessage());
    }

    @Test
    void incompleteDirectoryListsWhatIsMissing(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("config.json"), "{\"model_type\":\"qwen2\"}");
        ModelUnavailableException e = assertThrows(ModelUnavailableException.class, () -> load(tmp, WeightFormat.AS_STORED));
        assertTrue(e.getMessage().contains("tokenizer.json") && e.getMessage().contains("model.safetensors"), e.getMessage());
    }

    @Test
    void dimensionsOffTheQuantizationBlockAreRefusedClearly(@TempDir Path tmp) throws Exception {
        CheckpointGenerator.write(CheckpointSpec.tiny(3).withHidden(48), tmp);
        ModelUnavailableException e = assertThrows(ModelUnavailableException.class, () -> load(tmp, WeightFormat.AS_STORED));
        assertTrue(e.getMessage().contains("hidden_size = 48"), e.getMessage());
    }

    @Test
    void anUnsupportedModelTypeIsRefusedNamingTheOnesThatRun(@TempDir Path tmp) throws Exception {
        CheckpointGenerator.write(CheckpointSpec.tiny(3), tmp);
        Path config = tmp.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"qwen2\"", "\"llama\""));
        ModelUnavailableException e = assertThrows(ModelUnavailableException.class, () -> load(tmp, WeightFormat.AS_STORED));
        assertTrue(e.getMessage().contains("'llama'") && e.getMessage().contains("qwen2 (") && e.getMessage().contains("qwen3 ("),
                e.getMessage());
    }

    @Test
    void brokenConfigIsReportedNotThrownRaw(@TempDir Path tmp) throws Exception {
        CheckpointGenerator.write(CheckpointSpec.tiny(3), tmp);
        Files.writeString(tmp.resolve("config.json"), "{ not json");
        ModelUnavailableException e = assertThrows(ModelUnavailableException.class, () -> load(tmp, WeightFormat.AS_STORED));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    /**
     * The LM head is the embedding table when the checkpoint ties them and {@code lm_head.weight} when not: every
     * logit equals the product computed here from the safetensors file, and the untied file's two tensors differ,
     * so a head read from the wrong one fails.
     */
    @Test
    void theLmHeadIsTheEmbeddingTableWhenTiedAndItsOwnMatrixWhenNot(@TempDir Path tmp) throws Exception {
        Path untied = tmp.resolve("untied");
        CheckpointGenerator.write(CheckpointSpec.tiny(7).untied(), untied);
        for (Path dir : List.of(TestCheckpoints.tinyRandom(), untied)) {
            boolean tied = dir != untied;
            LoadedModel model = load(dir, WeightFormat.AS_STORED);
            try {
                Output output = after(model, "你好，今天怎么样？");
                float[] logits = output.logits();
                Safetensors file = Safetensors.read(dir.resolve("model.safetensors"));
                float[] head = file.floats(tied ? "model.embed_tokens.weight" : "lm_head.weight");
                float[] normed = output.normed();
                int d = normed.length;
                for (int t = 0; t < logits.length; t++) {
                    double expected = 0;
                    double magnitude = 0;
                    for (int j = 0; j < d; j++) {
                        expected += (double) normed[j] * head[t * d + j];
                        magnitude += Math.abs((double) normed[j] * head[t * d + j]);
                    }
                    assertEquals(expected, logits[t], 1e-5 * (1 + magnitude), (tied ? "tied" : "untied") + " logit " + t);
                }
                if (!tied) {
                    float[] embeddings = file.floats("model.embed_tokens.weight");
                    double difference = 0;
                    for (int j = 0; j < d; j++) {
                        difference += Math.abs(head[j] - embeddings[j]);
                    }
                    assertTrue(difference > 0.1, "the untied head must differ from the embeddings for this test to mean anything");
                }
            } finally {
                model.jlama().close();
            }
        }
    }

    /**
     * Q4 weights give logits close to the full-precision model's: relative L2 distance measured 0.092-0.094 on these
     * prompts, bounded at 0.15; a model of another seed is at 1.41, so a wrong weight, scale or nibble order fails.
     */
    @Test
    void q4WeightsGiveLogitsCloseToTheFullPrecisionModel(@TempDir Path tmp) throws Exception {
        Path other = tmp.resolve("other");
        CheckpointGenerator.write(CheckpointSpec.tiny(8), other);
        LoadedModel full = load(TestCheckpoints.tinyRandom(), WeightFormat.AS_STORED);
        LoadedModel q4 = load(TestCheckpoints.tinyRandom(), WeightFormat.Q4);
        LoadedModel stranger = load(other, WeightFormat.AS_STORED);
        try {
            assertEquals(WeightFormat.Q4, q4.weights());
            for (String text : List.of("今天天气不错", "这破电脑又蓝屏了", "The quick brown fox jumps over the lazy dog.")) {
                float[] reference = after(full, text).logits();
                double q4Distance = relativeDistance(after(q4, text).logits(), reference);
                double strangerDistance = relativeDistance(after(stranger, text).logits(), reference);
                assertTrue(q4Distance < 0.15, text + ": Q4 at relative distance " + q4Distance);
                assertTrue(strangerDistance > 0.5, text + ": another model at only " + strangerDistance);
            }
        } finally {
            full.jlama().close();
            q4.jlama().close();
            stranger.jlama().close();
        }
    }

    /** The final-normed hidden state after a prompt, and the logits the LM head made of it. */
    private record Output(float[] normed, float[] logits) {
    }

    /** Through a one-message chat prompt. */
    private static Output after(LoadedModel model, String text) {
        int[] prompt = model.template().encode(List.of(new ChatTemplate.Message("user", text)), true, model.tokenizer());
        Transformer transformer = new Transformer(model.jlama());
        KvBlockPool pool = new KvBlockPool(new KvLayout(transformer.layers(), transformer.kvDim(), InferenceEngine.KV_BLOCK_TOKENS), 16L << 20);
        try (SequenceKv kv = new PrefixCache(pool).start(prompt, 0).sequence()) {
            float[] normed = transformer.forward(prompt, 0, kv);
            float[] logits = new float[model.jlama().vocabularySize()];
            model.jlama().allLogits(normed, logits);
            return new Output(normed, logits);
        }
    }

    private static double relativeDistance(float[] a, float[] b) {
        double difference = 0;
        double norm = 0;
        for (int i = 0; i < b.length; i++) {
            difference += (a[i] - b[i]) * (double) (a[i] - b[i]);
            norm += b[i] * (double) b[i];
        }
        return Math.sqrt(difference / norm);
    }

    @Test
    void generationDefaultsComeFromGenerationConfig() {
        LoadedModel model = load(TestCheckpoints.tinyRandom(), WeightFormat.AS_STORED);
        assertEquals(20, model.defaults().topK());
        assertEquals(0.8f, model.defaults().topP(), 1e-6);
        assertEquals(1.1f, model.defaults().repetitionPenalty(), 1e-6);
        assertTrue(model.stopTokens().contains(151645) && model.stopTokens().contains(151643));
        model.jlama().close();
    }
}
