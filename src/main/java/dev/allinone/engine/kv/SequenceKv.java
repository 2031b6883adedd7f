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
            copy.copyFrom(source.blocks.get(full));
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
     * writable; the caller then writes each position's keys and values with {@link #write}.
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
                copy.copyFrom(blocks.get(b));
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

    /** The half-precision entries of the block holding position {@code position} ({@link KvCacheType#F16}). */
    public short[] halves(int position) {
        return blocks.get(position / layout.blockTokens()).halves;
    }

    /** The 8-bit entries of the block holding position {@code position} ({@link KvCacheType#Q8}). */
    public byte[] quants(int position) {
        return blocks.get(position / layout.blockTokens()).quants;
    }

    /**
     * The half-precision scales of the block holding position {@code position} ({@link KvCacheType#Q8}): the row of
     * entries at offset {@code o} (a multiple of the head size) has its scale at {@code o / headSize}.
     */
    public short[] scales(int position) {
        return blocks.get(position / layout.blockTokens()).scales;
    }

    /**
     * Stores position {@code position}'s key and value of {@code layer}: {@code kvDim} values of {@code k} and of
     * {@code v} from {@code offset}, as halves or (Q8) as bytes with one scale per head: {@code scale = max|x| / 127}
     * rounded to half precision, each value the nearest multiple of it (at most 127 of them).
     */
    public void write(int layer, int position, float[] k, float[] v, int offset) {
        KvBlock block = blocks.get(position / layout.blockTokens());
        int ko = keyOffset(layer, position);
        int vo = valueOffset(layer, position);
        int kvDim = layout.kvDim();
        if (block.halves != null) {
            for (int j = 0; j < kvDim; j++) {
                block.halves[ko + j] = Float.floatToFloat16(k[offset + j]);
                block.halves[vo + j] = Float.floatToFloat16(v[offset + j]);
            }
            return;
        }
        int headSize = layout.headSize();
        for (int h = 0; h < kvDim; h += headSize) {
            quantize(k, offset + h, headSize, block, ko + h);
            quantize(v, offset + h, headSize, block, vo + h);
        }
    }

    private static void quantize(float[] x, int from, int count, KvBlock block, int to) {
        float max = 0;
        for (int j = 0; j < count; j++) {
            max = Math.max(max, Math.abs(x[from + j]));
        }
        // At most the largest finite half: a larger scale would round to infinity and its row to NaN.
        short scale16 = Float.floatToFloat16(Math.min(max / 127f, 65504f));
        float scale = Float.float16ToFloat(scale16);
        block.scales[to / count] = scale16;
        for (int j = 0; j < count; j++) {
            // The scale rounded down to a half can put max|x| / scale a little above 127.
            block.quants[to + j] = scale == 0 ? 0 : (byte) Math.clamp(Math.round(x[from + j] / scale), -127, 127);
        }
    }

    /**
     * Position {@code position}'s keys and values of every layer into {@code out} from {@code at}
     * ({@link KvLayout#positionBytes()} bytes): per layer the key row then the value row, each its {@code kvDim}
     * halves (little-endian), or with Q8 its {@code kvDim} bytes then its scales (halves, little-endian).
     */
    void readPosition(int position, byte[] out, int at) {
        KvBlock block = blocks.get(position / layout.blockTokens());
        int kvDim = layout.kvDim();
        for (int l = 0; l < layout.layers(); l++) {
            for (int half = 0; half < 2; half++) {
                int offset = half == 0 ? keyOffset(l, position) : valueOffset(l, position);
                if (block.halves != null) {
                    for (int j = 0; j < kvDim; j++) {
                        KvLayout.putHalf(out, at + 2 * j, block.halves[offset + j]);
                    }
                } else {
                    System.arraycopy(block.quants, offset, out, at, kvDim);
                    for (int j = 0; j < kvDim / layout.headSize(); j++) {
                        KvLayout.putHalf(out, at + kvDim + 2 * j, block.scales[offset / layout.headSize() + j]);
                    }
                }
                at += layout.rowBytes();
            }
        }
    }

    /** The reverse of {@link #readPosition}: position {@code position}'s keys and values from {@code in}. */
    void writePosition(int position, byte[] in, int at) {
        KvBlock block = blocks.get(position / layout.blockTokens());
        int kvDim = layout.kvDim();
        for (int l = 0; l < layout.layers(); l++) {
            for (int half = 0; half < 2; half++) {
                int offset = half == 0 ? keyOffset(l, position) : valueOffset(l, position);
                if (block.halves != null) {
                    for (int j = 0; j < kvDim; j++) {
                        block.halves[offset + j] = KvLayout.half(in, at + 2 * j);
                    }
                } else {
                    System.arraycopy(in, at, block.quants, offset, kvDim);
                    for (int j = 0; j < kvDim / layout.headSize(); j++) {
                        block.scales[offset / layout.headSize() + j] = KvLayout.half(in, at + kvDim + 2 * j);
                    }
                }
                at += layout.rowBytes();
            }
        }
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
