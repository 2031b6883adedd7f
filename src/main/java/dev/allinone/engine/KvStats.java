package dev.allinone.engine;

/**
 * Key/value memory of the engine and what the prefix cache saved.
 *
 * @param bytesInUse     held by running requests and cached prefixes
 * @param budgetBytes    {@code allinone.engine.kv-cache-memory}, rounded down to whole blocks
 * @param cachedPrefixes entries in the prefix cache (pinned task prompts included)
 * @param hits           requests that started from a cached prefix
 * @param reusedTokens   prompt tokens those requests did not have to prefill
 * @param evictions      cached prefixes dropped to make room
 */
public record KvStats(long bytesInUse, long budgetBytes, int cachedPrefixes, long hits, long reusedTokens, long evictions) {
}
