/*
 * The ARM64 kernel variants (layout and guarantees: kernels.h):
 *   neondot  NEON with the dot-product instructions (ARMv8.2+ with FEAT_DotProd: Graviton 2 and later, Ampere
 *            Altra, Apple M1 and later, Cortex-A55/A75 and later): sdot adds 4 byte pairs into 32 bits; 4 rows a
 *            vector, the activation's 4 bytes taken from a register lane (no broadcast needed);
 *   neon     plain NEON (every ARMv8-A): smull + pairwise adds into 16 bits, widened once per block.
 * Attention and SwiGLU run on 8-value vectors built of two NEON registers, with the same operations in the same
 * order as the x86-64 AVX2 code, so every variant on both architectures gives the same bits.
 */
#include <arm_neon.h>
#include <sys/auxv.h>
#include "kernels.h"

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

#define DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))

int aio_supported_neon(void) {
    return 1; /* Advanced SIMD, with half-precision conversions, is part of every ARMv8-A CPU */
}

int aio_supported_neondot(void) {
    return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
}

/* ---- Activations to 8 bits (every operation the scalar one lane by lane) ----------------------------------------- */

static void quantize_neon(const float *x, int32_t n, int32_t in, int8_t *xq, float *xs, int32_t *xsum8) {
    int blocks = in / BLOCK;
    for (int i = 0; i < n; i++) {
        for (int b = 0; b < blocks; b++) {
            const float *src = x + (size_t) i * in + b * BLOCK;
            int8_t *dst = xq + (size_t) i * in + b * BLOCK;
            float32x4_t v[8];
            float32x4_t m = vdupq_n_f32(0.0f);
            for (int k = 0; k < 8; k++) {
                v[k] = vld1q_f32(src + 4 * k);
                m = vmaxq_f32(m, vabsq_f32(v[k]));
            }
            float max = vmaxvq_f32(m);
            float32x4_t inverse = vdupq_n_f32(max != 0.0f ? 127.0f / max : 0.0f);
            int32x4_t sum = vdupq_n_s32(0);
            int16x8_t q16[4];
            for (int k = 0; k < 8; k += 2) {
                int32x4_t a = vcvtnq_s32_f32(vmulq_f32(v[k], inverse));
                int32x4_t c = vcvtnq_s32_f32(vmulq_f32(v[k + 1], inverse));
                sum = vaddq_s32(sum, vaddq_s32(a, c));
                q16[k / 2] = vcombine_s16(vmovn_s32(a), vmovn_s32(c));
            }
            vst1q_s8(dst, vcombine_s8(vmovn_s16(q16[0]), vmovn_s16(q16[1])));
            vst1q_s8(dst + 16, vcombine_s8(vmovn_s16(q16[2]), vmovn_s16(q16[3])));
            xs[(size_t) i * blocks + b] = max / 127.0f;
            xsum8[(size_t) i * blocks + b] = 8 * vaddvq_s32(sum);
        }
    }
}

/* ---- Q4 x 8-bit products: 4 rows a vector, a group as four quarters ---------------------------------------------- */

/*
 * One block of quarter k (rows 4k..4k+3) against R activation rows: each row's exact integer block sum (before the
 * nibbles' offset), then sum += (float) (blockSum - offset) * (weightScale * activationScale).
 * neondot: sdot with the activation's bytes 4v..4v+3 taken from lane v of the activation's 16-byte half.
 * neon: smull of the 4 rows' bytes with the 4 activation bytes repeated, pairwise adds into 16 bits (a block's
 * 8 steps add up to at most 8 x 2 x 15 x 127 = 30480), widened to 32 bits once per block.
 */
#define NEONDOT_STEP(acc, lo, hi, a_lo, a_hi, v)                                                                    \
    acc = vdotq_laneq_s32(vdotq_laneq_s32(acc, lo, a_lo, v), hi, a_hi, v)

#define DEFINE_ROWS_NEONDOT(R)                                                                                      \
    DOTPROD static inline void rows_neondot_##R(const uint8_t *wg, const float *sg, int blocks, int in, int k,      \
                                                const int8_t *xq, const float *xs, const int32_t *xsum8,            \
                                                float32x4_t *acc) {                                                 \
        const uint8x16_t mask = vdupq_n_u8(0x0F);                                                                   \
        float32x4_t sums[R];                                                                                        \
        for (int r = 0; r < R; r++) {                                                                               \
            sums[r] = vdupq_n_f32(0.0f);                                                                            \
        }                                                                                                           \
        for (int b = 0; b < blocks; b++) {                                                                          \
            const uint8_t *wb = wg + (size_t) b * GROUP_BLOCK_BYTES;                                                \
            if (k == 0) { /* the other quarters find the group in the cache */                                      \
                prefetch_ahead(wb);                                                                                 \
            }                                                                                                       \
            int32x4_t block[R];                                                                                     \
            int8x16_t a_lo[R], a_hi[R];                                                                             \
            for (int r = 0; r < R; r++) {                                                                           \
                block[r] = vdupq_n_s32(-xsum8[(size_t) r * blocks + b]);                                            \
                a_lo[r] = vld1q_s8(xq + (size_t) r * in + b * BLOCK);                                               \
                a_hi[r] = vld1q_s8(xq + (size_t) r * in + b * BLOCK + 16);                                          \
            }                                                                                                       \
            uint8x16_t w0 = vld1q_u8(wb + 16 * k), w1 = vld1q_u8(wb + 64 + 16 * k);                                 \
            uint8x16_t w2 = vld1q_u8(wb + 128 + 16 * k), w3 = vld1q_u8(wb + 192 + 16 * k);                          \
            int8x16_t lo0 = vreinterpretq_s8_u8(vandq_u8(w0, mask)), hi0 = vreinterpretq_s8_u8(vshrq_n_u8(w0, 4));  \
            int8x16_t lo1 = vreinterpretq_s8_u8(vandq_u8(w1, mask)), hi1 = vreinterpretq_s8_u8(vshrq_n_u8(w1, 4));  \
            int8x16_t lo2 = vreinterpretq_s8_u8(vandq_u8(w2, mask)), hi2 = vreinterpretq_s8_u8(vshrq_n_u8(w2, 4));  \
            int8x16_t lo3 = vreinterpretq_s8_u8(vandq_u8(w3, mask)), hi3 = vreinterpretq_s8_u8(vshrq_n_u8(w3, 4));  \
            for (int r = 0; r < R; r++) {                                                                           \
                NEONDOT_STEP(block[r], lo0, hi0, a_lo[r], a_hi[r], 0);                                              \
                NEONDOT_STEP(block[r], lo1, hi1, a_lo[r], a_hi[r], 1);                                              \
                NEONDOT_STEP(block[r], lo2, hi2, a_lo[r], a_hi[r], 2);                                              \
                NEONDOT_STEP(block[r], lo3, hi3, a_lo[r], a_hi[r], 3);                                              \
            }                                                                                                       \
            float32x4_t sw = vld1q_f32(sg + (size_t) b * GROUP + 4 * k);                                            \
            for (int r = 0; r < R; r++) {                                                                           \
                float32x4_t scale = vmulq_f32(sw, vdupq_n_f32(xs[(size_t) r * blocks + b]));                        \
                sums[r] = vfmaq_f32(sums[r], vcvtq_f32_s32(block[r]), scale);                                       \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < R; r++) {                                                                               \
            acc[r] = sums[r];                                                                                       \
        }                                                                                                           \
    }

/* The 4 rows' bytes (lo or hi nibbles, one vector) times the activation bytes a[0..3] repeated: 8 pair sums. */
static inline int16x8_t pairs_neon(int8x16_t w, const int8_t *a) {
    int8x16_t x = vreinterpretq_s8_s32(vdupq_n_s32(load_i32(a)));
    return vpaddq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(x)), vmull_high_s8(w, x));
}

#define DEFINE_ROWS_NEON(R)                                                                                         \
    static inline void rows_neon_##R(const uint8_t *wg, const float *sg, int blocks, int in, int k,                 \
                                     const int8_t *xq, const float *xs, const int32_t *xsum8, float32x4_t *acc) {   \
        const uint8x16_t mask = vdupq_n_u8(0x0F);                                                                   \
        float32x4_t sums[R];                                                                                        \
        for (int r = 0; r < R; r++) {                                                                               \
            sums[r] = vdupq_n_f32(0.0f);                                                                            \
        }                                                                                                           \
        for (int b = 0; b < blocks; b++) {                                                                          \
            const uint8_t *wb = wg + (size_t) b * GROUP_BLOCK_BYTES;                                                \
            if (k == 0) { /* the other quarters find the group in the cache */                                      \
                prefetch_ahead(wb);                                                                                 \
            }                                                                                                       \
            int16x8_t block[R];                                                                                     \
            for (int r = 0; r < R; r++) {                                                                           \
                block[r] = vdupq_n_s16(0);                                                                          \
            }                                                                                                       \
            for (int v = 0; v < 4; v++) {                                                                           \
                uint8x16_t w = vld1q_u8(wb + 64 * v + 16 * k);                                                      \
                int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(w, mask)), hi = vreinterpretq_s8_u8(vshrq_n_u8(w, 4));  \
                for (int r = 0; r < R; r++) {                                                                       \
                    const int8_t *a = xq + (size_t) r * in + b * BLOCK;                                             \
                    block[r] = vaddq_s16(block[r], vaddq_s16(pairs_neon(lo, a + 4 * v), pairs_neon(hi, a + 16 + 4 * v))); \
                }                                                                                                   \
            }                                                                                                       \
            float32x4_t sw = vld1q_f32(sg + (size_t) b * GROUP + 4 * k);                                            \
            for (int r = 0; r < R; r++) {                                                                           \
                int32x4_t total = vsubq_s32(vpaddlq_s16(block[r]), vdupq_n_s32(xsum8[(size_t) r * blocks + b]));    \
                float32x4_t scale = vmulq_f32(sw, vdupq_n_f32(xs[(size_t) r * blocks + b]));                        \
                sums[r] = vfmaq_f32(sums[r], vcvtq_f32_s32(total), scale);                                          \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < R; r++) {                                                                               \
            acc[r] = sums[r];                                                                                       \
        }                                                                                                           \
    }

static inline void store128(float *y, int row0, int rows, float32x4_t acc) {
    if (row0 + 4 <= rows) {
        vst1q_f32(y + row0, acc);
    } else if (row0 < rows) {
        float tmp[4];
        vst1q_f32(tmp, acc);
        memcpy(y + row0, tmp, (size_t) (rows - row0) * sizeof(float));
    }
}

/* A variant: its rows functions and its driver, a group as four quarters of 4 rows. */
#define DEFINE_GEMM128(NAME, ATTR, DEFINE_ROWS, ROWS)                                                               \
    DEFINE_ROWS(1)                                                                                                  \
    DEFINE_ROWS(2)                                                                                                  \
    DEFINE_ROWS(4)                                                                                                  \
    DEFINE_SLICED_GEMM(NAME, ATTR, float32x4_t, 4, ROWS, store128)

DEFINE_GEMM128(gemm_neondot, DOTPROD, DEFINE_ROWS_NEONDOT, rows_neondot)
DEFINE_GEMM128(gemm_neon, , DEFINE_ROWS_NEON, rows_neon)

/* ---- Q8 x 8-bit products: 4 rows a vector, a group as four quarters ---------------------------------------------- */

/*
 * One block of quarter k (rows 4k..4k+3) against R activation rows; a row's exact integer block sum, then
 * sum += (float) blockSum * (weightScale * activationScale), as every variant.
 * neondot: sdot (signed x signed) with the activation's bytes 4v..4v+3 from lane v of its 16-byte halves.
 * neon: smull of the 4 rows' bytes with the 4 activation bytes repeated, pairwise adds into 16 bits (at most
 * 2 x 128 x 127 = 32512), accumulated into 32 bits at every step (sadalp).
 */
#define DEFINE_Q8ROWS_NEONDOT(R)                                                                                    \
    DOTPROD static inline void q8rows_neondot_##R(const int8_t *wg, const float *sg, int blocks, int in, int k,     \
                                                  const int8_t *xq, const float *xs, const int32_t *xsum8,          \
                                                  float32x4_t *acc) {                                               \
        (void) xsum8;                                                                                               \
        float32x4_t sums[R];                                                                                        \
        for (int r = 0; r < R; r++) {                                                                               \
            sums[r] = vdupq_n_f32(0.0f);                                                                            \
        }                                                                                                           \
        for (int b = 0; b < blocks; b++) {                                                                          \
            const int8_t *wb = wg + (size_t) b * Q8_GROUP_BLOCK_BYTES;                                              \
            if (k == 0) {                                                                                           \
                prefetch_ahead_q8(wb);                                                                              \
            }                                                                                                       \
            int8x16_t w[8];                                                                                         \
            for (int v = 0; v < 8; v++) {                                                                           \
                w[v] = vld1q_s8(wb + 64 * v + 16 * k);                                                              \
            }                                                                                                       \
            float32x4_t sw = vld1q_f32(sg + (size_t) b * GROUP + 4 * k);                                            \
            for (int r = 0; r < R; r++) {                                                                           \
                int8x16_t a_lo = vld1q_s8(xq + (size_t) r * in + b * BLOCK);                                        \
                int8x16_t a_hi = vld1q_s8(xq + (size_t) r * in + b * BLOCK + 16);                                   \
                int32x4_t dot = vdupq_n_s32(0);                                                                     \
                dot = vdotq_laneq_s32(dot, w[0], a_lo, 0);                                                          \
                dot = vdotq_laneq_s32(dot, w[1], a_lo, 1);                                                          \
                dot = vdotq_laneq_s32(dot, w[2], a_lo, 2);                                                          \
                dot = vdotq_laneq_s32(dot, w[3], a_lo, 3);                                                          \
                dot = vdotq_laneq_s32(dot, w[4], a_hi, 0);                                                          \
                dot = vdotq_laneq_s32(dot, w[5], a_hi, 1);                                                          \
                dot = vdotq_laneq_s32(dot, w[6], a_hi, 2);                                                          \
                dot = vdotq_laneq_s32(dot, w[7], a_hi, 3);                                                          \
                float32x4_t scale = vmulq_f32(sw, vdupq_n_f32(xs[(size_t) r * blocks + b]));                        \
                sums[r] = vfmaq_f32(sums[r], vcvtq_f32_s32(dot), scale);                                            \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < R; r++) {                                                                               \
            acc[r] = sums[r];                                                                                       \
        }                                                                                                           \
    }

#define DEFINE_Q8ROWS_NEON(R)                                                                                       \
    static inline void q8rows_neon_##R(const int8_t *wg, const float *sg, int blocks, int in, int k,                \
                                       const int8_t *xq, const float *xs, const int32_t *xsum8, float32x4_t *acc) { \
        (void) xsum8;                                                                                               \
        float32x4_t sums[R];                                                                                        \
        for (int r = 0; r < R; r++) {                                                                               \
            sums[r] = vdupq_n_f32(0.0f);                                                                            \
        }                                                                                                           \
        for (int b = 0; b < blocks; b++) {                                                                          \
            const int8_t *wb = wg + (size_t) b * Q8_GROUP_BLOCK_BYTES;                                              \
            if (k == 0) {                                                                                           \
                prefetch_ahead_q8(wb);                                                                              \
            }                                                                                                       \
            int32x4_t block[R];                                                                                     \
            for (int r = 0; r < R; r++) {                                                                           \
                block[r] = vdupq_n_s32(0);                                                                          \
            }                                                                                                       \
            for (int v = 0; v < 8; v++) {                                                                           \
                int8x16_t w = vld1q_s8(wb + 64 * v + 16 * k);                                                       \
                for (int r = 0; r < R; r++) {                                                                       \
                    block[r] = vpadalq_s16(block[r], pairs_neon(w, xq + (size_t) r * in + b * BLOCK + 4 * v));      \
                }                                                                                                   \
            }                                                                                                       \
            float32x4_t sw = vld1q_f32(sg + (size_t) b * GROUP + 4 * k);                                            \
            for (int r = 0; r < R; r++) {                                                                           \
                float32x4_t scale = vmulq_f32(sw, vdupq_n_f32(xs[(size_t) r * blocks + b]));                        \
                sums[r] = vfmaq_f32(sums[r], vcvtq_f32_s32(block[r]), scale);                                       \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < R; r++) {                                                                               \
            acc[r] = sums[r];                                                                                       \
        }                                                                                                           \
    }

#define DEFINE_Q8GEMM128(NAME, ATTR, DEFINE_ROWS, ROWS)                                                             \
    DEFINE_ROWS(1)                                                                                                  \
    DEFINE_ROWS(2)                                                                                                  \
    DEFINE_ROWS(4)                                                                                                  \
    DEFINE_SLICED_GEMM_OF(NAME, ATTR, float32x4_t, 4, ROWS, store128, int8_t, Q8_GROUP_BLOCK_BYTES)

DEFINE_Q8GEMM128(q8gemm_neondot, DOTPROD, DEFINE_Q8ROWS_NEONDOT, q8rows_neondot)
DEFINE_Q8GEMM128(q8gemm_neon, , DEFINE_Q8ROWS_NEON, q8rows_neon)

/* ---- 8-value vectors of two NEON registers, operation for operation as AVX2's __m256 ------------------------------ */

typedef struct {
    float32x4_t lo, hi;
} v8;

static inline v8 v8_set1(float x) { return (v8) {vdupq_n_f32(x), vdupq_n_f32(x)}; }
static inline v8 v8_load(const float *p) { return (v8) {vld1q_f32(p), vld1q_f32(p + 4)}; }
static inline void v8_store(float *p, v8 a) { vst1q_f32(p, a.lo); vst1q_f32(p + 4, a.hi); }
static inline v8 v8_add(v8 a, v8 b) { return (v8) {vaddq_f32(a.lo, b.lo), vaddq_f32(a.hi, b.hi)}; }
static inline v8 v8_sub(v8 a, v8 b) { return (v8) {vsubq_f32(a.lo, b.lo), vsubq_f32(a.hi, b.hi)}; }
static inline v8 v8_mul(v8 a, v8 b) { return (v8) {vmulq_f32(a.lo, b.lo), vmulq_f32(a.hi, b.hi)}; }
static inline v8 v8_div(v8 a, v8 b) { return (v8) {vdivq_f32(a.lo, b.lo), vdivq_f32(a.hi, b.hi)}; }
static inline v8 v8_max(v8 a, v8 b) { return (v8) {vmaxq_f32(a.lo, b.lo), vmaxq_f32(a.hi, b.hi)}; }
static inline v8 v8_min(v8 a, v8 b) { return (v8) {vminq_f32(a.lo, b.lo), vminq_f32(a.hi, b.hi)}; }
/* a * b + c, fused (as _mm256_fmadd_ps). */
static inline v8 v8_fma(v8 a, v8 b, v8 c) { return (v8) {vfmaq_f32(c.lo, a.lo, b.lo), vfmaq_f32(c.hi, a.hi, b.hi)}; }
static inline v8 v8_round(v8 a) { return (v8) {vrndnq_f32(a.lo), vrndnq_f32(a.hi)}; }
static inline v8 v8_scale_by_power_of_2(v8 p, v8 n) {
    int32x4_t elo = vshlq_n_s32(vcvtq_s32_f32(n.lo), 23), ehi = vshlq_n_s32(vcvtq_s32_f32(n.hi), 23);
    return (v8) {vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(p.lo), elo)),
                 vreinterpretq_f32_s32(vaddq_s32(vreinterpretq_s32_f32(p.hi), ehi))};
}
static inline v8 v8_from_half(const uint16_t *p) {
    return (v8) {vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))), vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p + 4)))};
}
static inline v8 v8_from_i8(const int8_t *p) {
    int16x8_t w = vmovl_s8(vld1_s8(p));
    return (v8) {vcvtq_f32_s32(vmovl_s16(vget_low_s16(w))), vcvtq_f32_s32(vmovl_s16(vget_high_s16(w)))};
}

/* The 8 lanes' sums of v[0..7] in AVX2's order (hadd, hadd, add of the 128-bit halves): lane t =
 * ((v[t]0 + v[t]1) + (v[t]2 + v[t]3)) + ((v[t]4 + v[t]5) + (v[t]6 + v[t]7)). */
static inline v8 v8_sum_lanes8(const v8 *v) {
    float32x4_t p[8];
    for (int t = 0; t < 8; t++) {
        p[t] = vpaddq_f32(v[t].lo, v[t].hi); /* A0 A1 B0 B1: A = v[t]0..3 pairs, B = v[t]4..7 pairs */
        p[t] = vpaddq_f32(p[t], p[t]);       /* A, B, A, B */
    }
    float32x4_t lo = vpaddq_f32(vcombine_f32(vget_low_f32(p[0]), vget_low_f32(p[1])),
                                vcombine_f32(vget_low_f32(p[2]), vget_low_f32(p[3])));
    float32x4_t hi = vpaddq_f32(vcombine_f32(vget_low_f32(p[4]), vget_low_f32(p[5])),
                                vcombine_f32(vget_low_f32(p[6]), vget_low_f32(p[7])));
    return (v8) {lo, hi};
}

#define V8 static inline __attribute__((always_inline))
#define V8_ENTRY static
#include "kernels_attention.h"

/* ---- The variants' entry points ----------------------------------------------------------------------------- */

EXPORT_VARIANT(neondot, quantize_neon, gemm_neondot, q8gemm_neondot)
EXPORT_VARIANT(neon, quantize_neon, gemm_neon, q8gemm_neon)
