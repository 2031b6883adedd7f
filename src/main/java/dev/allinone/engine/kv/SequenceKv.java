package dev.allinone.engine.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The key/value entries of one token sequence, position by position, in blocks of the pool. It remembers which
 * token each position holds, so that the sequence can be offered to the {@link PrefixCache} when its request ends.
 * Leading blocks may be shared with other sequences; writing into a shared block copies it first.
 */
public final class SequenceKv implements AutoCloseable {

    private final KvBlockPool pool;
    private final KvLayout layout;
    private final List<KvBlock> blocks = new ArrayList<>();
    private int[] tokens = new int[64];
    private int length;
    private int reserved;

    SequenceKv(KvBlockPool pool, int reservedBlocks) {
        this.pool = pool;
        this.layout = pool.layout();
        this.reserved = reservedBlocks;
    }

    /** A new sequence starting with the first {@code length} positions of {@code source}, sharing its full blocks. */
    static SequenceKv sharingPrefix(KvBlockPool pool, int reservedBlocks, SequenceKv source, int length) {
        SequenceKv seq = new SequenceKv(pool, reservedBlocks);
        int full = length / source.layout.blockTokens();
        for (int b = 0; b < full; b++) {
            KvBlock block = source.blocks.get(b);
            block.retain();
            seq.blocks.add(block);
        }
        int rest = length - full * source.layout.blockTokens();
        if (rest > 0) {
            KvBlock copy = seq.newBlock();
            System.arraycopy(source.blocks.get(full).data, 0, copy.data, 0, copy.data.length);
            seq.blocks.add(copy);
        }
        seq.ensureTokenCapacity(length);
        System.arraycopy(source.tokens, 0, seq.tokens, 0, length);
        seq.length = length;
        return seq;
    }

    public int length() {
        return length;
    }

    public KvLayout layout() {
        return layout;
    }

    int token(int position) {
        return tokens[position];
    }

    /** Forgets positions from {@code newLength} on (their blocks stay for the positions written next). */
    public void truncate(int newLength) {
        if (newLength > length) {
            throw new IllegalArgumentException("Cannot truncate a sequence of " + length + " positions to " + newLength);
        }
        length = newLength;
    }

    /**
     * Makes room for positions {@code length … length+count-1}, records their tokens and makes their blocks
     * writable; the caller then writes each position's keys and values with {@link #keyBlock}/{@link #keyOffset}.
     */
    public void append(int[] newTokens, int from, int count) {
        int end = length + count;
        ensureTokenCapacity(end);
        System.arraycopy(newTokens, from, tokens, length, count);
        for (int b = length / layout.blockTokens(); b < layout.blocksFor(end); b++) {
            if (b == blocks.size()) {
                blocks.add(newBlock());
            } else if (blocks.get(b).shared()) {
                KvBlock copy = newBlock();
                System.arraycopy(blocks.get(b).data, 0, copy.data, 0, copy.data.length);
                pool.release(blocks.set(b, copy));
            }
        }
        length = end;
    }

    /** Blocks beyond its reservation that appending {@code count} positions would take (new ones and copies). */
    int blocksShortFor(int count) {
        int needed = 0;
        for (int b = length / layout.blockTokens(); b < layout.blocksFor(length + count); b++) {
            if (b >= blocks.size() || blocks.get(b).shared()) {
                needed++;
            }
        }
        return Math.max(0, needed - reserved);
    }

    void addReservation(int blocks) {
        reserved += blocks;
    }

    private KvBlock newBlock() {
        if (reserved <= 0) {
            throw new IllegalStateException("Sequence grew past the KV blocks reserved for it");
        }
        reserved--;
        return pool.takeReserved();
    }

    private void ensureTokenCapacity(int n) {
        if (n > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(n, tokens.length * 2));
        }
    }

    /** The halves array holding position {@code position}'s entries. */
    public short[] block(int position) {
        return blocks.get(position / layout.blockTokens()).data;
    }

    public int keyOffset(int layer, int position) {
        return layout.keyOffset(layer, position % layout.blockTokens());
    }

    public int valueOffset(int layer, int position) {
        return layout.valueOffset(layer, position % layout.blockTokens());
    }

    /** Gives back what the reservation did not use, keeping the data. */
    void releaseReservation() {
        pool.unreserve(reserved);
        reserved = 0;
    }

    /** Drops blocks past {@link #length()} (left over by truncation), then returns the unused reservation. */
    void trim() {
        int keep = layout.blocksFor(length);
        while (blocks.size() > keep) {
            pool.release(blocks.removeLast());
        }
        releaseReservation();
    }

    @Override
    public void close() {
        blocks.forEach(pool::release);
        blocks.clear();
        releaseReservation();
        length = 0;
    }
}
