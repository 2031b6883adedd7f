package dev.allinone.ai;

import dev.langchain4j.service.Result;
import jakarta.enterprise.context.ApplicationScoped;

/** Cleans the text, asks the {@link SentimentAnalyzer} and reads the probability from its response metadata. */
@ApplicationScoped
public class SentimentService {

    private final SentimentAnalyzer analyzer;
    private final InputCleaner cleaner;

    SentimentService(SentimentAnalyzer analyzer, InputCleaner cleaner) {
        this.analyzer = analyzer;
        this.cleaner = cleaner;
    }

    public SentimentVerdict judge(String text) {
        return judgeCleaned(cleaner.forClassification(text));
    }

    /** For text already through {@link InputCleaner#forClassification}. */
    public SentimentVerdict judgeCleaned(String text) {
        Result<Sentiment> result = analyzer.analyze(text);
        if (!(result.finalResponse().metadata() instanceof LabelScoresMetadata scores)) {
            throw new IllegalStateException("The sentiment answer did not come from label scoring");
        }
        return new SentimentVerdict(result.content(), scores.score());
    }
}
