package dev.allinone.lifecycle;

import dev.allinone.engine.InferenceEngine;

/**
 * Fired once the model is loaded and its kernels are warm, before readiness goes UP: observers pin their task
 * prompts ({@link InferenceEngine#pinPrefix}) and run a first request, so the first user sees the warm figures.
 */
public record EngineStarting(InferenceEngine engine) {
}
