package dev.allinone.ai;

import dev.allinone.engine.tokenizer.ChatTemplate;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.sampling.SamplingParams;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;

import java.util.ArrayList;
import java.util.List;

/** Turns a LangChain4j request into what the engine runs: prompt ids and sampling settings. */
final class ChatMessages {

    private ChatMessages() {
    }

    static int[] prompt(ChatRequest request, LoadedModel model) {
        return prompt(request.messages(), model);
    }

    static int[] prompt(List<ChatMessage> conversation, LoadedModel model) {
        return prompt(conversation, model, false);
    }

    /** @param thinking the template's {@code enable_thinking}: off for the tasks and the chat unless a request asks */
    static int[] prompt(List<ChatMessage> conversation, LoadedModel model, boolean thinking) {
        List<ChatTemplate.Message> messages = new ArrayList<>();
        for (ChatMessage m : conversation) {
            messages.add(switch (m) {
                case SystemMessage s -> new ChatTemplate.Message("system", s.text());
                case UserMessage u -> new ChatTemplate.Message("user", u.singleText());
                case AiMessage a -> new ChatTemplate.Message("assistant", a.text() == null ? "" : a.text());
                default -> throw new IllegalArgumentException("Unsupported message type " + m.type());
            });
        }
        return model.template().encode(messages, true, thinking, model.tokenizer());
    }

    /** The model's defaults, with whatever the request sets. */
    static SamplingParams sampling(ChatRequestParameters p, SamplingParams defaults) {
        return new SamplingParams(
                p.temperature() != null ? p.temperature().floatValue() : defaults.temperature(),
                p.topK() != null ? p.topK() : defaults.topK(),
                p.topP() != null ? p.topP().floatValue() : defaults.topP(),
                defaults.repetitionPenalty(),
                p.maxOutputTokens() != null ? p.maxOutputTokens() : defaults.maxNewTokens(),
                p.presencePenalty() != null ? p.presencePenalty().floatValue() : defaults.presencePenalty(),
                p.frequencyPenalty() != null ? p.frequencyPenalty().floatValue() : defaults.frequencyPenalty());
    }
}
