package dev.allinone.ai;

import dev.allinone.config.AllInOneConfig;
import dev.allinone.config.EngineSettings;
import dev.allinone.engine.Generation;
import dev.allinone.engine.GenerationListener;
import dev.allinone.engine.GenerationOptions;
import dev.allinone.engine.InferenceEngine;
import dev.allinone.lifecycle.ModelRuntime;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.ArrayList;
import java.util.List;

/**
 * The model as a plain chat completion, for clients that bring their own conversation (the OpenAI-compatible API):
 * their messages as they are, the chat prompt as the system message unless they send their own, the model's
 * sampling defaults under whatever they set.
 */
@ApplicationScoped
public class Completions {

    /**
     * @param sampling temperature, top-p, max output tokens; unset ones keep the model's defaults
     * @param thinking the chat template's {@code enable_thinking} (Qwen3 thinks first; other models ignore it)
     */
    public record Request(List<ChatMessage> messages, ChatRequestParameters sampling, GenerationOptions options, boolean thinking) {

        public Request(List<ChatMessage> messages, ChatRequestParameters sampling, GenerationOptions options) {
            this(messages, sampling, options, false);
        }
    }

    /** A plain-text completion: the prompt's tokens as they are, no chat template. */
    public record TextRequest(int[] prompt, ChatRequestParameters sampling, GenerationOptions options) {
    }

    private final ModelRuntime runtime;
    private final PromptLibrary prompts;
    private final String modelId;

    Completions(ModelRuntime runtime, PromptLibrary prompts, AllInOneConfig config) {
        this.runtime = runtime;
        this.prompts = prompts;
        this.modelId = EngineSettings.modelId(config.model());
    }

    /** The name clients address the model by: {@code allinone.model.name}, else the model directory's (Qwen1.5-0.5B-Chat). */
    public String modelId() {
        return modelId;
    }

    /** The prompt text's tokens, as the model's tokenizer splits it (special-token names are plain text here). */
    public int[] encode(String text) {
        return runtime.engine().model().tokenizer().encode(text);
    }

    /** Whether {@code id} is a token of the model's vocabulary. */
    public boolean isToken(int id) {
        return runtime.engine().model().tokenizer().isValidId(id);
    }

    /** The text a run of tokens stands for (bytes that end mid-character become U+FFFD). */
    public String decode(int[] ids) {
        return runtime.engine().model().tokenizer().decode(ids);
    }

    /** Starts a plain-text completion of the prompt's tokens; the listener hears of it on the model thread. */
    public Generation start(TextRequest request, GenerationListener listener) {
        InferenceEngine engine = runtime.engine();
        return engine.generate(request.prompt(), ChatMessages.sampling(request.sampling(), engine.model().defaults()),
                request.options(), listener);
    }

    /**
     * Starts the completion; the listener hears of it on the model thread and must not block.
     *
     * @throws IllegalArgumentException for sampling values the engine cannot use
     */
    public Generation start(Request request, GenerationListener listener) {
        InferenceEngine engine = runtime.engine();
        List<ChatMessage> messages = new ArrayList<>(request.messages());
        if (messages.stream().noneMatch(m -> m instanceof SystemMessage)) {
            messages.addFirst(SystemMessage.from(prompts.systemMessage("chat.txt")));
        }
        return engine.generate(ChatMessages.prompt(messages, engine.model(), request.thinking()),
                ChatMessages.sampling(request.sampling(), engine.model().defaults()), request.options(), listener);
    }
}
