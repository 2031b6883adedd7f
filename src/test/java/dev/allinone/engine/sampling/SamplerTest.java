package dev.allinone.engine.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The sampler against a reference written here from Hugging Face's definitions (repetition penalty: a seen token's
 * logit divided by the penalty when positive, multiplied when negative; then temperature; top-k; top-p keeping the
 * smallest most-probable set whose mass reaches p): over 40,000 seeded draws each token's frequency matches the
 * reference probability, and tokens the filters drop never come.
 */
class SamplerTest {

    private static final float[] LOGITS = {2.0f, 1.5f, 1.2f, 0.3f, -0.4f, -1.0f, 1.9f, -2.5f, 0.8f, 1.1f};
    private static final int DRAWS = 40_000;

    @Test
    void frequenciesMatchTheReferenceDistribution() {
        boolean[] seen = new boolean[LOGITS.length];
        seen[0] = true; // positive logit: divided by the penalty
        seen[5] = true; // negative logit: multiplied by it
        for (SamplingParams params : new SamplingParams[] {
                new SamplingParams(0.7f, 20, 0.8f, 1.1f, 16),
                new SamplingParams(1.0f, 4, 1.0f, 1.0f, 16),
                new SamplingParams(1.3f, 0, 0.95f, 1.3f, 16),
                new SamplingParams(0.5f, 6, 0.5f, 1.0f, 16)}) {
            double[] expected = reference(LOGITS, seen, params);
            int[] counts = new int[LOGITS.length];
            Sampler sampler = new Sampler(params, new SplittableRandom(42));
            for (int i = 0; i < DRAWS; i++) {
                counts[sampler.next(LOGITS.clone(), seen)]++;
            }
            for (int t = 0; t < LOGITS.length; t++) {
                double frequency = counts[t] / (double) DRAWS;
                if (expected[t] == 0) {
                    assertEquals(0, counts[t], params + ": token " + t + " is filtered out");
                } else {
                    // 5 standard deviations of a binomial frequency
                    double tolerance = 5 * Math.sqrt(expected[t] * (1 - expected[t]) / DRAWS);
                    assertEquals(expected[t], frequency, tolerance, params + ": token " + t + " " + Arrays.toString(expected));
                }
            }
        }
    }

    @Test
    void greedyTakesTheLargestLogitAfterThePenalty() {
        boolean[] seen = new boolean[LOGITS.length];
        Sampler greedy = new Sampler(new SamplingParams(0f, 1, 1f, 1f, 16), new SplittableRandom(1));
        assertEquals(0, greedy.next(LOGITS.clone(), seen));
        seen[0] = true;
        Sampler penalised = new Sampler(new SamplingParams(0f, 1, 1f, 1.2f, 16), new SplittableRandom(1));
        assertEquals(6, penalised.next(LOGITS.clone(), seen), "2.0 / 1.2 falls below 1.9");
    }

    @Test
    void presenceAndFrequencyPenaltiesMatchTheReference() {
        boolean[] seen = new boolean[LOGITS.length];
        int[] counts = {3, 0, 1, 0, 0, 2, 1, 0, 0, 4};
        for (int t = 0; t < counts.length; t++) {
            seen[t] = counts[t] > 0;
        }
        for (SamplingParams params : new SamplingParams[] {
                new SamplingParams(0.8f, 0, 1.0f, 1.0f, 16, 0.6f, 0.25f),
                new SamplingParams(1.0f, 6, 0.9f, 1.1f, 16, -0.5f, 0.4f),
                new SamplingParams(1.2f, 0, 0.95f, 1.0f, 16, 1.5f, -0.3f)}) {
            double[] expected = reference(LOGITS, seen, counts, params);
            int[] drawn = new int[LOGITS.length];
            Sampler sampler = new Sampler(params, new SplittableRandom(7));
            for (int i = 0; i < DRAWS; i++) {
                drawn[sampler.next(LOGITS.clone(), seen, counts)]++;
            }
            for (int t = 0; t < LOGITS.length; t++) {
                double frequency = drawn[t] / (double) DRAWS;
                if (expected[t] == 0) {
                    assertEquals(0, drawn[t], params + ": token " + t + " is filtered out");
                } else {
                    double tolerance = 5 * Math.sqrt(expected[t] * (1 - expected[t]) / DRAWS);
                    assertEquals(expected[t], frequency, tolerance, params + ": token " + t + " " + Arrays.toString(expected));
                }
            }
        }
    }

    @Test
    void greedyFollowsThePenalisedLogits() {
        boolean[] seen = new boolean[LOGITS.length];
        int[] counts = new int[LOGITS.length];
        counts[0] = 2;
        seen[0] = true;
        // 2.0 - 0.05 - 2 * 0.05 = 1.85 falls below 1.9 (token 6); with no penalty token 0 wins
        Sampler penalised = new Sampler(new SamplingParams(0f, 1, 1f, 1f, 16, 0.05f, 0.05f), new SplittableRandom(1));
        assertEquals(6, penalised.next(LOGITS.clone(), seen, counts));
        Sampler plain = new Sampler(new SamplingParams(0f, 1, 1f, 1f, 16), new SplittableRandom(1));
        assertEquals(0, plain.next(LOGITS.clone(), seen, counts));
        double[] reference = reference(LOGITS, seen, counts, new SamplingParams(1f, 0, 1f, 1f, 16, 0.05f, 0.05f));
        assertTrue(reference[6] > reference[0], "the reference agrees that token 6 is now likelier");
    }

    /** Hugging Face's order: penalty, temperature, top-k, top-p, then the kept probabilities renormalised. */
    private static double[] reference(float[] logits, boolean[] seen, SamplingParams p) {
        return reference(logits, seen, new int[logits.length], p);
    }

    /** With OpenAI's penalties too: logit - presence * (count > 0) - frequency * count, after the repetition penalty. */
    private static double[] reference(float[] logits, boolean[] seen, int[] counts, SamplingParams p) {
        int n = logits.length;
        double[] scaled = new double[n];
        for (int t = 0; t < n; t++) {
            double l = logits[t];
            if (seen[t] && p.repetitionPenalty() != 1f) {
                l = l > 0 ? l / p.repetitionPenalty() : l * p.repetitionPenalty();
            }
            l -= (counts[t] > 0 ? (double) p.presencePenalty() : 0.0) + (double) p.frequencyPenalty() * counts[t];
            scaled[t] = l / p.temperature();
        }
        Integer[] order = IntStream.range(0, n).boxed().sorted(Comparator.comparingDouble(t -> -scaled[t])).toArray(Integer[]::new);
        int k = p.topK() > 0 ? Math.min(p.topK(), n) : n;
        double max = scaled[order[0]];
        double sum = 0;
        for (int i = 0; i < k; i++) {
            sum += Math.exp(scaled[order[i]] - max);
        }
        double[] probability = new double[n];
        double cumulative = 0;
        int keep = k;
        for (int i = 0; i < k; i++) {
            cumulative += Math.exp(scaled[order[i]] - max) / sum;
            if (cumulative >= p.topP()) {
                keep = i + 1;
                break;
            }
        }
        double kept = 0;
        for (int i = 0; i < keep; i++) {
            kept += Math.exp(scaled[order[i]] - max);
        }
        for (int i = 0; i < keep; i++) {
            probability[order[i]] = Math.exp(scaled[order[i]] - max) / kept;
        }
        assertTrue(Math.abs(Arrays.stream(probability).sum() - 1) < 1e-9);
        return probability;
    }
}
