package dev.allinone.engine;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Label scorings and short replies on prompts long enough to run every kernel path many times, so the first real
 * request does not pay for JIT compilation and page faults; the cache is emptied of them afterwards.
 */
public final class EngineWarmUp {

    private static final String TEXT = "今天天气很好，我们去公园散步吧。The weather is lovely today, let's take a walk in the park. ";

    private EngineWarmUp() {
    }

    public static void run(InferenceEngine engine) throws InterruptedException, ExecutionException, TimeoutException {
        LoadedModel model = engine.model();
        for (int round = 0; round < 3; round++) {
            int[] prompt = model.template().encode(List.of(new ChatTemplate.Message("user", round + TEXT.repeat(6))), true,
                    model.tokenizer());
            // Submitted together: the steps batch a prompt with a reply's tokens, as under load.
            var scored = engine.scoreLabels(prompt, List.of("正面", "负面"));
            GenerationFuture done = new GenerationFuture();
            engine.generate(prompt, model.defaults().withMaxNewTokens(8), done);
            scored.get(5, TimeUnit.MINUTES);
            done.result().get(5, TimeUnit.MINUTES);
        }
        engine.clearPrefixCache().get(1, TimeUnit.MINUTES);
    }
}
