package dev.allinone.ai;

import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.lifecycle.EngineStarting;
import dev.allinone.engine.GenerationFuture;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.model.LoadedModel;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Before readiness: pins the sentiment's and the chat's system prompts in the engine's prefix cache (restored from
 * the files an earlier start wrote where they check out, else computed) and runs a scoring and a reply through them,
 * so the first users after start get the warm latency: the first forward passes, the LM head, the sampler and the
 * chat template's first rendering (a second or so before the JIT has compiled them) are paid here. That is the whole
 * warm-up: the three rounds of longer prompts that used to come first (2–4 s) changed nothing measurable in the
 * first requests' latency (docs/fast-start.md).
 */
@ApplicationScoped
class TaskPromptWarmUp {

    private final PromptLibrary prompts;

    TaskPromptWarmUp(PromptLibrary prompts) {
        this.prompts = prompts;
    }

    void warmUp(@Observes EngineStarting event) throws InterruptedException, ExecutionException, TimeoutException {
        InferenceEngine engine = event.engine();
        LoadedModel model = engine.model();
        String chat = prompts.systemMessage("chat.txt");
        String sentiment = prompts.systemMessage(SentimentService.TASK + ".txt");
        // Only the prompts of every turn stay pinned (each costs KV memory for good); other tasks' prompts are cached on use.
        // Submitted together, both are computed (or checked) in the same model steps.
        List<CompletableFuture<Void>> pins = new ArrayList<>();
        for (String system : List.of(sentiment, chat)) {
            pins.add(engine.pinPrefix(model.template().encode(List.of(new ChatTemplate.Message("system", system)), false, model.tokenizer())));
        }
        for (CompletableFuture<Void> pin : pins) {
            pin.get(5, TimeUnit.MINUTES);
        }
        // Then a scoring and a reply, together as under load: one step prefills both.
        String text = "刚拿到offer，超级开心！";
        CompletableFuture<?> scored = engine.scoreLabels(encode(model, sentiment, text), prompts.labels(SentimentService.TASK, SentimentService.LABELS));
        GenerationFuture reply = new GenerationFuture();
        engine.generate(encode(model, chat, text), model.defaults().withMaxNewTokens(4), reply);
        scored.get(5, TimeUnit.MINUTES);
        reply.result().get(5, TimeUnit.MINUTES);
    }

    private static int[] encode(LoadedModel model, String system, String user) {
        return model.template().encode(List.of(new ChatTemplate.Message("system", system), new ChatTemplate.Message("user", user)),
                true, model.tokenizer());
    }
}
