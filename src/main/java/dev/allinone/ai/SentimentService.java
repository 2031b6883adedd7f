package dev.allinone.ai;

import dev.langchain4j.service.Result;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;

/** Cleans the text, asks the {@link SentimentAnalyzer} and reads the probability from its response metadata. */
@ApplicationScoped
public class SentimentService {

    private final SentimentAnalyzer analyzer;
    private final InputCleaner cleaner;
    private final Timer timer;

    SentimentService(SentimentAnalyzer analyzer, InputCleaner cleaner, MeterRegistry metrics) {
        this.analyzer = analyzer;
        this.cleaner = cleaner;
        this.timer = Timer.builder("allinone.sentiment.duration").description("Time to a sentiment answer, from the cleaned text on")
                .publishPercentileHistogram().register(metrics);
    }

    public SentimentVerdict judge(String text) {
        return judgeCleaned(cleaner.forClassification(text));
    }

    /** For text already through {@link InputCleaner#forClassification}. */
    public SentimentVerdict judgeCleaned(String text) {
        Timer.Sample sample = Timer.start();
        Result<Sentiment> result = analyzer.analyze(text);
        sample.stop(timer);
        if (!(result.finalResponse().metadata() instanceof LabelScoresMetadata scores)) {
            throw new IllegalStateException("The sentiment answer did not come from label scoring");
        }
        return new SentimentVerdict(result.content(), scores.score());
    }
}
