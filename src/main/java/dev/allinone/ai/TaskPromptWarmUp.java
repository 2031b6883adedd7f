package dev.allinone.ai;

import dev.allinone.engine.ChatTemplate;
import dev.allinone.lifecycle.EngineStarting;
import dev.allinone.engine.GenerationFuture;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.engine.LoadedModel;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Before readiness: pins the sentiment's and the chat's system prompts in the engine's prefix cache and runs a
 * scoring and a reply through them, so the first user after start gets the warm latency.
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
        for (String system : List.of(sentiment, chat)) {
            int[] ids = model.template().encode(List.of(new ChatTemplate.Message("system", system)), false, model.tokenizer());
            engine.pinPrefix(ids).get(5, TimeUnit.MINUTES);
        }
        String text = "刚拿到offer，超级开心！";
        engine.scoreLabels(encode(model, sentiment, text),
                prompts.labels(SentimentService.TASK, SentimentService.LABELS)).get(5, TimeUnit.MINUTES);
        GenerationFuture reply = new GenerationFuture();
        engine.generate(encode(model, chat, text), model.defaults().withMaxNewTokens(4), reply);
        reply.result().get(5, TimeUnit.MINUTES);
    }

    private static int[] encode(LoadedModel model, String system, String user) {
        return model.template().encode(List.of(new ChatTemplate.Message("system", system), new ChatTemplate.Message("user", user)),
                true, model.tokenizer());
    }
}
