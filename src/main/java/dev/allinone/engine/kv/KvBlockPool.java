package dev.allinone.engine.kv;

import java.util.ArrayDeque;

/**
 * All key/value memory of the engine under one budget. A sequence reserves blocks before it writes into them (its
 * prompt when it starts, more as its reply grows), so a write never finds the budget spent; freed blocks are kept
 * for reuse instead of being left to the garbage collector. Model thread only, apart from the counters.
 */
public final class KvBlockPool {

    private final KvLayout layout;
    private final int capacity;
    private final ArrayDeque<KvBlock> free = new ArrayDeque<>();
    private int allocated;
    private int reserved;

    public KvBlockPool(KvLayout layout, long budgetBytes) {
        this.layout = layout;
        this.capacity = (int) Math.min(Integer.MAX_VALUE, budgetBytes / layout.blockBytes());
        if (capacity < 1) {
            throw new IllegalArgumentException("The KV cache budget of " + budgetBytes + " bytes is below one block of "
                    + layout.blockBytes() + " bytes (" + layout.blockTokens() + " tokens)");
        }
    }

    public KvLayout layout() {
        return layout;
    }

    /** Blocks the budget allows in all. */
    public int capacity() {
        return capacity;
    }

    /** Blocks holding data (of running requests or of the prefix cache). */
    public int inUse() {
        return allocated - free.size();
    }

    /** Blocks neither in use nor promised to a running request. */
    public int available() {
        return capacity - inUse() - reserved;
    }

    /** Promises {@code blocks} to a request; false if the budget does not have them now. */
    boolean tryReserve(int blocks) {
        if (blocks > available()) {
            return false;
        }
        reserved += blocks;
        return true;
    }

    void unreserve(int blocks) {
        reserved -= blocks;
    }

    /** A block from a reservation made earlier, referenced once. */
    KvBlock takeReserved() {
        if (reserved <= 0) {
            throw new IllegalStateException("KV block taken without a reservation");
        }
        reserved--;
        KvBlock block = free.pollFirst();
        if (block == null) {
            block = new KvBlock(layout);
            allocated++;
        }
        block.retain();
        return block;
    }

    void release(KvBlock block) {
        if (block.release()) {
            free.addFirst(block);
        }
    }

    public long bytesInUse() {
        return inUse() * layout.blockBytes();
    }

    public long budgetBytes() {
        return capacity * layout.blockBytes();
    }
}
