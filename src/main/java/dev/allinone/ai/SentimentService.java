package dev.allinone.ai;

import dev.langchain4j.service.Result;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;

import java.util.Arrays;
import java.util.List;

/**
 * Cleans the text, asks the {@link SentimentAnalyzer} and reads the probability from its response metadata. Answers
 * are kept in {@link ClosedSetAnswers} under the task's prompt version.
 */
@ApplicationScoped
public class SentimentService {

    static final String TASK = "sentiment";
    private static final String PROMPT = "sentiment.txt";
    static final List<String> LABELS = Arrays.stream(Sentiment.values()).map(Enum::name).toList();

    private final SentimentAnalyzer analyzer;
    private final InputCleaner cleaner;
    private final PromptLibrary prompts;
    private final ClosedSetAnswers results;
    private final Timer timer;

    SentimentService(SentimentAnalyzer analyzer, InputCleaner cleaner, PromptLibrary prompts, ClosedSetAnswers results,
            MeterRegistry metrics) {
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
            return results.get(TASK, prompts.version(TASK, prompts.systemMessage(PROMPT), LABELS), text, () -> score(text));
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
}
