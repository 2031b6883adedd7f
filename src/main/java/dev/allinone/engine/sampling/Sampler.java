package dev.allinone.engine.sampling;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Picks the next token from logits as Hugging Face's sampling does: repetition penalty over every token seen so
 * far (prompt included) and OpenAI's presence/frequency penalties over the reply's tokens, then temperature, top-k
 * and top-p. Works in place on the caller's logits array.
 */
public final class Sampler {

    private final SamplingParams params;
    private final RandomGenerator random;

    public Sampler(SamplingParams params, RandomGenerator random) {
        this.params = params;
        this.random = random;
    }

    public int next(float[] logits, boolean[] seen) {
        return next(logits, seen, null);
    }

    /** @param written how often the reply has written each token (null: none yet), for the presence/frequency penalties */
    public int next(float[] logits, boolean[] seen, int[] written) {
        if (params.repetitionPenalty() != 1f) {
            for (int i = 0; i < logits.length; i++) {
                if (seen[i]) {
                    logits[i] = logits[i] < 0 ? logits[i] * params.repetitionPenalty() : logits[i] / params.repetitionPenalty();
                }
            }
        }
        if (written != null) {
            Penalties.apply(logits, written, params.presencePenalty(), params.frequencyPenalty());
        }
        if (params.greedy()) {
            return argmax(logits);
        }
        int[] candidates = topCandidates(logits, params.topK() > 0 ? params.topK() : logits.length);
        double[] probs = new double[candidates.length];
        double max = logits[candidates[0]] / params.temperature();
        double sum = 0;
        for (int i = 0; i < candidates.length; i++) {
            probs[i] = Math.exp(logits[candidates[i]] / params.temperature() - max);
            sum += probs[i];
        }
        // top-p: keep the smallest prefix (by probability) whose mass reaches p, always at least one token
        int keep = candidates.length;
        double cumulative = 0;
        for (int i = 0; i < candidates.length; i++) {
            cumulative += probs[i] / sum;
            if (cumulative >= params.topP()) {
                keep = i + 1;
                break;
            }
        }
        double keptMass = 0;
        for (int i = 0; i < keep; i++) {
            keptMass += probs[i];
        }
        double u = random.nextDouble() * keptMass;
        for (int i = 0; i < keep; i++) {
            u -= probs[i];
            if (u <= 0) {
                return candidates[i];
            }
        }
        return candidates[keep - 1];
    }

    static int argmax(float[] values) {
        int best = 0;
        for (int i = 1; i < values.length; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Indices of the k largest logits, largest first. */
    public static int[] topCandidates(float[] logits, int k) {
        k = Math.min(k, logits.length);
        if (k == logits.length) {
            return java.util.stream.IntStream.range(0, logits.length).boxed()
                    .sorted((a, b) -> Float.compare(logits[b], logits[a])).mapToInt(Integer::intValue).toArray();
        }
        // min-heap of size k over (logit, index)
        int[] heap = new int[k];
        int size = 0;
        for (int i = 0; i < logits.length; i++) {
            if (size < k) {
                heap[size] = i;
                siftUp(heap, size++, logits);
            } else if (logits[i] > logits[heap[0]]) {
                heap[0] = i;
                siftDown(heap, size, logits);
            }
        }
        Integer[] sorted = Arrays.stream(heap).boxed().toArray(Integer[]::new);
        Arrays.sort(sorted, (a, b) -> Float.compare(logits[b], logits[a]));
        return Arrays.stream(sorted).mapToInt(Integer::intValue).toArray();
    }

    private static void siftUp(int[] heap, int i, float[] v) {
        while (i > 0) {
            int parent = (i - 1) / 2;
            if (v[heap[i]] >= v[heap[parent]]) {
                return;
            }
            swap(heap, i, parent);
            i = parent;
        }
    }

    private static void siftDown(int[] heap, int size, float[] v) {
        int i = 0;
        while (true) {
            int left = 2 * i + 1;
            int right = left + 1;
            int smallest = i;
            if (left < size && v[heap[left]] < v[heap[smallest]]) {
                smallest = left;
            }
            if (right < size && v[heap[right]] < v[heap[smallest]]) {
                smallest = right;
            }
            if (smallest == i) {
                return;
            }
            swap(heap, i, smallest);
            i = smallest;
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
