package dev.allinone.engine.kv;

/**
 * Keys and values of {@link KvLayout#blockTokens()} consecutive positions for every layer: half-precision floats
 * ({@link KvCacheType#F16}) or signed bytes with a half-precision scale per head row ({@link KvCacheType#Q8}).
 * Blocks are shared between sequences with a common prefix: a block referenced by more than one sequence (or by
 * the prefix cache) is read-only, and a writer copies it first.
 */
final class KvBlock {

    /** F16 entries; null with Q8. */
    final short[] halves;
    /** Q8 entries; null with F16. */
    final byte[] quants;
    /** Q8 scales (half precision), one per head row; null with F16. */
    final short[] scales;
    private int references;

    KvBlock(KvLayout layout) {
        boolean q8 = layout.type() == KvCacheType.Q8;
        this.halves = q8 ? null : new short[layout.blockEntries()];
        this.quants = q8 ? new byte[layout.blockEntries()] : null;
        this.scales = q8 ? new short[layout.blockScales()] : null;
    }

    void copyFrom(KvBlock source) {
        if (halves != null) {
            System.arraycopy(source.halves, 0, halves, 0, halves.length);
        } else {
            System.arraycopy(source.quants, 0, quants, 0, quants.length);
            System.arraycopy(source.scales, 0, scales, 0, scales.length);
        }
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
