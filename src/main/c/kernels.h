/*
 * The engine's C kernels: what every variant shares (constants, the packed weight layout, e^x as scalars).
 * Loaded through Java's FFM API by dev.allinone.engine.NativeKernels; one library per architecture
 * (kernels_x86.c: AVX-512 VNNI, AVX-VNNI, AVX2; kernels_arm64.c: NEON with and without the dot product), each
 * exporting, per variant V, aio_supported_V, aio_q8_quantize_V, aio_q4_gemm_V, aio_q8_gemm_V, aio_attend_block_V,
 * aio_attend_block_q8_V (8-bit KV blocks) and aio_swiglu_V.
 * Attention, SwiGLU and e^x are written once (kernels_attention.h) on an 8-value vector each architecture defines.
 *
 * Weights are repacked once at load into groups of 16 rows (kernels_common.c): per 32-value block, four 64-byte
 * vectors, vector v holding for each of the 16 rows the 4 bytes 4v..4v+3 of that row's Q4 block (low nibbles:
 * values 4v..4v+3, high nibbles: values 16+4v..16+4v+3 - the byte order Jlama stores), then the 16 rows' block
 * scales. Every variant reads this one layout: a 512-bit vector holds the 16 rows, a 256-bit one 8 of them, a
 * 128-bit one 4; each lane's 4 bytes meet 4 activation bytes broadcast to every lane, so the lanes end as rows'
 * block sums and no horizontal reduction is needed.
 *
 * Q8 weights (Jlama's: 32 signed bytes and a float scale per row and block, as llama.cpp's Q8_0) are repacked the
 * same way into groups of 16 rows, per block eight 64-byte vectors (vector v: bytes 4v..4v+3 of each row), then the
 * 16 rows' scales (aio_q8_repack).
 *
 * Activations are rounded to 8 bits per block of 32 as llama.cpp's vector code for Q8_0 does: scale = max|x| / 127,
 * value = x * 127/max rounded to the nearest integer, ties to even (its scalar reference rounds ties away from zero;
 * not as Jlama's quantizeQ8, whose (int) (x * 127/max + 0.5) moves every negative value of half a step or more up
 * by half a step to a step and a half); built with -ffp-contract=off so that the rounding matches the Java code
 * (QwenJlamaModel.roundTo8Bits) to the bit. Q8's products also take the
 * rounding's residual, rounded the same way, as more activation rows (NativeProducts).
 *
 * Every variant computes a row's result with the same arithmetic in the same order: the block's integer sum is
 * exact (any order gives the same integer), then sum += (float) blockSum * (weightScale * activationScale) as one
 * fused multiply-add, block after block. So the variants agree to the bit with each other, and a row's result does
 * not depend on how many rows are in the call (what a sequence gets does not depend on its batch).
 */
#ifndef AIO_KERNELS_H
#define AIO_KERNELS_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <math.h>

#define BLOCK 32
#define GROUP 16
#define GROUP_BLOCK_BYTES (GROUP * BLOCK / 2)
/* Q8: a group's block is 8 vectors of 64 bytes (4 bytes of each of the 16 rows per vector), as Q4's 4. */
#define Q8_GROUP_BLOCK_BYTES (GROUP * BLOCK)
/* How far ahead of the block being multiplied its group's weights are fetched. */
#define PREFETCH_BYTES 2048
/* The longest KV block the attention kernels take (tokens). */
#define MAX_BLOCK_TOKENS 64

int64_t aio_q4_packed_bytes(int32_t rows, int32_t in);
int64_t aio_q4_packed_scales(int32_t rows, int32_t in);
void aio_q4_repack(const uint8_t *q, const float *scales, int32_t rows, int32_t in, uint8_t *out, float *out_scales);
int64_t aio_q8_packed_bytes(int32_t rows, int32_t in);
void aio_q8_repack(const int8_t *q, const float *scales, int32_t rows, int32_t in, int8_t *out, float *out_scales);
void aio_residual(const float *x, const int8_t *xq, const float *xs, int64_t values, float *r);
int aio_attends_head_size(int32_t headSize);

/* Asks for a 16-row group's weights PREFETCH_BYTES ahead of block wb, a cache line at a time (prefetcht0 / prfm
 * pldl1keep): read one at a time, each would wait for memory. */
static inline void prefetch_ahead(const uint8_t *wb) {
    for (int line = 0; line < GROUP_BLOCK_BYTES; line += 64) {
        __builtin_prefetch(wb + PREFETCH_BYTES + line);
    }
}

/* The same for a Q8 group's block (twice the bytes). */
static inline void prefetch_ahead_q8(const int8_t *wb) {
    for (int line = 0; line < Q8_GROUP_BLOCK_BYTES; line += 64) {
        __builtin_prefetch(wb + 2 * PREFETCH_BYTES + line);
    }
}

/* A head's worth of zeros: the query of an attention lane no head uses. */
static const float ZEROS[128] __attribute__((aligned(64))) = {0};

static inline int32_t load_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/*
 * e^x for x in [-87, 87] (clamped), to about 2 ulp: x = n ln2 + r, e^r by a degree-6 polynomial on |r| <= ln2/2,
 * 2^n put into the exponent. The scalar and every vector form run the same operations, so a value's result does
 * not depend on which lane, which thread's piece or which variant computed it.
 */
static const float EXP_HI = 87.0f, EXP_LO = -87.0f, LOG2E = 1.44269504f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
static const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
                   P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

static inline float exp_scalar(float x) {
    x = x > EXP_HI ? EXP_HI : (x < EXP_LO ? EXP_LO : x);
    float n = nearbyintf(x * LOG2E);
    float r = fmaf(-n, LN2_HI, x);
    r = fmaf(-n, LN2_LO, r);
    float p = fmaf(P0, r, P1);
    p = fmaf(p, r, P2);
    p = fmaf(p, r, P3);
    p = fmaf(p, r, P4);
    p = fmaf(p, r, P5);
    p = fmaf(p, r * r, r + 1.0f);
    int32_t bits;
    memcpy(&bits, &p, 4);
    bits += (int32_t) n << 23;
    memcpy(&p, &bits, 4);
    return p;
}

/* silu(g) * u for the elements a vector loop left over. */
static inline void swiglu_tail(float *gate, const float *up, int from, int end) {
    for (int i = from; i < end; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + exp_scalar(-g)) * up[i];
    }
}

/*
 * The product driver of a variant whose vector holds SLICE_ROWS of a group's 16 rows (16 / SLICE_ROWS slices):
 * for the groups g0 <= g < g1, each slice, the activation rows 4, 2, then 1 at a time through
 * ROWS##_4 / _2 / _1(wg, sg, blocks, in, slice, xq, xs, xsum8, acc), each row's result vector stored by
 * STORE(y, row0, rows, vector). y[i * ldy + row] = sum over in of x[i] * W[row]; rows = the matrix's real row
 * count (the last group may be partial).
 */
#define DEFINE_SLICED_GEMM(NAME, ATTR, VEC, SLICE_ROWS, ROWS, STORE)                                                \
    DEFINE_SLICED_GEMM_OF(NAME, ATTR, VEC, SLICE_ROWS, ROWS, STORE, uint8_t, GROUP_BLOCK_BYTES)

/* The same for weights of element type WT and BLOCK_BYTES bytes per group and block (Q8: int8_t, Q8_GROUP_BLOCK_BYTES). */
#define DEFINE_SLICED_GEMM_OF(NAME, ATTR, VEC, SLICE_ROWS, ROWS, STORE, WT, BLOCK_BYTES)                            \
    ATTR static void NAME(const WT *wq, const float *ws, int32_t in, int32_t rows, int32_t g0, int32_t g1,          \
                          const int8_t *xq, const float *xs, const int32_t *xsum8, int32_t n, float *y, int32_t ldy) { \
        int blocks = in / BLOCK;                                                                                    \
        VEC acc[4];                                                                                                 \
        for (int g = g0; g < g1; g++) {                                                                             \
            const WT *wg = wq + (size_t) g * blocks * (BLOCK_BYTES);                                                \
            const float *sg = ws + (size_t) g * blocks * GROUP;                                                     \
            for (int slice = 0; slice < GROUP / (SLICE_ROWS); slice++) {                                            \
                int row0 = g * GROUP + (SLICE_ROWS) * slice;                                                        \
                int i = 0;                                                                                          \
                for (; i + 4 <= n; i += 4) {                                                                        \
                    ROWS##_4(wg, sg, blocks, in, slice, xq + (size_t) i * in, xs + (size_t) i * blocks,             \
                             xsum8 + (size_t) i * blocks, acc);                                                     \
                    for (int r = 0; r < 4; r++) {                                                                   \
                        STORE(y + (size_t) (i + r) * ldy, row0, rows, acc[r]);                                      \
                    }                                                                                               \
                }                                                                                                   \
                for (; i + 2 <= n; i += 2) {                                                                        \
                    ROWS##_2(wg, sg, blocks, in, slice, xq + (size_t) i * in, xs + (size_t) i * blocks,             \
                             xsum8 + (size_t) i * blocks, acc);                                                     \
                    for (int r = 0; r < 2; r++) {                                                                   \
                        STORE(y + (size_t) (i + r) * ldy, row0, rows, acc[r]);                                      \
                    }                                                                                               \
                }                                                                                                   \
                for (; i < n; i++) {                                                                                \
                    ROWS##_1(wg, sg, blocks, in, slice, xq + (size_t) i * in, xs + (size_t) i * blocks,             \
                             xsum8 + (size_t) i * blocks, acc);                                                     \
                    STORE(y + (size_t) i * ldy, row0, rows, acc[0]);                                                \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
    }

#endif
