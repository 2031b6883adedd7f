package dev.allinone.ai;

/** The sentiment of one text and the model's probability for it (over the two labels). */
public record SentimentVerdict(Sentiment label, double score) {
}
