package dev.allinone.ai;

import dev.allinone.ai.memory.ConversationStore;
import dev.allinone.ai.memory.InProcessConversationStore;
import dev.allinone.ai.memory.RedisConversationStore;
import dev.allinone.config.AllInOneConfig;
import dev.langchain4j.service.AiServices;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.redis.datasource.RedisDataSource;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Instance;
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
            AllInOneConfig config, ConversationStore store) {
        int memoryTokens = config.chat().memoryTokens();
        return AiServices.builder(ChatAssistant.class)
                .streamingChatModel(model)
                .systemMessageTransformer(declared -> prompts.systemMessage("chat.txt", declared))
                .chatMemoryProvider(id -> new StablePrefixChatMemory(id, memoryTokens, tokens, store))
                .build();
    }

    /** {@code allinone.memory.store}: this process (default), or Redis ({@code quarkus.redis.hosts}) with a local copy. */
    @Produces
    @ApplicationScoped
    ConversationStore conversationStore(AllInOneConfig config, Instance<RedisDataSource> redis, MeterRegistry metrics) {
        var memory = config.memory();
        InProcessConversationStore local = new InProcessConversationStore(memory.maxConversations(), memory.ttl());
        if (memory.store() == AllInOneConfig.Memory.Store.MEMORY) {
            return local;
        }
        RedisConversationStore shared = new RedisConversationStore(redis.get(), local, memory.ttl());
        Gauge.builder("allinone.memory.store.up", shared, RedisConversationStore::up)
                .description("1 while Redis answers, 0 while conversations are kept by this replica only").register(metrics);
        return shared;
    }
}
