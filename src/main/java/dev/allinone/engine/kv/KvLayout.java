package dev.allinone.engine.kv;

/**
 * Where one position's key and value of one layer live inside a {@link KvBlock}: per layer, the block's keys then
 * its values, each {@code blockTokens × kvDim} halves, so attention reads one layer's keys of a block contiguously.
 */
public record KvLayout(int layers, int kvDim, int blockTokens) {

    public static final int BYTES_PER_VALUE = 2;

    int blockShorts() {
        return layers * 2 * blockTokens * kvDim;
    }

    public long blockBytes() {
        return (long) blockShorts() * BYTES_PER_VALUE;
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
}
