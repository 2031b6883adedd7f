/*
 * The x86-64 kernel variants (layout and guarantees: kernels.h):
 *   avx512vnni  512-bit vpdpbusd: 4 byte pairs multiplied and added in one instruction, 16 rows a vector;
 *   avxvnni     the same instruction on 256-bit vectors (VEX-encoded AVX-VNNI: Alder Lake and later clients), 8 rows;
 *   avx2        vpmaddubsw + vpmaddwd (AVX2 without VNNI: Haswell to Comet Lake, Xeons before Cascade Lake, Zen 1
 *               to 3), 8 rows.
 * Attention and SwiGLU are AVX2 + FMA + F16C for all three. Java's Vector API has no 8-bit dot-product
 * instruction, and with 32-value blocks each carrying its own scale the float kernels it can express top out below
 * the prompt speed we need.
 */
#include <immintrin.h>
#include "kernels.h"

#define VNNI512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512vnni")))
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVXVNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#define ATTN AVX2

static int has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
}

int aio_supported_avx2(void) {
    return has_avx2();
}

int aio_supported_avxvnni(void) {
    return has_avx2() && __builtin_cpu_supports("avxvnni");
}

int aio_supported_avx512vnni(void) {
    return has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
}

/* ---- Activations to 8 bits ------------------------------------------------------------------------------ */

/* n rows of in floats into 8-bit values, a scale per block and 8 x each block's sum (the offset of the nibbles).
 * 16 values per vector; every operation is the scalar one lane by lane, so the result is the same. */
VNNI512 static void quantize512(const float *x, int32_t n, int32_t in, int8_t *xq, float *xs, int32_t *xsum8) {
    int blocks = in / BLOCK;
    for (int i = 0; i < n; i++) {
        for (int b = 0; b < blocks; b++) {
            const float *src = x + (size_t) i * in + b * BLOCK;
            int8_t *dst = xq + (size_t) i * in + b * BLOCK;
            __m512 lo = _mm512_loadu_ps(src), hi = _mm512_loadu_ps(src + 16);
            float max = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
            __m512 inverse = _mm512_set1_ps(max != 0.0f ? 127.0f / max : 0.0f);
            __m512i qlo = _mm512_cvt_roundps_epi32(_mm512_mul_ps(lo, inverse), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            __m512i qhi = _mm512_cvt_roundps_epi32(_mm512_mul_ps(hi, inverse), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            _mm_storeu_si128((__m128i *) dst, _mm512_cvtepi32_epi8(qlo));
            _mm_storeu_si128((__m128i *) (dst + 16), _mm512_cvtepi32_epi8(qhi));
            xs[(size_t) i * blocks + b] = max / 127.0f;
            xsum8[(size_t) i * blocks + b] = 8 * _mm512_reduce_add_epi32(_mm512_add_epi32(qlo, qhi));
        }
    }
}

/* The same on 8-value vectors (the maximum and the integer sum are exact in any order). */
AVX2 static void quantize256(const float *x, int32_t n, int32_t in, int8_t *xq, float *xs, int32_t *xsum8) {
    int blocks = in / BLOCK;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    /* packs_epi32 / packs_epi16 interleave the 128-bit lanes; this puts the values back in order. */
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int i = 0; i < n; i++) {
        for (int b = 0; b < blocks; b++) {
            const float *src = x + (size_t) i * in + b * BLOCK;
            int8_t *dst = xq + (size_t) i * in + b * BLOCK;
            __m256 v[4];
            __m256 m = _mm256_setzero_ps();
            for (int k = 0; k < 4; k++) {
                v[k] = _mm256_loadu_ps(src + 8 * k);
                m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[k]));
            }
            __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
            float max = _mm_cvtss_f32(m4);
            __m256 inverse = _mm256_set1_ps(max != 0.0f ? 127.0f / max : 0.0f);
            __m256i q[4];
            __m256i sum = _mm256_setzero_si256();
            for (int k = 0; k < 4; k++) {
                q[k] = _mm256_cvttps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], inverse), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
                sum = _mm256_add_epi32(sum, q[k]);
            }
            __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            _mm256_storeu_si256((__m256i *) dst, _mm256_permutevar8x32_epi32(packed, order));
            __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
            s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
            xs[(size_t) i * blocks + b] = max / 127.0f;
            xsum8[(size_t) i * blocks + b] = 8 * _mm_cvtsi128_si32(s4);
        }
    }
}

/* ---- Q4 x 8-bit products, AVX-512 VNNI: 16 rows a vector ---------------------------------------------------- */

/*
 * R activation rows against one group of 16 weight rows; acc[r] holds the 16 outputs of row r. A row's block sum is
 * built in two integer accumulators (low and high nibbles) and added exactly; the float accumulation over blocks
 * is the same for every R.
 */
#define DEFINE_ROWS512(R)                                                                                           \
    VNNI512 static inline void rows512_##R(const uint8_t *wg, const float *sg, int blocks, int in, const int8_t *xq, \
                                    const float *xs, const int32_t *xsum8, __m512 *acc) {                           \
        const __m512i mask = _mm512_set1_epi8(0x0F);                                                                \
        /* Local sums: acc may alias the inputs (__m512 may alias anything), which would keep them in memory. */    \
        __m512 sums[R];                                                                                             \
        for (int r = 0; r < R; r++) {                                                                               \
            sums[r] = _mm512_setzero_ps();                                                                          \
        }                                                                                                           \
        for (int b = 0; b < blocks; b++) {                                                                          \
            const uint8_t *wb = wg + (size_t) b * GROUP_BLOCK_BYTES;                                                \
            prefetch_ahead(wb);                                                                                     \
            __m512i lo[4], hi[4];                                                                                   \
            for (int v = 0; v < 4; v++) {                                                                           \
                __m512i w = _mm512_loadu_si512(wb + v * 4 * GROUP);                                                 \
                lo[v] = _mm512_and_si512(w, mask);                                                                  \
                hi[v] = _mm512_and_si512(_mm512_srli_epi16(w, 4), mask);                                            \
            }                                                                                                       \
            __m512 sw = _mm512_loadu_ps(sg + (size_t) b * GROUP);                                                   \
            for (int r = 0; r < R; r++) {                                                                           \
                const int8_t *a = xq + (size_t) r * in + b * BLOCK;                                                 \
                __m512i low = _mm512_set1_epi32(-xsum8[(size_t) r * blocks + b]), high = _mm512_setzero_si512();    \
                for (int v = 0; v < 4; v++) {                                                                       \
                    low = _mm512_dpbusd_epi32(low, lo[v], _mm512_set1_epi32(load_i32(a + 4 * v)));                  \
                    high = _mm512_dpbusd_epi32(high, hi[v], _mm512_set1_epi32(load_i32(a + 16 + 4 * v)));           \
                }                                                                                                   \
                __m512 scale = _mm512_mul_ps(sw, _mm512_set1_ps(xs[(size_t) r * blocks + b]));                      \
                sums[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(low, high)), scale, sums[r]);         \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < R; r++) {                                                                               \
            acc[r] = sums[r];                                                                                       \
        }                                                                                                           \
    }

DEFINE_ROWS512(1)
DEFINE_ROWS512(4)
DEFINE_ROWS512(8)

VNNI512 static inline void store512(float *y, int row0, int rows, __m512 acc) {
    if (row0 + GROUP <= rows) {
        _mm512_storeu_ps(y + row0, acc);
    } else {
        _mm512_mask_storeu_ps(y + row0, (__mmask16) ((1u << (rows - row0)) - 1), acc);
    }
}

/* ---- Q8 x 8-bit products, AVX-512 VNNI ------------------------------------------------------------------------- */

/*
 * As rows512_R for Q8 weights: vpdpbusd multiplies unsigned by signed bytes, so each weight byte is read as
 * w + 128 (its top bit flipped) and the offset, 128 x the activations' block sum = 16 x xsum8, is taken off at the
 * start; the block sum stays exact (at most 32 x 255 x 127 in magnitude).
 */
#define DEFINE_Q8ROWS512(R)                                                                                         \
    VNNI512 static inline void q8rows512_##R(const int8_t *wg, const float *sg, int blocks, int in, const int8_t *xq, \
                                      const float *xs, const int32_t *xsum8, __m512 *acc) {                         \
        const __m512i flip = _mm512_set1_epi8((char) 0x80);                                                         \
        __m512 sums[R];                                                                                             \
        for (int r = 0; r < R; r++) {                                                                               \
            sums[r] = _mm512_setzero_ps();                                                                          \
        }                                                                                                           \
        for (int b = 0; b < blocks; b++) {                                                                          \
            const int8_t *wb = wg + (size_t) b * Q8_GROUP_BLOCK_BYTES;                                              \
            prefetch_ahead_q8(wb);                                                                                  \
            __m512i w[8];                                                                                           \
            for (int v = 0; v < 8; v++) {                                                                           \
                w[v] = _mm512_xor_si512(_mm512_loadu_si512(wb + v * 4 * GROUP), flip);                              \
            }                                                                                                       \
            __m512 sw = _mm512_loadu_ps(sg + (size_t) b * GROUP);                                                   \
            for (int r = 0; r < R; r++) {                                                                           \
                const int8_t *a = xq + (size_t) r * in + b * BLOCK;                                                 \
                __m512i dot = _mm512_set1_epi32(-16 * xsum8[(size_t) r * blocks + b]);                             \
                for (int v = 0; v < 8; v++) {                                                                       \
                    dot = _mm512_dpbusd_epi32(dot, w[v], _mm512_set1_epi32(load_i32(a + 4 * v)));                   \
                }                                                                                                   \
                __m512 scale = _mm512_mul_ps(sw, _mm512_set1_ps(xs[(size_t) r * blocks + b]));                      \
                sums[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, sums[r]);                                 \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < R; r++) {                                                                               \
            acc[r] = sums[r];                                                                                       \
        }                                                                                                           \
    }

DEFINE_Q8ROWS512(1)
DEFINE_Q8ROWS512(4)
DEFINE_Q8ROWS512(8)

/*
 * y[i * ldy + row] = sum over in of x[i] * W[row], for the weight rows of groups g0 <= g < g1 and all n activation
 * rows (quantized by the variant's quantize), through ROWS##_8 / _4 / _1 on weights of type WT, BLOCK_BYTES a
 * group's block. rows = the matrix's real row count (the last group may be partial).
 */
#define DEFINE_GEMM512(NAME, ROWS, WT, BLOCK_BYTES)                                                                 \
    VNNI512 static void NAME(const WT *wq, const float *ws, int32_t in, int32_t rows, int32_t g0, int32_t g1,       \
                             const int8_t *xq, const float *xs, const int32_t *xsum8, int32_t n, float *y, int32_t ldy) { \
        int blocks = in / BLOCK;                                                                                    \
        __m512 acc[8];                                                                                              \
        for (int g = g0; g < g1; g++) {                                                                             \
            const WT *wg = wq + (size_t) g * blocks * (BLOCK_BYTES);                                                \
            const float *sg = ws + (size_t) g * blocks * GROUP;                                                     \
            int i = 0;                                                                                              \
            for (; i + 8 <= n; i += 8) {                                                                            \
                ROWS##_8(wg, sg, blocks, in, xq + (size_t) i * in, xs + (size_t) i * blocks, xsum8 + (size_t) i * blocks, acc); \
                for (int r = 0; r < 8; r++) {                                                                       \
                    store512(y + (size_t) (i + r) * ldy, g * GROUP, rows, acc[r]);                                  \
                }                                                                                                   \
            }                                                                                                       \
            for (; i + 4 <= n; i += 4) {                                                                            \
                ROWS##_4(wg, sg, blocks, in, xq + (size_t) i * in, xs + (size_t) i * blocks, xsum8 + (size_t) i * blocks, acc); \
                for (int r = 0; r < 4; r++) {                                                                       \
                    store512(y + (size_t) (i + r) * ldy, g * GROUP, rows, acc[r]);                                  \
                }                                                                                                   \
            }                                                                                                       \
            for (; i < n; i++) {                                                                                    \
                ROWS##_1(wg, sg, blocks, in, xq + (size_t) i * in, xs + (size_t) i * blocks, xsum8 + (size_t) i * blocks, acc); \
                store512(y + (size_t) i * ldy, g * GROUP, rows, acc[0]);                                            \
            }                                                                                                       \
        }                                                                                                           \
    }

DEFINE_GEMM512(gemm512, rows512, uint8_t, GROUP_BLOCK_BYTES)
DEFINE_GEMM512(q8gemm512, q8rows512, int8_t, Q8_GROUP_BLOCK_BYTES)

/* ---- Q4 x 8-bit products on 256-bit vectors: 8 rows a vector, a group as two halves ------------------------- */

/*
 * One 256-bit step: the 8 rows' bytes of vector v (low or high nibbles) against the activation's 4 bytes
 * 4v..4v+3 (or 16+4v..16+4v+3) broadcast to every lane, into the rows' block accumulator.
 * AVX2: vpmaddubsw gives 16-bit sums of byte pairs (at most 2 x 15 x 127 = 3810, so the 8 steps of a block add up
 * to at most 30480 without overflow); vpmaddwd at the end makes each row's 32-bit sum, and the nibbles' offset
 * (8 x the activations' sum) is taken off.
 * AVX-VNNI: vpdpbusd adds 4 byte pairs into 32 bits directly, starting from minus the offset.
 */
#define BROADCAST4(p) _mm256_set1_epi32(load_i32(p))
AVX2 static inline __m256i keep(__m256i v) {
    __asm__("" : "+x"(v));
    return v;
}
#define AVX2_START(xsum8) _mm256_setzero_si256()
/* The empty asm keeps each sum in a register as written: without it GCC reassociates the 16-bit adds into a tree
 * over all of a block's products, which spills most of them to the stack (measured: 18 % more instructions). */
#define AVX2_STEP(acc, w, x) keep(_mm256_add_epi16(acc, _mm256_maddubs_epi16(w, x)))
#define AVX2_FINISH(acc, xsum8) _mm256_sub_epi32(_mm256_madd_epi16(acc, _mm256_set1_epi16(1)), _mm256_set1_epi32(xsum8))
#define AVXVNNI_START(xsum8) _mm256_set1_epi32(-(xsum8))
#define AVXVNNI_STEP(acc, w, x) _mm256_dpbusd_avx_epi32(acc, w, x)
#define AVXVNNI_FINISH(acc, xsum8) (acc)

/* R activation rows against half h (rows 8h..8h+7) of one group; acc[r] holds the 8 outputs of row r. */
#define DEFINE_ROWS256(NAME, ATTR, R, START, STEP, FINISH)                                                          \
    ATTR static inline void NAME##_##R(const uint8_t *wg, const float *sg, int blocks, int in, int h,               \
                                       const int8_t *xq, const float *xs, const int32_t *xsum8, __m256 *acc) {      \
        const __m256i mask = _mm256_set1_epi8(0x0F);                                                                \
        __m256 sums[R];                                                                                             \
        for (int r = 0; r < R; r++) {                                                                               \
            sums[r] = _mm256_setzero_ps();                                                                          \
        }                                                                                                           \
        for (int b = 0; b < blocks; b++) {                                                                          \
            const uint8_t *wb = wg + (size_t) b * GROUP_BLOCK_BYTES;                                                \
            if (h == 0) { /* the second half finds the group in the cache */                                        \
                prefetch_ahead(wb);                                                                                 \
            }                                                                                                       \
            __m256i block[R];                                                                                       \
            for (int r = 0; r < R; r++) {                                                                           \
                block[r] = START(xsum8[(size_t) r * blocks + b]);                                                   \
            }                                                                                                       \
            for (int v = 0; v < 4; v++) {                                                                           \
                __m256i w = _mm256_loadu_si256((const __m256i *) (wb + v * 4 * GROUP + 32 * h));                    \
                __m256i lo = _mm256_and_si256(w, mask), hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), mask);       \
                for (int r = 0; r < R; r++) {                                                                       \
                    const int8_t *a = xq + (size_t) r * in + b * BLOCK + 4 * v;                                     \
                    block[r] = STEP(block[r], lo, BROADCAST4(a));                                                   \
                    block[r] = STEP(block[r], hi, BROADCAST4(a + 16));                                              \
                }                                                                                                   \
            }                                                                                                       \
            __m256 sw = _mm256_loadu_ps(sg + (size_t) b * GROUP + 8 * h);                                           \
            for (int r = 0; r < R; r++) {                                                                           \
                __m256 scale = _mm256_mul_ps(sw, _mm256_set1_ps(xs[(size_t) r * blocks + b]));                      \
                __m256i total = FINISH(block[r], xsum8[(size_t) r * blocks + b]);                                   \
                sums[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), scale, sums[r]);                               \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < R; r++) {                                                                               \
            acc[r] = sums[r];                                                                                       \
        }                                                                                                           \
    }

AVX2 static inline void store256(float *y, int row0, int rows, __m256 acc) {
    if (row0 + 8 <= rows) {
        _mm256_storeu_ps(y + row0, acc);
    } else if (row0 < rows) {
        float tmp[8];
        _mm256_storeu_ps(tmp, acc);
        memcpy(y + row0, tmp, (size_t) (rows - row0) * sizeof(float));
    }
}

/* A 256-bit variant: its rows functions and its driver, a group as two halves of 8 rows. */
#define DEFINE_GEMM256(NAME, ATTR, START, STEP, FINISH)                                                             \
    DEFINE_ROWS256(NAME, ATTR, 1, START, STEP, FINISH)                                                              \
    DEFINE_ROWS256(NAME, ATTR, 2, START, STEP, FINISH)                                                              \
    DEFINE_ROWS256(NAME, ATTR, 4, START, STEP, FINISH)                                                              \
    DEFINE_SLICED_GEMM(NAME, ATTR, __m256, 8, NAME, store256)

DEFINE_GEMM256(gemm_avx2, AVX2, AVX2_START, AVX2_STEP, AVX2_FINISH)
DEFINE_GEMM256(gemm_avxvnni, AVXVNNI, AVXVNNI_START, AVXVNNI_STEP, AVXVNNI_FINISH)

/* ---- Q8 x 8-bit products on 256-bit vectors: 8 rows a vector, a group as two halves ------------------------- */

/*
 * One 256-bit step of a Q8 block: the 8 rows' 4 bytes of vector v against the activation's bytes 4v..4v+3.
 * AVX2: vpmaddubsw takes unsigned x signed bytes, so it multiplies |w| by the activation with w's sign (vpsignb):
 * each 16-bit pair sum is at most 2 x 128 x 127 = 32512, widened to 32 bits at once (vpmaddwd).
 * AVX-VNNI: vpdpbusd on w + 128 (the top bit flipped), starting from minus the offset 128 x sum = 16 x xsum8.
 */
#define Q8_AVX2_PREP(w) (w)
#define Q8_AVX2_START(xsum8) _mm256_setzero_si256()
#define Q8_AVX2_STEP(acc, w, x)                                                                                     \
    _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w)),       \
                                            _mm256_set1_epi16(1)))
#define Q8_AVXVNNI_PREP(w) _mm256_xor_si256(w, _mm256_set1_epi8((char) 0x80))
#define Q8_AVXVNNI_START(xsum8) _mm256_set1_epi32(-16 * (xsum8))
#define Q8_AVXVNNI_STEP(acc, w, x) _mm256_dpbusd_avx_epi32(acc, w, x)

/* R activation rows against half h (rows 8h..8h+7) of one group; acc[r] holds the 8 outputs of row r. */
#define DEFINE_Q8ROWS256(NAME, ATTR, R, PREP, START, STEP)                                                          \
    ATTR static inline void NAME##_##R(const int8_t *wg, const float *sg, int blocks, int in, int h,                \
                                       const int8_t *xq, const float *xs, const int32_t *xsum8, __m256 *acc) {      \
        __m256 sums[R];                                                                                             \
        for (int r = 0; r < R; r++) {                                                                               \
            sums[r] = _mm256_setzero_ps();                                                                          \
        }                                                                                                           \
        for (int b = 0; b < blocks; b++) {                                                                          \
            const int8_t *wb = wg + (size_t) b * Q8_GROUP_BLOCK_BYTES;                                              \
            if (h == 0) {                                                                                           \
                prefetch_ahead_q8(wb);                                                                              \
            }                                                                                                       \
            __m256i block[R];                                                                                       \
            for (int r = 0; r < R; r++) {                                                                           \
                block[r] = START(xsum8[(size_t) r * blocks + b]);                                                   \
            }                                                                                                       \
            for (int v = 0; v < 8; v++) {                                                                           \
                __m256i w = PREP(_mm256_loadu_si256((const __m256i *) (wb + v * 4 * GROUP + 32 * h)));              \
                for (int r = 0; r < R; r++) {                                                                       \
                    block[r] = STEP(block[r], w, BROADCAST4(xq + (size_t) r * in + b * BLOCK + 4 * v));             \
                }                                                                                                   \
            }                                                                                                       \
            __m256 sw = _mm256_loadu_ps(sg + (size_t) b * GROUP + 8 * h);                                           \
            for (int r = 0; r < R; r++) {                                                                           \
                __m256 scale = _mm256_mul_ps(sw, _mm256_set1_ps(xs[(size_t) r * blocks + b]));                      \
                sums[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block[r]), scale, sums[r]);                            \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < R; r++) {                                                                               \
            acc[r] = sums[r];                                                                                       \
        }                                                                                                           \
    }

#define DEFINE_Q8GEMM256(NAME, ATTR, PREP, START, STEP)                                                             \
    DEFINE_Q8ROWS256(NAME, ATTR, 1, PREP, START, STEP)                                                              \
    DEFINE_Q8ROWS256(NAME, ATTR, 2, PREP, START, STEP)                                                              \
    DEFINE_Q8ROWS256(NAME, ATTR, 4, PREP, START, STEP)                                                              \
    DEFINE_SLICED_GEMM_OF(NAME, ATTR, __m256, 8, NAME, store256, int8_t, Q8_GROUP_BLOCK_BYTES)

DEFINE_Q8GEMM256(q8gemm_avx2, AVX2, Q8_AVX2_PREP, Q8_AVX2_START, Q8_AVX2_STEP)
DEFINE_Q8GEMM256(q8gemm_avxvnni, AVXVNNI, Q8_AVXVNNI_PREP, Q8_AVXVNNI_START, Q8_AVXVNNI_STEP)

/* ---- Attention and SwiGLU (kernels_attention.h) on one AVX2 register of 8 values --------------------------- */

typedef __m256 v8;
#define V8 ATTN static inline __attribute__((always_inline))
#define V8_ENTRY ATTN static
V8 v8 v8_set1(float x) { return _mm256_set1_ps(x); }
V8 v8 v8_load(const float *p) { return _mm256_loadu_ps(p); }
V8 void v8_store(float *p, v8 a) { _mm256_storeu_ps(p, a); }
V8 v8 v8_add(v8 a, v8 b) { return _mm256_add_ps(a, b); }
V8 v8 v8_sub(v8 a, v8 b) { return _mm256_sub_ps(a, b); }
V8 v8 v8_mul(v8 a, v8 b) { return _mm256_mul_ps(a, b); }
V8 v8 v8_div(v8 a, v8 b) { return _mm256_div_ps(a, b); }
V8 v8 v8_max(v8 a, v8 b) { return _mm256_max_ps(a, b); }
V8 v8 v8_min(v8 a, v8 b) { return _mm256_min_ps(a, b); }
V8 v8 v8_fma(v8 a, v8 b, v8 c) { return _mm256_fmadd_ps(a, b, c); }
V8 v8 v8_from_half(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) p)); }
V8 v8 v8_from_i8(const int8_t *p) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) p))); }
V8 v8 v8_round(v8 a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
V8 v8 v8_scale_by_power_of_2(v8 p, v8 n) {
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23)));
}
/* hadd, hadd, then the 128-bit halves added. */
V8 v8 v8_sum_lanes8(const v8 *v) {
    __m256 s01 = _mm256_hadd_ps(v[0], v[1]), s23 = _mm256_hadd_ps(v[2], v[3]);
    __m256 s45 = _mm256_hadd_ps(v[4], v[5]), s67 = _mm256_hadd_ps(v[6], v[7]);
    __m256 lo = _mm256_hadd_ps(s01, s23), hi = _mm256_hadd_ps(s45, s67);
    return _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20), _mm256_permute2f128_ps(lo, hi, 0x31));
}
#include "kernels_attention.h"

/* ---- The variants' entry points ----------------------------------------------------------------------------- */

EXPORT_VARIANT(avx512vnni, quantize512, gemm512, q8gemm512)
EXPORT_VARIANT(avxvnni, quantize256, gemm_avxvnni, q8gemm_avxvnni)
EXPORT_VARIANT(avx2, quantize256, gemm_avx2, q8gemm_avx2)
