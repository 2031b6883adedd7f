package dev.allinone.ai;

import dev.langchain4j.service.Result;
import dev.langchain4j.service.SystemMessage;
import dev.langchain4j.service.UserMessage;

/**
 * Task 1: a cold analyst that only judges polarity. The answer comes from constrained label scoring
 * ({@link QwenChatModel}), so it is always one of the enum's constants; {@link Result#finalResponse()} carries
 * the probability in {@link LabelScoresMetadata}.
 */
public interface SentimentAnalyzer {

    @SystemMessage(fromResource = "/prompts/sentiment.txt")
    Result<Sentiment> analyze(@UserMessage String text);
}
