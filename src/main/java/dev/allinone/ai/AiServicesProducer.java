package dev.allinone.ai;

import dev.allinone.config.AllInOneConfig;
import dev.langchain4j.service.AiServices;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

/**
 * Declares the two AI services over the one model: both receive chat-model beans that share the single
 * {@link dev.allinone.lifecycle.ModelRuntime}, so adding a task never loads a second model. System messages come
 * from the services' {@code @SystemMessage} resources unless {@code allinone.prompts.path} overrides them.
 */
@ApplicationScoped
public class AiServicesProducer {

    @Produces
    @ApplicationScoped
    SentimentAnalyzer sentimentAnalyzer(QwenChatModel model, PromptLibrary prompts) {
        return AiServices.builder(SentimentAnalyzer.class)
                .chatModel(model)
                .systemMessageTransformer(declared -> prompts.systemMessage("sentiment.txt", declared))
                .build();
    }

    @Produces
    @ApplicationScoped
    ChatAssistant chatAssistant(QwenStreamingChatModel model, PromptLibrary prompts, QwenTokenCountEstimator tokens,
            AllInOneConfig config) {
        int memoryTokens = config.chat().memoryTokens();
        return AiServices.builder(ChatAssistant.class)
                .streamingChatModel(model)
                .systemMessageTransformer(declared -> prompts.systemMessage("chat.txt", declared))
                .chatMemoryProvider(id -> new StablePrefixChatMemory(id, memoryTokens, tokens))
                .build();
    }
}
