package dev.allinone.engine.sampling;

/**
 * How the next token is chosen, in Hugging Face's order: repetition penalty, temperature, top-k, top-p.
 * A temperature of 0 means greedy decoding.
 */
public record SamplingParams(float temperature, int topK, float topP, float repetitionPenalty, int maxNewTokens) {

    public SamplingParams {
        if (temperature < 0 || topK < 0 || topP <= 0 || topP > 1 || repetitionPenalty <= 0 || maxNewTokens < 1) {
            throw new IllegalArgumentException("Invalid sampling parameters: " + this);
        }
    }

    public SamplingParams withMaxNewTokens(int max) {
        return new SamplingParams(temperature, topK, topP, repetitionPenalty, max);
    }

    public boolean greedy() {
        return temperature == 0f;
    }
}
