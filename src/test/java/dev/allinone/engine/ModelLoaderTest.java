package dev.allinone.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.tools.CheckpointGenerator;
import dev.allinone.tools.CheckpointSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
    void brokenConfigIsReportedNotThrownRaw(@TempDir Path tmp) throws Exception {
        CheckpointGenerator.write(CheckpointSpec.tiny(3), tmp);
        Files.writeString(tmp.resolve("config.json"), "{ not json");
        ModelUnavailableException e = assertThrows(ModelUnavailableException.class, () -> load(tmp, WeightFormat.AS_STORED));
        assertTrue(e.getMessage().contains("not valid JSON"), e.getMessage());
    }

    @Test
    void tiedAndUntiedCheckpointsBothLoadAndScore() throws Exception {
        for (Path dir : List.of(TestCheckpoints.tinyRandom(), TestCheckpoints.tinyScripted())) {
            LoadedModel model = load(dir, WeightFormat.AS_STORED);
            try (InferenceEngine engine = new InferenceEngine(model, new InferenceEngine.Limits(4, 30_000, InferenceEngineTest.KV_BYTES, 0))) {
                LabelScores s = engine.scoreLabels(model.tokenizer().encode("你好"), List.of("正面", "负面")).get(30, TimeUnit.SECONDS);
                assertEquals(2, s.probabilities().length);
            }
        }
    }

    @Test
    void q4WeightsLoadAndScoreLikeTheFullPrecisionModel() throws Exception {
        LoadedModel q4 = load(TestCheckpoints.tinyScripted(), WeightFormat.Q4);
        try (InferenceEngine engine = new InferenceEngine(q4, new InferenceEngine.Limits(4, 30_000, InferenceEngineTest.KV_BYTES, 0))) {
            int[] prompt = q4.template().encode(List.of(new ChatTemplate.Message("user", "今天天气不错")), true, q4.tokenizer());
            LabelScores s = engine.scoreLabels(prompt, List.of("正面", "负面")).get(30, TimeUnit.SECONDS);
            assertEquals("正面", s.best());
            assertEquals(WeightFormat.Q4, q4.weights());
        }
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
