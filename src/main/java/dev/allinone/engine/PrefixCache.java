package dev.allinone.engine;

import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Key/value entries of fixed prompt prefixes (system prompts rendered by the chat template), computed once and
 * copied into each request's own buffer, so a request only prefills what follows its prefix. Least recently
 * used prefixes are dropped beyond {@code capacity}. Model thread only.
 */
final class PrefixCache implements AutoCloseable {

    private record Key(int[] tokens) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(tokens, k.tokens);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(tokens);
        }
    }

    private final QwenJlamaModel model;
    private final int capacity;
    private final Map<Key, KvBufferCache.KvBuffer> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();

    PrefixCache(QwenJlamaModel model, int capacity) {
        this.model = model;
        this.capacity = capacity;
    }

    /**
     * Fills {@code kv} with the prompt's key/value entries and returns the final-norm hidden state of its last
     * position. The first {@code prefixLength} tokens come from the cache when possible.
     */
    AbstractTensor prefill(int[] prompt, int prefixLength, KvBufferCache.KvBuffer kv) {
        int p = Math.min(prefixLength, prompt.length - 1);
        if (p <= 0 || capacity == 0) {
            return model.prefill(prompt, 0, kv);
        }
        Key key = new Key(Arrays.copyOf(prompt, p));
        KvBufferCache.KvBuffer prefix = entries.get(key);
        if (prefix == null) {
            misses.incrementAndGet();
            prefix = model.newKvBuffer();
            model.prefill(key.tokens(), 0, prefix).close();
            entries.put(key, prefix);
            evictBeyondCapacity();
        } else {
            hits.incrementAndGet();
        }
        model.copyKv(prefix, kv, p);
        return model.prefill(Arrays.copyOfRange(prompt, p, prompt.length), p, kv);
    }

    private void evictBeyondCapacity() {
        var it = entries.entrySet().iterator();
        while (entries.size() > capacity && it.hasNext()) {
            it.next().getValue().close();
            it.remove();
        }
    }

    long hits() {
        return hits.get();
    }

    long misses() {
        return misses.get();
    }

    @Override
    public void close() {
        entries.values().forEach(KvBufferCache.KvBuffer::close);
        entries.clear();
    }
}
