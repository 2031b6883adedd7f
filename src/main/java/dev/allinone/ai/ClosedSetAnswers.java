package dev.allinone.ai;

import io.quarkus.cache.Cache;
import io.quarkus.cache.CacheName;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.function.Supplier;

/**
 * Answers of closed-set tasks kept by (task, prompt version, cleaned text) in the bounded {@code task-results} cache:
 * the same text under the same prompt and labels gets the same answer without the model, and editing the prompt or
 * the label words makes every key of that task new. Hits and misses are in the metrics.
 */
@ApplicationScoped
class ClosedSetAnswers {

    private final Cache cache;

    ClosedSetAnswers(@CacheName("task-results") Cache cache) {
        this.cache = cache;
    }

    <T> T get(String task, String promptVersion, String cleanedText, Supplier<T> answer) {
        return cache.<String, T>get(task + '\u0000' + promptVersion + '\u0000' + cleanedText, key -> answer.get()).await().indefinitely();
    }
}
