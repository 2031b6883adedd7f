package dev.allinone.ai;

import dev.langchain4j.service.Result;
import io.quarkus.cache.Cache;
import io.quarkus.cache.CacheName;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Cleans the text, asks the {@link SentimentAnalyzer} and reads the probability from its response metadata. Answers
 * are cached by (prompt version, cleaned text): the same text under the same prompt and labels gets the same answer
 * without the model, and editing the prompt or the labels (an override file) makes every key new.
 */
@ApplicationScoped
public class SentimentService {

    private final SentimentAnalyzer analyzer;
    private final InputCleaner cleaner;
    private final PromptLibrary prompts;
    private final Cache results;
    private final Timer timer;

    SentimentService(SentimentAnalyzer analyzer, InputCleaner cleaner, PromptLibrary prompts,
            @CacheName("sentiment-results") Cache results, MeterRegistry metrics) {
        this.analyzer = analyzer;
        this.cleaner = cleaner;
        this.prompts = prompts;
        this.results = results;
        this.timer = Timer.builder("allinone.sentiment.duration").description("Time to a sentiment answer, from the cleaned text on")
                .publishPercentileHistogram().register(metrics);
    }

    public SentimentVerdict judge(String text) {
        return judgeCleaned(cleaner.forClassification(text));
    }

    /** For text already through {@link InputCleaner#forClassification}. */
    public SentimentVerdict judgeCleaned(String text) {
        Timer.Sample sample = Timer.start();
        try {
            return results.<String, SentimentVerdict>get(promptVersion() + "\u0000" + text, key -> score(text)).await().indefinitely();
        } finally {
            sample.stop(timer);
        }
    }

    private SentimentVerdict score(String text) {
        Result<Sentiment> result = analyzer.analyze(text);
        if (!(result.finalResponse().metadata() instanceof LabelScoresMetadata scores)) {
            throw new IllegalStateException("The sentiment answer did not come from label scoring");
        }
        return new SentimentVerdict(result.content(), scores.score());
    }

    /** Changes whenever the system prompt or the label words do (override files are read on every use). */
    private String promptVersion() {
        String words = java.util.Arrays.stream(Sentiment.values()).map(v -> prompts.label("Sentiment", v.name()))
                .collect(java.util.stream.Collectors.joining("|"));
        return Integer.toHexString((prompts.systemMessage("sentiment.txt") + "\u0000" + words).hashCode());
    }
}
