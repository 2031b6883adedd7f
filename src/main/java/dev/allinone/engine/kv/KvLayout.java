package dev.allinone.engine.kv;

/**
 * Where one position's key and value of one layer live inside a {@link KvBlock}: per layer, the block's keys then
 * its values, each {@code blockTokens × kvDim} entries, so attention reads one layer's keys of a block contiguously.
 * Entries are halves ({@link KvCacheType#F16}) or signed bytes ({@link KvCacheType#Q8}); with Q8 each row of
 * {@code headSize} entries (one head of one position's key or value) has one half-precision scale, at index
 * {@code entryOffset / headSize} of the block's scales.
 *
 * @param headSize values per Q8 scale (one head); unused with F16
 */
public record KvLayout(int layers, int kvDim, int blockTokens, KvCacheType type, int headSize) {

    public KvLayout {
        if (headSize < 1 || kvDim % headSize != 0) {
            throw new IllegalArgumentException("KV width " + kvDim + " is not a multiple of the head size " + headSize);
        }
    }

    /** Half-precision keys and values. */
    public KvLayout(int layers, int kvDim, int blockTokens) {
        this(layers, kvDim, blockTokens, KvCacheType.F16, kvDim);
    }

    /** Entries (keys and values of every layer) in a block. */
    int blockEntries() {
        return layers * 2 * blockTokens * kvDim;
    }

    /** Q8 scales in a block (0 with F16). */
    int blockScales() {
        return type == KvCacheType.Q8 ? blockEntries() / headSize : 0;
    }

    public long blockBytes() {
        return type == KvCacheType.Q8 ? blockEntries() + 2L * blockScales() : 2L * blockEntries();
    }

    int keyOffset(int layer, int tokenInBlock) {
        return (layer * 2 * blockTokens + tokenInBlock) * kvDim;
    }

    int valueOffset(int layer, int tokenInBlock) {
        return ((layer * 2 + 1) * blockTokens + tokenInBlock) * kvDim;
    }

    public int blocksFor(int tokens) {
        return (tokens + blockTokens - 1) / blockTokens;
    }

    /** Bytes of one key or value row of one layer as {@link SequenceKv#readPosition} lays it out. */
    int rowBytes() {
        return type == KvCacheType.Q8 ? kvDim + 2 * (kvDim / headSize) : 2 * kvDim;
    }

    /** Bytes of one position's keys and values of every layer (see {@link SequenceKv#readPosition}). */
    public int positionBytes() {
        return layers * 2 * rowBytes();
    }

    /**
     * One position's keys and values as {@link SequenceKv#readPosition} wrote them, as floats: per layer the key then
     * the value, {@code kvDim} each.
     */
    float[] decodePosition(byte[] raw) {
        float[] out = new float[layers * 2 * kvDim];
        for (int r = 0; r < layers * 2; r++) {
            int at = r * rowBytes();
            if (type == KvCacheType.F16) {
                for (int j = 0; j < kvDim; j++) {
                    out[r * kvDim + j] = Float.float16ToFloat(half(raw, at + 2 * j));
                }
            } else {
                for (int j = 0; j < kvDim; j++) {
                    float scale = Float.float16ToFloat(half(raw, at + kvDim + 2 * (j / headSize)));
                    out[r * kvDim + j] = raw[at + j] * scale;
                }
            }
        }
        return out;
    }

    static short half(byte[] b, int at) {
        return (short) ((b[at] & 0xff) | (b[at + 1] << 8));
    }

    static void putHalf(byte[] b, int at, short h) {
        b[at] = (byte) h;
        b[at + 1] = (byte) (h >> 8);
    }
}
