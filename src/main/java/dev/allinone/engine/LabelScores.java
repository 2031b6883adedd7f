package dev.allinone.engine;

import java.util.List;

/**
 * The model's probabilities for a closed set of answers, normalised over that set.
 *
 * @param probabilities same order as the labels asked for; they sum to 1
 */
public record LabelScores(List<String> labels, double[] probabilities, int promptTokens) {

    public int bestIndex() {
        int best = 0;
        for (int i = 1; i < probabilities.length; i++) {
            if (probabilities[i] > probabilities[best]) {
                best = i;
            }
        }
        return best;
    }

    public String best() {
        return labels.get(bestIndex());
    }

    public double bestProbability() {
        return probabilities[bestIndex()];
    }
}
