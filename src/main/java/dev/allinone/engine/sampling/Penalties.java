package dev.allinone.engine.sampling;

/**
 * OpenAI's presence and frequency penalties: {@code logit[t] -= presence * (count[t] > 0) + frequency * count[t]},
 * where {@code count[t]} is how often the reply so far has written token {@code t} (the prompt does not count).
 */
public final class Penalties {

    private Penalties() {
    }

    /** Works in place; does nothing when both penalties are 0. */
    public static void apply(float[] logits, int[] counts, float presence, float frequency) {
        if (presence == 0f && frequency == 0f) {
            return;
        }
        int n = Math.min(logits.length, counts.length);
        for (int t = 0; t < n; t++) {
            int c = counts[t];
            if (c > 0) {
                logits[t] -= presence + frequency * c;
            }
        }
    }
}
