package dev.allinone.engine.sampling;

/**
 * How the next token is chosen, in Hugging Face's order: repetition penalty, temperature, top-k, top-p; OpenAI's
 * presence and frequency penalties (over the reply's own tokens) come with the repetition penalty, before temperature.
 * A temperature of 0 means greedy decoding.
 *
 * @param presencePenalty  subtracted from the logit of every token the reply has written at least once (-2 to 2)
 * @param frequencyPenalty subtracted once per time the reply has written the token (-2 to 2)
 */
public record SamplingParams(float temperature, int topK, float topP, float repetitionPenalty, int maxNewTokens,
        float presencePenalty, float frequencyPenalty) {

    public SamplingParams {
        if (temperature < 0 || topK < 0 || topP <= 0 || topP > 1 || repetitionPenalty <= 0 || maxNewTokens < 1
                || !(Math.abs(presencePenalty) <= 2) || !(Math.abs(frequencyPenalty) <= 2)) {
            throw new IllegalArgumentException("Invalid sampling parameters: " + this);
        }
    }

    public SamplingParams(float temperature, int topK, float topP, float repetitionPenalty, int maxNewTokens) {
        this(temperature, topK, topP, repetitionPenalty, maxNewTokens, 0f, 0f);
    }

    public SamplingParams withMaxNewTokens(int max) {
        return new SamplingParams(temperature, topK, topP, repetitionPenalty, max, presencePenalty, frequencyPenalty);
    }

    public SamplingParams withPenalties(float presence, float frequency) {
        return new SamplingParams(temperature, topK, topP, repetitionPenalty, maxNewTokens, presence, frequency);
    }

    public boolean greedy() {
        return temperature == 0f;
    }
}
