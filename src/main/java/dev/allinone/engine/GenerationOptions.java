package dev.allinone.engine;

import dev.allinone.engine.sampling.json.JsonConstraint;

import java.util.List;
import java.util.OptionalLong;

/**
 * What a caller may ask of a reply beyond its sampling settings.
 *
 * @param seed        fixes the sampler's random draws: the same prompt, settings and seed write the same reply
 * @param stop        strings that end the reply where they first appear (the reply excludes them)
 * @param topLogprobs with {@code logprobs}, how many of the likeliest alternatives to report per token (0–20)
 * @param json        the JSON schema the reply must follow (constrained decoding); null for free text
 * @param echo        also report the prompt's own tokens' log-probabilities ({@link GenerationListener#onPromptToken})
 */
public record GenerationOptions(OptionalLong seed, List<String> stop, boolean logprobs, int topLogprobs, JsonConstraint json,
        boolean echo) {

    public static final int MAX_TOP_LOGPROBS = 20;

    public GenerationOptions {
        stop = List.copyOf(stop);
        if (stop.stream().anyMatch(String::isEmpty)) {
            throw new IllegalArgumentException("A stop string must not be empty");
        }
        if (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS || (topLogprobs > 0 && !logprobs)) {
            throw new IllegalArgumentException("topLogprobs must be 0–" + MAX_TOP_LOGPROBS + " and needs logprobs");
        }
    }

    public GenerationOptions(OptionalLong seed, List<String> stop, boolean logprobs, int topLogprobs) {
        this(seed, stop, logprobs, topLogprobs, null, false);
    }

    public static GenerationOptions none() {
        return new GenerationOptions(OptionalLong.empty(), List.of(), false, 0);
    }

    public GenerationOptions withJson(JsonConstraint constraint) {
        return new GenerationOptions(seed, stop, logprobs, topLogprobs, constraint, echo);
    }

    public GenerationOptions withEcho(boolean echoPrompt) {
        return new GenerationOptions(seed, stop, logprobs, topLogprobs, json, echoPrompt);
    }
}
