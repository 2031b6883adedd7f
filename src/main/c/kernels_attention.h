/*
 * Attention over KV blocks, SwiGLU and e^x, written once for every variant on 8-value vectors: each architecture's
 * file defines the type v8 and its operations (kernels_x86.c: one AVX2 register; kernels_arm64.c: two NEON ones)
 * and V8 / V8_ENTRY (how an inlined helper / an entry point is declared), then includes this file. The operations
 * are IEEE single precision lane by lane (fused multiply-add where v8_fma is asked), so each architecture
 * computes the same bits.
 *   v8_set1 v8_load v8_store v8_add v8_sub v8_mul v8_div v8_max v8_min v8_fma(a, b, c) = a * b + c
 *   v8_from_half(p)                  8 half-precision values widened
 *   v8_from_i8(p)                    8 signed bytes widened (exactly)
 *   v8_round(x)                      to the nearest integer, ties to even
 *   v8_scale_by_power_of_2(p, n)     p * 2^n for integral n, by adding n to the exponent bits
 *   v8_sum_lanes8(v)                 lane t = ((v[t]0 + v[t]1) + (v[t]2 + v[t]3)) + ((v[t]4 + v[t]5) + (v[t]6 + v[t]7))
 */
#ifndef AIO_KERNELS_ATTENTION_H
#define AIO_KERNELS_ATTENTION_H

/* e^x as exp_scalar (kernels.h), 8 lanes at a time. */
V8 v8 exp_v8(v8 x) {
    x = v8_min(v8_max(x, v8_set1(EXP_LO)), v8_set1(EXP_HI));
    v8 n = v8_round(v8_mul(x, v8_set1(LOG2E)));
    v8 minus_n = v8_sub(v8_set1(0.0f), n);
    v8 r = v8_fma(minus_n, v8_set1(LN2_HI), x);
    r = v8_fma(minus_n, v8_set1(LN2_LO), r);
    v8 p = v8_fma(v8_set1(P0), r, v8_set1(P1));
    p = v8_fma(p, r, v8_set1(P2));
    p = v8_fma(p, r, v8_set1(P3));
    p = v8_fma(p, r, v8_set1(P4));
    p = v8_fma(p, r, v8_set1(P5));
    p = v8_fma(p, v8_mul(r, r), v8_add(r, v8_set1(1.0f)));
    return v8_scale_by_power_of_2(p, n);
}

/* ---- Attention over one KV block ------------------------------------------------------------------------- */

/*
 * Queries pos0..pos0+n-1 of heads head0..head0+heads-1 (q: query i, head h at q + i * qStride + h * HEAD), one
 * online-softmax step over the tokens of one KV block (the first at position blockStart, count of them written),
 * causal: query i sees the positions up to pos0 + i. Heads go 8 at a time, one per vector lane: each key and value
 * row is read once, front to back, for all of them (a row holds every head), and the softmax runs lane-wise.
 * State per query i and head j: max[i * heads + j], sum[...], acc[(i * heads + j) * HEAD ...]; start from -inf,
 * 0, 0; the caller divides acc by sum at the end. A head's numbers do not depend on its lane.
 * HEAD is a compile-time constant at every call, so the loops over it unroll.
 * Q8 (also a constant): keys and values are signed bytes, the row of token t and KV head c (HEAD entries) scaled by
 * the half keyScales[t * kvDim / HEAD + c] (valueScales likewise). A key's scale multiplies the dot product of the
 * query with its bytes, a value's scale the value's softmax weight, so the bytes are only widened, never scaled.
 */
V8 void attend_heads(const float *q, int qStride, int n, int pos0,
        const void *keys, const void *values, const uint16_t *keyScales, const uint16_t *valueScales, const int Q8,
        int kvDim, int head0, int heads, int groupSize, int blockStart,
        int count, const int HEAD, float scale, float *max, float *sum, float *acc) {
    const int entry = Q8 ? 1 : 2; /* bytes per entry */
    const char *keyBytes = keys, *valueBytes = values;
    int first = blockStart - pos0 > 0 ? blockStart - pos0 : 0;
    /* The rows' pieces these heads read, all asked for at once: one at a time, each waited for memory. */
    int kvFrom = (head0 / groupSize) * HEAD, kvTo = ((head0 + heads - 1) / groupSize + 1) * HEAD;
    for (int t = 0; t < count; t++) {
        for (int d = kvFrom; d < kvTo; d += 32) {
            __builtin_prefetch(keyBytes + ((size_t) t * kvDim + d) * entry);
            __builtin_prefetch(valueBytes + ((size_t) t * kvDim + d) * entry);
        }
    }
    for (int i = first; i < n; i++) {
        int visible = pos0 + i + 1 - blockStart;
        visible = visible > count ? count : visible;
        for (int j0 = 0; j0 < heads; j0 += 8) {
            int lanes = heads - j0 < 8 ? heads - j0 : 8;
            const float *qh[8];
            int kvCol[8];
            for (int k = 0; k < 8; k++) {
                int h = head0 + j0 + (k < lanes ? k : 0);
                qh[k] = k < lanes ? q + (size_t) i * qStride + (size_t) h * HEAD : ZEROS; /* unused lanes: 0 */
                kvCol[k] = (h / groupSize) * HEAD;
            }
            v8 scores[MAX_BLOCK_TOKENS];
            v8 blockMax = v8_set1(-INFINITY);
            for (int t = 0; t < visible; t++) {
                const uint16_t *key = (const uint16_t *) keys + (size_t) t * kvDim;
                const int8_t *key8 = (const int8_t *) keys + (size_t) t * kvDim;
                /* The 8 heads' dot products side by side (8 independent chains), each over its values in order. */
                v8 dots[8];
                for (int k = 0; k < 8; k++) {
                    dots[k] = v8_set1(0.0f);
                }
                for (int c = 0; c < HEAD / 8; c++) {
                    for (int k = 0; k < 8; k++) {
                        v8 kv = Q8 ? v8_from_i8(key8 + kvCol[k] + 8 * c) : v8_from_half(key + kvCol[k] + 8 * c);
                        dots[k] = v8_fma(v8_load(qh[k] + 8 * c), kv, dots[k]);
                    }
                }
                if (Q8) {
                    uint16_t rowScales[8];
                    for (int k = 0; k < 8; k++) {
                        rowScales[k] = keyScales[((size_t) t * kvDim + kvCol[k]) / HEAD];
                    }
                    scores[t] = v8_mul(v8_mul(v8_sum_lanes8(dots), v8_from_half(rowScales)), v8_set1(scale));
                } else {
                    scores[t] = v8_mul(v8_sum_lanes8(dots), v8_set1(scale));
                }
                blockMax = v8_max(blockMax, scores[t]);
            }
            float state[3][8] = {{0}};
            float *m = max + (size_t) i * heads + j0, *s = sum + (size_t) i * heads + j0;
            for (int k = 0; k < lanes; k++) {
                state[0][k] = m[k];
                state[1][k] = s[k];
            }
            v8 oldMax = v8_load(state[0]);
            v8 newMax = v8_max(oldMax, blockMax);
            v8 rescale = exp_v8(v8_sub(oldMax, newMax));
            v8 total = v8_mul(v8_load(state[1]), rescale);
            v8_store(state[2], rescale);
            /* The block's weights first, then each head's output 32 values at a time in registers over all the
             * block's tokens: the same operations on each value in the same order as token by token, without
             * reading and writing the output for every token. */
            float weight[MAX_BLOCK_TOKENS][8];
            for (int t = 0; t < visible; t++) {
                v8 w = exp_v8(v8_sub(scores[t], newMax));
                total = v8_add(total, w);
                if (Q8) {
                    uint16_t rowScales[8];
                    for (int k = 0; k < 8; k++) {
                        rowScales[k] = valueScales[((size_t) t * kvDim + kvCol[k]) / HEAD];
                    }
                    w = v8_mul(w, v8_from_half(rowScales));
                }
                v8_store(weight[t], w);
            }
            float *out = acc + ((size_t) i * heads + j0) * HEAD;
            for (int k = 0; k < lanes; k++) {
                v8 r = v8_set1(state[2][k]);
                float *o = out + k * HEAD;
                for (int c = 0; c < HEAD / 8; c += 4) {
                    v8 o0 = v8_mul(v8_load(o + 8 * c), r);
                    v8 o1 = v8_mul(v8_load(o + 8 * c + 8), r);
                    v8 o2 = v8_mul(v8_load(o + 8 * c + 16), r);
                    v8 o3 = v8_mul(v8_load(o + 8 * c + 24), r);
                    if (Q8) {
                        const int8_t *value = (const int8_t *) values + kvCol[k] + 8 * c;
                        for (int t = 0; t < visible; t++, value += kvDim) {
                            v8 wk = v8_set1(weight[t][k]);
                            o0 = v8_fma(v8_from_i8(value), wk, o0);
                            o1 = v8_fma(v8_from_i8(value + 8), wk, o1);
                            o2 = v8_fma(v8_from_i8(value + 16), wk, o2);
                            o3 = v8_fma(v8_from_i8(value + 24), wk, o3);
                        }
                    } else {
                        const uint16_t *value = (const uint16_t *) values + kvCol[k] + 8 * c;
                        for (int t = 0; t < visible; t++, value += kvDim) {
                            v8 wk = v8_set1(weight[t][k]);
                            o0 = v8_fma(v8_from_half(value), wk, o0);
                            o1 = v8_fma(v8_from_half(value + 8), wk, o1);
                            o2 = v8_fma(v8_from_half(value + 16), wk, o2);
                            o3 = v8_fma(v8_from_half(value + 24), wk, o3);
                        }
                    }
                    v8_store(o + 8 * c, o0);
                    v8_store(o + 8 * c + 8, o1);
                    v8_store(o + 8 * c + 16, o2);
                    v8_store(o + 8 * c + 24, o3);
                }
            }
            v8_store(state[0], newMax);
            v8_store(state[1], total);
            for (int k = 0; k < lanes; k++) {
                m[k] = state[0][k];
                s[k] = state[1][k];
            }
        }
    }
}

/* attend_heads for the block's keys at keyBase and values at valueBase (+ t * kvDim); head sizes 64 and 128
 * (aio_attends_head_size), -1 for anything else. */
V8_ENTRY int32_t attend_block(const float *q, int32_t qStride, int32_t n, int32_t pos0, const uint16_t *block,
                            int32_t keyBase, int32_t valueBase, int32_t kvDim, int32_t head0, int32_t heads,
                            int32_t groupSize, int32_t blockStart, int32_t count, int32_t headSize, float scale,
                            float *max, float *sum, float *acc) {
    if (count > MAX_BLOCK_TOKENS || !aio_attends_head_size(headSize)) {
        return -1;
    }
    const uint16_t *keys = block + keyBase, *values = block + valueBase;
    if (headSize == 64) {
        attend_heads(q, qStride, n, pos0, keys, values, 0, 0, 0, kvDim, head0, heads, groupSize, blockStart, count, 64, scale, max,
                     sum, acc);
    } else {
        attend_heads(q, qStride, n, pos0, keys, values, 0, 0, 0, kvDim, head0, heads, groupSize, blockStart, count, 128, scale,
                     max, sum, acc);
    }
    return 0;
}

/* The same over an 8-bit block: entries in quants, the row of headSize entries at offset o scaled by the half
 * scales[o / headSize]. */
V8_ENTRY int32_t attend_block_q8(const float *q, int32_t qStride, int32_t n, int32_t pos0, const int8_t *quants,
                               const uint16_t *scales, int32_t keyBase, int32_t valueBase, int32_t kvDim, int32_t head0,
                               int32_t heads, int32_t groupSize, int32_t blockStart, int32_t count, int32_t headSize,
                               float scale, float *max, float *sum, float *acc) {
    if (count > MAX_BLOCK_TOKENS || !aio_attends_head_size(headSize)) {
        return -1;
    }
    const int8_t *keys = quants + keyBase, *values = quants + valueBase;
    if (headSize == 64) {
        attend_heads(q, qStride, n, pos0, keys, values, scales + keyBase / 64, scales + valueBase / 64, 1, kvDim, head0, heads,
                     groupSize, blockStart, count, 64, scale, max, sum, acc);
    } else {
        attend_heads(q, qStride, n, pos0, keys, values, scales + keyBase / 128, scales + valueBase / 128, 1, kvDim, head0, heads,
                     groupSize, blockStart, count, 128, scale, max, sum, acc);
    }
    return 0;
}

/* ---- SwiGLU ----------------------------------------------------------------------------------------------- */

/* gate[i] = silu(gate[i]) * up[i] = gate[i] / (1 + e^-gate[i]) * up[i] for i in [from, from + count): 8 values at
 * a time, then the same operations as scalars. */
V8_ENTRY void swiglu(float *gate, const float *up, int32_t from, int32_t count) {
    int i = from, end = from + count;
    for (; i + 8 <= end; i += 8) {
        v8 g = v8_load(gate + i);
        v8 e = exp_v8(v8_sub(v8_set1(0.0f), g));
        v8 silu = v8_div(g, v8_add(v8_set1(1.0f), e));
        v8_store(gate + i, v8_mul(silu, v8_load(up + i)));
    }
    swiglu_tail(gate, up, i, end);
}

/* ---- A variant's entry points: aio_q8_gemm_V, aio_q8_quantize_V, aio_q4_gemm_V, aio_attend_block_V,
 * aio_attend_block_q8_V, aio_swiglu_V */

#define EXPORT_VARIANT(V, QUANTIZE, GEMM, Q8GEMM)                                                                   \
    void aio_q8_gemm_##V(const int8_t *wq, const float *ws, int32_t in, int32_t rows, int32_t g0, int32_t g1,      \
                         const int8_t *xq, const float *xs, const int32_t *xsum8, int32_t n, float *y, int32_t ldy) { \
        Q8GEMM(wq, ws, in, rows, g0, g1, xq, xs, xsum8, n, y, ldy);                                                 \
    }                                                                                                               \
    void aio_q8_quantize_##V(const float *x, int32_t n, int32_t in, int8_t *xq, float *xs, int32_t *xsum8) {       \
        QUANTIZE(x, n, in, xq, xs, xsum8);                                                                          \
    }                                                                                                               \
    void aio_q4_gemm_##V(const uint8_t *wq, const float *ws, int32_t in, int32_t rows, int32_t g0, int32_t g1,     \
                         const int8_t *xq, const float *xs, const int32_t *xsum8, int32_t n, float *y, int32_t ldy) { \
        GEMM(wq, ws, in, rows, g0, g1, xq, xs, xsum8, n, y, ldy);                                                   \
    }                                                                                                               \
    int32_t aio_attend_block_##V(const float *q, int32_t qStride, int32_t n, int32_t pos0, const uint16_t *block,  \
                                 int32_t keyBase, int32_t valueBase, int32_t kvDim, int32_t head0, int32_t heads,   \
                                 int32_t groupSize, int32_t blockStart, int32_t count, int32_t headSize, float scale, \
                                 float *max, float *sum, float *acc) {                                              \
        return attend_block(q, qStride, n, pos0, block, keyBase, valueBase, kvDim, head0, heads, groupSize,         \
                            blockStart, count, headSize, scale, max, sum, acc);                                     \
    }                                                                                                               \
    int32_t aio_attend_block_q8_##V(const float *q, int32_t qStride, int32_t n, int32_t pos0, const int8_t *quants, \
                                    const uint16_t *scales, int32_t keyBase, int32_t valueBase, int32_t kvDim,      \
                                    int32_t head0, int32_t heads, int32_t groupSize, int32_t blockStart,            \
                                    int32_t count, int32_t headSize, float scale, float *max, float *sum,           \
                                    float *acc) {                                                                   \
        return attend_block_q8(q, qStride, n, pos0, quants, scales, keyBase, valueBase, kvDim, head0, heads,        \
                               groupSize, blockStart, count, headSize, scale, max, sum, acc);                       \
    }                                                                                                               \
    void aio_swiglu_##V(float *gate, const float *up, int32_t from, int32_t count) {                                \
        swiglu(gate, up, from, count);                                                                           \
    }

#endif
