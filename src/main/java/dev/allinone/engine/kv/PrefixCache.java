package dev.allinone.engine.kv;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Key/value entries of token sequences that ended recently — a conversation's last turn including the reply the
 * model wrote, a classified text — plus pinned task prompts, so that a request sharing a prefix with any of them
 * prefills only what follows (llama.cpp's {@code cache_prompt}, SGLang's RadixAttention).
 *
 * <p>Why a list and not a radix tree: the entries share their leading blocks already (a sequence started from an
 * entry references the entry's full blocks), so a tree would only speed up the lookup, and with at most a few hundred
 * entries of a few hundred tokens a linear longest-common-prefix scan costs microseconds next to a forward pass.
 * An entry that is a prefix of a newer one is dropped when the newer one arrives. Unpinned entries are evicted
 * least recently used first when the budget is needed for running requests. Model thread only.
 */
public final class PrefixCache {

    private final KvBlockPool pool;
    /** Access order: the first entry is the least recently used. */
    private final Map<SequenceKv, Boolean> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong reusedTokens = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();

    public PrefixCache(KvBlockPool pool) {
        this.pool = pool;
    }

    /** A sequence for {@code prompt}, starting from the longest cached prefix; null if the budget cannot hold it now. */
    public Start start(int[] prompt, int extraTokens) {
        SequenceKv best = null;
        int bestLength = 0;
        for (SequenceKv entry : entries.keySet()) {
            int common = commonPrefix(entry, prompt);
            if (common > bestLength) {
                best = entry;
                bestLength = common;
            }
        }
        // At least the last prompt token is computed: its hidden state gives the logits.
        int reuse = Math.min(bestLength, prompt.length - 1);
        int total = pool.layout().blocksFor(prompt.length + extraTokens);
        int needed = total - reuse / pool.layout().blockTokens();
        if (reuse > 0 && !reserve(needed, best)) {
            reuse = 0; // the budget cannot keep the prefix and the rest together: start afresh
        }
        if (reuse <= 0) {
            return reserve(total, null) ? new Start(new SequenceKv(pool, total), 0) : null;
        }
        entries.get(best); // touch: most recently used
        hits.incrementAndGet();
        reusedTokens.addAndGet(reuse);
        return new Start(SequenceKv.sharingPrefix(pool, needed, best, reuse), reuse);
    }

    /**
     * Makes sure {@code sequence} can append {@code count} more positions, evicting cached prefixes (least recently
     * used first) if the budget needs it; false if even that leaves too little.
     */
    public boolean reserveFor(SequenceKv sequence, int count) {
        int blocks = sequence.blocksShortFor(count);
        if (blocks == 0) {
            return true;
        }
        if (!reserve(blocks, null)) {
            return false;
        }
        sequence.addReservation(blocks);
        return true;
    }

    /** @param sequence the new request's KV, the first {@code reused} positions already filled from the cache */
    public record Start(SequenceKv sequence, int reused) {
    }

    private boolean reserve(int blocks, SequenceKv keep) {
        while (!pool.tryReserve(blocks)) {
            if (!evictOne(keep)) {
                return false;
            }
        }
        return true;
    }

    /** Evicts the least recently used unpinned entry other than {@code keep}. */
    private boolean evictOne(SequenceKv keep) {
        Iterator<Map.Entry<SequenceKv, Boolean>> it = entries.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<SequenceKv, Boolean> e = it.next();
            if (!e.getValue() && e.getKey() != keep) {
                it.remove();
                e.getKey().close();
                evictions.incrementAndGet();
                return true;
            }
        }
        return false;
    }

    /**
     * Takes over a finished request's KV as a cache entry (or closes it if it is empty), dropping unpinned entries
     * it makes redundant.
     */
    public void offer(SequenceKv sequence, boolean pinned) {
        sequence.trim();
        if (sequence.length() == 0) {
            sequence.close();
            return;
        }
        List<SequenceKv> redundant = new ArrayList<>();
        for (Map.Entry<SequenceKv, Boolean> e : entries.entrySet()) {
            SequenceKv entry = e.getKey();
            if (entry.length() <= sequence.length() && commonPrefix(entry, sequence) == entry.length()) {
                if (e.getValue() && !pinned) {
                    continue;
                }
                redundant.add(entry);
            } else if (!pinned && entry.length() > sequence.length() && commonPrefix(sequence, entry) == sequence.length()) {
                sequence.close(); // a longer entry already holds all of it
                entries.get(entry);
                return;
            }
        }
        for (SequenceKv entry : redundant) {
            entries.remove(entry);
            entry.close();
        }
        entries.put(sequence, pinned);
    }

    /** Drops every unpinned entry. */
    public void evictAll() {
        while (evictOne(null)) {
            // evicting
        }
    }

    public int entries() {
        return entries.size();
    }

    public long hits() {
        return hits.get();
    }

    public long reusedTokens() {
        return reusedTokens.get();
    }

    public long evictions() {
        return evictions.get();
    }

    public void close() {
        entries.keySet().forEach(SequenceKv::close);
        entries.clear();
    }

    private static int commonPrefix(SequenceKv entry, int[] prompt) {
        int n = Math.min(entry.length(), prompt.length);
        int i = 0;
        while (i < n && entry.token(i) == prompt[i]) {
            i++;
        }
        return i;
    }

    private static int commonPrefix(SequenceKv a, SequenceKv b) {
        int n = Math.min(a.length(), b.length());
        int i = 0;
        while (i < n && a.token(i) == b.token(i)) {
            i++;
        }
        return i;
    }
}
