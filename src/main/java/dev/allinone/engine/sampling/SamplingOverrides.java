package dev.allinone.engine.sampling;

import java.util.Optional;

/** Sampling settings from configuration; an empty one keeps the checkpoint's {@code generation_config.json} value. */
public record SamplingOverrides(
        Optional<Float> temperature,
        Optional<Integer> topK,
        Optional<Float> topP,
        Optional<Float> repetitionPenalty,
        Optional<Integer> maxNewTokens) {

    public static SamplingOverrides none() {
        return new SamplingOverrides(Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }

    public SamplingParams applyTo(SamplingParams d) {
        return new SamplingParams(
                temperature.orElse(d.temperature()),
                topK.orElse(d.topK()),
                topP.orElse(d.topP()),
                repetitionPenalty.orElse(d.repetitionPenalty()),
                maxNewTokens.orElse(d.maxNewTokens()));
    }
}
