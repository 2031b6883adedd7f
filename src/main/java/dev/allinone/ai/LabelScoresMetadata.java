package dev.allinone.ai;

import dev.langchain4j.model.chat.response.ChatResponseMetadata;

import java.util.Map;

/** Response metadata of a constrained classification: the chosen label's probability and every label's. */
public class LabelScoresMetadata extends ChatResponseMetadata {

    private final double score;
    private final Map<String, Double> probabilities;

    private LabelScoresMetadata(Builder builder) {
        super(builder);
        this.score = builder.score;
        this.probabilities = Map.copyOf(builder.probabilities);
    }

    /** Probability of the chosen label, normalised over the label set. */
    public double score() {
        return score;
    }

    /** Probability per label value (the enum constant names). */
    public Map<String, Double> probabilities() {
        return probabilities;
    }

    @Override
    public Builder toBuilder() {
        return ((Builder) toBuilder(builder())).score(score).probabilities(probabilities);
    }

    public static Builder builder() {
        return new Builder();
    }

    public static class Builder extends ChatResponseMetadata.Builder<Builder> {
        private double score;
        private Map<String, Double> probabilities = Map.of();

        public Builder score(double score) {
            this.score = score;
            return this;
        }

        public Builder probabilities(Map<String, Double> probabilities) {
            this.probabilities = probabilities;
            return this;
        }

        @Override
        public LabelScoresMetadata build() {
            return new LabelScoresMetadata(this);
        }
    }
}
