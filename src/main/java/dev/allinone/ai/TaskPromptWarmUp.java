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
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Before readiness: pins the sentiment's and the chat's system prompts in the engine's prefix cache (restored from
 * the files an earlier start wrote where they check out, else computed). Then, beside the first users' requests, a
 * scoring and a reply through them, which get the chat template's first rendering, the LM head and the sampler
 * compiled by the JIT sooner than a quiet service's first requests would. Readiness used to wait for them too: it
 * came 0.7–0.9 s later for a first sentiment request 0.25–0.3 s faster (docs/fast-start.md).
 */
@ApplicationScoped
class TaskPromptWarmUp {

    /** Runs the warm-up requests' submission (template rendering, tokenizing) off the thread readiness waits on. */
    private static final Executor AFTER_READY = work -> Thread.ofPlatform().name("allinone-warm-up").daemon().start(work);

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
        // Then a first scoring and a first reply on a thread of their own: readiness does not wait for them.
        event.warmingAfterReady(CompletableFuture.supplyAsync(() -> firstRequests(engine, sentiment, chat), AFTER_READY)
                .thenCompose(requests -> requests));
    }

    /** A scoring and a reply, submitted together as under load (one step prefills both); done when both are. */
    private CompletableFuture<Void> firstRequests(InferenceEngine engine, String sentiment, String chat) {
        LoadedModel model = engine.model();
        String text = "刚拿到offer，超级开心！";
        CompletableFuture<?> scored = engine.scoreLabels(encode(model, sentiment, text), prompts.labels(SentimentService.TASK, SentimentService.LABELS));
        GenerationFuture reply = new GenerationFuture();
        engine.generate(encode(model, chat, text), model.defaults().withMaxNewTokens(4), reply);
        return CompletableFuture.allOf(scored, reply.result());
    }

    private static int[] encode(LoadedModel model, String system, String user) {
        return model.template().encode(List.of(new ChatTemplate.Message("system", system), new ChatTemplate.Message("user", user)),
                true, model.tokenizer());
    }
}
