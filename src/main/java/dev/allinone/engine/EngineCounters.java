package dev.allinone.engine;

import dev.allinone.engine.kv.KvBlockPool;
import dev.allinone.engine.kv.PrefixCache;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** What the engine has done, read from any thread; written by the model thread. */
final class EngineCounters {
    final AtomicLong scoringsDone = new AtomicLong();
    final AtomicLong generationsDone = new AtomicLong();
    final AtomicLong tokensGenerated = new AtomicLong();
    final AtomicLong idleCompactions = new AtomicLong();
    final AtomicLong preemptions = new AtomicLong();
    final AtomicLong pinsRestored = new AtomicLong();
    final AtomicInteger activeSequences = new AtomicInteger();
    private volatile KvStats kv;

    void publishKv(KvBlockPool pool, PrefixCache cache) {
        kv = new KvStats(pool.bytesInUse(), pool.budgetBytes(), cache.entries(), cache.hits(), cache.reusedTokens(), cache.evictions());
    }

    KvStats kv() {
        return kv;
    }
}
