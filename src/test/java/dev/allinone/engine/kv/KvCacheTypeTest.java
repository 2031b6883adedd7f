package dev.allinone.engine.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.engine.InferenceEngine;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** What the 8-bit KV cache holds: how many tokens a budget has room for, and how close each stored value is. */
class KvCacheTypeTest {

    /** The default budget, {@code allinone.engine.kv-cache-memory=192M}. */
    private static final long BUDGET = 192L << 20;

    /** Qwen1.5-0.5B (24 layers, 16 KV heads of 64), Qwen2.5-0.5B (24, 2 of 64), Qwen3-0.6B (28, 8 of 128). */
    private static final int[][] MODELS = {{24, 16, 64}, {24, 2, 64}, {28, 8, 128}};

    private static KvLayout layout(int[] model, KvCacheType type) {
        return new KvLayout(model[0], model[1] * model[2], InferenceEngine.KV_BLOCK_TOKENS, type, model[2]);
    }

    /**
     * The same budget holds at least 1.9× the tokens with Q8: measured 1.94× for head size 64 (Qwen1.5-0.5B: 2,048 →
     * 3,968 tokens in 192M), 1.98× for 128 (Qwen3-0.6B: 1,744 → 3,456).
     */
    @Test
    void theSameBudgetHoldsAtLeast1point9TimesTheTokens() {
        for (int[] model : MODELS) {
            KvBlockPool f16 = new KvBlockPool(layout(model, KvCacheType.F16), BUDGET);
            KvBlockPool q8 = new KvBlockPool(layout(model, KvCacheType.Q8), BUDGET);
            long f16Tokens = (long) f16.capacity() * InferenceEngine.KV_BLOCK_TOKENS;
            long q8Tokens = (long) q8.capacity() * InferenceEngine.KV_BLOCK_TOKENS;
            System.out.printf("KV in 192M for %d layers × %d heads × %d: F16 %d tokens, Q8 %d tokens (%.3f×)%n", model[0], model[1],
                    model[2], f16Tokens, q8Tokens, (double) q8Tokens / f16Tokens);
            assertTrue(q8Tokens >= 1.9 * f16Tokens, "Q8 holds " + q8Tokens + " tokens, F16 " + f16Tokens);
            assertTrue(q8.budgetBytes() <= BUDGET && f16.budgetBytes() <= BUDGET);
        }
    }

    /** The bytes the pool counts (the /metrics and health gauges) are the bytes its blocks hold. */
    @Test
    void thePoolCountsTheBytesItsBlocksHold() {
        for (KvCacheType type : KvCacheType.values()) {
            KvLayout layout = layout(MODELS[0], type);
            KvBlockPool pool = new KvBlockPool(layout, BUDGET);
            assertTrue(pool.tryReserve(3));
            KvBlock block = null;
            for (int i = 0; i < 3; i++) {
                block = pool.takeReserved();
            }
            long held = block.halves != null ? 2L * block.halves.length : block.quants.length + 2L * block.scales.length;
            assertEquals(held, layout.blockBytes(), type.toString());
            assertEquals(3 * held, pool.bytesInUse(), type.toString());
        }
    }

    /**
     * Each value read back is within half a step of its row's scale ({@code max|x| / 127}, as a half) of what was
     * written, and the row's largest value is exact to the half's rounding: checked against the values as written,
     * in double, for rows of very different magnitudes (and a row of zeros).
     */
    @Test
    void eachValueComesBackWithinHalfAStepOfItsRowsScale() {
        int layers = 2;
        int headSize = 64;
        int kvDim = 3 * headSize;
        KvLayout layout = new KvLayout(layers, kvDim, InferenceEngine.KV_BLOCK_TOKENS, KvCacheType.Q8, headSize);
        PrefixCache cache = new PrefixCache(new KvBlockPool(layout, 1L << 20));
        int[] tokens = new int[20];
        SplittableRandom random = new SplittableRandom(5);
        try (SequenceKv kv = cache.start(tokens, 0).sequence()) {
            kv.append(tokens, 0, tokens.length);
            float[][][] written = new float[tokens.length][layers][];
            for (int p = 0; p < tokens.length; p++) {
                for (int l = 0; l < layers; l++) {
                    float[] kvRow = new float[kvDim];
                    for (int j = 0; j < kvRow.length; j++) {
                        double magnitude = Math.pow(10, (j / headSize) % 4 - 2); // rows of 0.01 … 10
                        kvRow[j] = p == 3 && j < headSize ? 0 : (float) (random.nextDouble(-1, 1) * magnitude);
                    }
                    kv.write(l, p, kvRow, kvRow, 0); // the same row as key and as value
                    written[p][l] = kvRow;
                }
            }
            byte[] raw = new byte[layout.positionBytes()];
            for (int p = 0; p < tokens.length; p++) {
                kv.readPosition(p, raw, 0);
                float[] back = layout.decodePosition(raw);
                for (int l = 0; l < layers; l++) {
                    for (int half = 0; half < 2; half++) {
                        for (int h = 0; h < kvDim; h += headSize) {
                            double max = 0;
                            for (int j = h; j < h + headSize; j++) {
                                max = Math.max(max, Math.abs(written[p][l][j]));
                            }
                            // The scale as a half is within 2^-11 of max / 127; a value at most 127.5 steps from 0.
                            double step = max / 127 * (1 + 0x1p-11);
                            for (int j = h; j < h + headSize; j++) {
                                double got = back[(l * 2 + half) * kvDim + j];
                                double error = Math.abs(got - written[p][l][j]);
                                assertTrue(error <= step / 2 + max * 0x1p-11, "position " + p + " layer " + l + " value " + j + ": wrote "
                                        + written[p][l][j] + ", read " + got);
                            }
                        }
                    }
                }
            }
        }
    }
}
