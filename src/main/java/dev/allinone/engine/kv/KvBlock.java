package dev.allinone.engine.kv;

/**
 * Keys and values of {@link KvLayout#blockTokens()} consecutive positions for every layer, in 16-bit floats
 * (IEEE half precision). Blocks are shared between sequences with a common prefix: a block referenced by more than
 * one sequence (or by the prefix cache) is read-only, and a writer copies it first.
 */
final class KvBlock {

    final short[] data;
    private int references;

    KvBlock(KvLayout layout) {
        this.data = new short[layout.blockShorts()];
    }

    void retain() {
        references++;
    }

    /** @return true when nobody references the block any more */
    boolean release() {
        if (references <= 0) {
            throw new IllegalStateException("KV block released more often than retained");
        }
        return --references == 0;
    }

    boolean shared() {
        return references > 1;
    }
}
