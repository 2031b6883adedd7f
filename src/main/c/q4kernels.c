/*
 * Q4 x 8-bit matrix products for the engine's prompt processing and decoding (loaded through Java's FFM API;
 * dev.allinone.engine.NativeKernels). Java's Vector API has no 8-bit dot-product instruction, and with 32-value
 * blocks each carrying its own scale the float kernels it can express top out below the prompt speed we need;
 * AVX-512 VNNI's vpdpbusd multiplies 4 byte pairs and adds them in one instruction.
 *
 * Weights are repacked once at load into groups of 16 rows: per 32-value block, four 64-byte vectors, vector v
 * holding for each of the 16 rows the 4 bytes 4v..4v+3 of that row's Q4 block (low nibbles: values 4v..4v+3, high
 * nibbles: values 16+4v..16+4v+3 - the byte order Jlama stores), then the 16 rows' block scales. One 512-bit
 * vpdpbusd then advances 16 rows at once against 4 activation bytes broadcast to every lane, so the 16 lanes end as
 * the 16 rows' block sums and no horizontal reduction is needed. A group's weights are one run of memory, read front
 * to back (with 8-row groups in 256-bit vectors, batches of 8 rows ran ≈ 25 % slower from memory; measured).
 *
 * Activations are rounded to 8 bits per block of 32 exactly as Jlama's quantizeQ8 does (scale = max|x| / 127,
 * value = (int) (x * 127/max + 0.5)); built with -ffp-contract=off so that rounding matches the Java code.
 * A row's result is computed by the same instructions in the same order whatever the number of rows in the call,
 * so a sequence's numbers do not depend on what it is batched with.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <math.h>

#define BLOCK 32
#define GROUP 16
#define GROUP_BLOCK_BYTES (GROUP * BLOCK / 2)
/* How far ahead of the block being multiplied its group's weights are fetched. */
#define PREFETCH_BYTES 2048

#define VNNI __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512dq,avx512vnni")))

int aio_kernels_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni")
        && __builtin_cpu_supports("fma");
}

/* Bytes of packed quants / floats of packed scales for a rows x in matrix. */
int64_t aio_q4_packed_bytes(int32_t rows, int32_t in) {
    return (int64_t) ((rows + GROUP - 1) / GROUP) * (in / BLOCK) * GROUP_BLOCK_BYTES;
}

int64_t aio_q4_packed_scales(int32_t rows, int32_t in) {
    return (int64_t) ((rows + GROUP - 1) / GROUP) * (in / BLOCK) * GROUP;
}

/* Jlama's Q4 layout (row-major 16-byte blocks, one float scale per block) into groups of 16 rows; missing rows of
 * the last group are zero. */
void aio_q4_repack(const uint8_t *q, const float *scales, int32_t rows, int32_t in, uint8_t *out, float *out_scales) {
    int blocks = in / BLOCK;
    int groups = (rows + GROUP - 1) / GROUP;
    for (int g = 0; g < groups; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *dst = out + ((size_t) g * blocks + b) * GROUP_BLOCK_BYTES;
            float *dst_scales = out_scales + ((size_t) g * blocks + b) * GROUP;
            for (int r = 0; r < GROUP; r++) {
                int row = g * GROUP + r;
                if (row >= rows) {
                    for (int v = 0; v < 4; v++) {
                        memset(dst + v * 4 * GROUP + r * 4, 0x88, 4); /* nibbles of 8: value 0 */
                    }
                    dst_scales[r] = 0.0f;
                    continue;
                }
                const uint8_t *src = q + ((size_t) row * blocks + b) * (BLOCK / 2);
                for (int v = 0; v < 4; v++) {
                    memcpy(dst + v * 4 * GROUP + r * 4, src + v * 4, 4);
                }
                dst_scales[r] = scales[(size_t) row * blocks + b];
            }
        }
    }
}

/* n rows of in floats into 8-bit values, a scale per block and 8 x each block's sum (the offset of the nibbles).
 * 16 values per vector; every operation is the scalar one lane by lane, so the result is the same. */
VNNI void aio_q8_quantize(const float *x, int32_t n, int32_t in, int8_t *xq, float *xs, int32_t *xsum8) {
    int blocks = in / BLOCK;
    for (int i = 0; i < n; i++) {
        for (int b = 0; b < blocks; b++) {
            const float *src = x + (size_t) i * in + b * BLOCK;
            int8_t *dst = xq + (size_t) i * in + b * BLOCK;
            __m512 lo = _mm512_loadu_ps(src), hi = _mm512_loadu_ps(src + 16);
            float max = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(lo), _mm512_abs_ps(hi)));
            __m512 inverse = _mm512_set1_ps(max != 0.0f ? 127.0f / max : 0.0f);
            __m512 half = _mm512_set1_ps(0.5f);
            __m512i qlo = _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(lo, inverse), half));
            __m512i qhi = _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(hi, inverse), half));
            _mm_storeu_si128((__m128i *) dst, _mm512_cvtepi32_epi8(qlo));
            _mm_storeu_si128((__m128i *) (dst + 16), _mm512_cvtepi32_epi8(qhi));
            xs[(size_t) i * blocks + b] = max / 127.0f;
            xsum8[(size_t) i * blocks + b] = 8 * _mm512_reduce_add_epi32(_mm512_add_epi32(qlo, qhi));
        }
    }
}

static inline int32_t load_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/*
 * R activation rows against one group of 16 weight rows; acc[r] holds the 16 outputs of row r. A row's block sum is
 * built in two integer accumulators (low and high nibbles) and added exactly; the float accumulation over blocks
 * is the same for every R.
 */
#define DEFINE_ROWS(R)                                                                                              \
    VNNI static inline void rows##R(const uint8_t *wg, const float *sg, int blocks, int in, const int8_t *xq,       \
                                    const float *xs, const int32_t *xsum8, __m512 *acc) {                           \
        const __m512i mask = _mm512_set1_epi8(0x0F);                                                                \
        /* Local sums: acc may alias the inputs (__m512 may alias anything), which would keep them in memory. */    \
        __m512 sums[R];                                                                                             \
        for (int r = 0; r < R; r++) {                                                                               \
            sums[r] = _mm512_setzero_ps();                                                                          \
        }                                                                                                           \
        for (int b = 0; b < blocks; b++) {                                                                          \
            const uint8_t *wb = wg + (size_t) b * GROUP_BLOCK_BYTES;                                                \
            for (int line = 0; line < GROUP_BLOCK_BYTES; line += 64) {                                              \
                _mm_prefetch((const char *) (wb + PREFETCH_BYTES + line), _MM_HINT_T0);                             \
            }                                                                                                       \
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

DEFINE_ROWS(1)
DEFINE_ROWS(4)
DEFINE_ROWS(8)

VNNI static inline void store_group(float *y, int row0, int rows, __m512 acc) {
    if (row0 + GROUP <= rows) {
        _mm512_storeu_ps(y + row0, acc);
    } else {
        _mm512_mask_storeu_ps(y + row0, (__mmask16) ((1u << (rows - row0)) - 1), acc);
    }
}

/*
 * y[i * ldy + row] = sum over in of x[i] * W[row], for the weight rows of groups g0 <= g < g1 and all n activation
 * rows (quantized by aio_q8_quantize). rows = the matrix's real row count (the last group may be partial).
 */
VNNI void aio_q4_gemm(const uint8_t *wq, const float *ws, int32_t in, int32_t rows, int32_t g0, int32_t g1,
                      const int8_t *xq, const float *xs, const int32_t *xsum8, int32_t n, float *y, int32_t ldy) {
    int blocks = in / BLOCK;
    __m512 acc[8];
    for (int g = g0; g < g1; g++) {
        const uint8_t *wg = wq + (size_t) g * blocks * GROUP_BLOCK_BYTES;
        const float *sg = ws + (size_t) g * blocks * GROUP;
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            rows8(wg, sg, blocks, in, xq + (size_t) i * in, xs + (size_t) i * blocks, xsum8 + (size_t) i * blocks, acc);
            for (int r = 0; r < 8; r++) {
                store_group(y + (size_t) (i + r) * ldy, g * GROUP, rows, acc[r]);
            }
        }
        for (; i + 4 <= n; i += 4) {
            rows4(wg, sg, blocks, in, xq + (size_t) i * in, xs + (size_t) i * blocks, xsum8 + (size_t) i * blocks, acc);
            for (int r = 0; r < 4; r++) {
                store_group(y + (size_t) (i + r) * ldy, g * GROUP, rows, acc[r]);
            }
        }
        for (; i < n; i++) {
            rows1(wg, sg, blocks, in, xq + (size_t) i * in, xs + (size_t) i * blocks, xsum8 + (size_t) i * blocks, acc);
            store_group(y + (size_t) i * ldy, g * GROUP, rows, acc[0]);
        }
    }
}

/* ---- e^x, for attention and SwiGLU --------------------------------------------------------------------- */

#define ATTN __attribute__((target("avx2,fma,f16c")))

/*
 * e^x for x in [-87, 87] (clamped), to about 2 ulp: x = n ln2 + r, e^r by a degree-6 polynomial on |r| <= ln2/2,
 * 2^n put into the exponent. The scalar and the vector forms run the same operations, so a value's result does not
 * depend on which lane or which thread's piece computed it.
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

ATTN static inline __m256 exp_vector(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(EXP_LO)), _mm256_set1_ps(EXP_HI));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_setzero_ps(), n), _mm256_set1_ps(LN2_HI), x);
    r = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_setzero_ps(), n), _mm256_set1_ps(LN2_LO), r);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(P0), r, _mm256_set1_ps(P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(P5));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i bits = _mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23));
    return _mm256_castsi256_ps(bits);
}


/* ---- Attention over one KV block ------------------------------------------------------------------------- */

#define MAX_BLOCK_TOKENS 64

int aio_attends_head_size(int32_t headSize) {
    return headSize == 64 || headSize == 128;
}

/* The 8 lanes' sums of v[0..7]: lane t = sum of v[t]'s lanes. */
ATTN static inline __m256 sum_lanes8(const __m256 *v) {
    __m256 s01 = _mm256_hadd_ps(v[0], v[1]), s23 = _mm256_hadd_ps(v[2], v[3]);
    __m256 s45 = _mm256_hadd_ps(v[4], v[5]), s67 = _mm256_hadd_ps(v[6], v[7]);
    __m256 lo = _mm256_hadd_ps(s01, s23), hi = _mm256_hadd_ps(s45, s67);
    return _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20), _mm256_permute2f128_ps(lo, hi, 0x31));
}

/*
 * Queries pos0..pos0+n-1 of heads head0..head0+heads-1 (q: query i, head h at q + i * qStride + h * HEAD), one
 * online-softmax step over the tokens of one KV block (the first at position blockStart, count of them written),
 * causal: query i sees the positions up to pos0 + i. Heads go 8 at a time, one per vector lane: each key and value
 * row is read once, front to back, for all of them (a row holds every head), and the softmax runs lane-wise.
 * State per query i and head j: max[i * heads + j], sum[...], acc[(i * heads + j) * HEAD ...]; start from -inf,
 * 0, 0; the caller divides acc by sum at the end. A head's numbers do not depend on its lane.
 * HEAD is a compile-time constant at every call, so the loops over it unroll.
 */
ATTN static inline __attribute__((always_inline)) void attend_heads(const float *q, int qStride, int n, int pos0,
        const uint16_t *keys, const uint16_t *values, int kvDim, int head0, int heads, int groupSize, int blockStart,
        int count, const int HEAD, float scale, float *max, float *sum, float *acc) {
    int first = blockStart - pos0 > 0 ? blockStart - pos0 : 0;
    /* The rows' pieces these heads read, all asked for at once: one at a time, each waited for memory. */
    int kvFrom = (head0 / groupSize) * HEAD, kvTo = ((head0 + heads - 1) / groupSize + 1) * HEAD;
    for (int t = 0; t < count; t++) {
        for (int d = kvFrom; d < kvTo; d += 32) {
            _mm_prefetch((const char *) (keys + (size_t) t * kvDim + d), _MM_HINT_T0);
            _mm_prefetch((const char *) (values + (size_t) t * kvDim + d), _MM_HINT_T0);
        }
    }
    for (int i = first; i < n; i++) {
        int visible = pos0 + i + 1 - blockStart;
        visible = visible > count ? count : visible;
        for (int j0 = 0; j0 < heads; j0 += 8) {
            int lanes = heads - j0 < 8 ? heads - j0 : 8;
            const float *qh[8];
            int kvCol[8];
            for (int k = 0; k < lanes; k++) {
                int h = head0 + j0 + k;
                qh[k] = q + (size_t) i * qStride + (size_t) h * HEAD;
                kvCol[k] = (h / groupSize) * HEAD;
            }
            __m256 scores[MAX_BLOCK_TOKENS];
            __m256 blockMax = _mm256_set1_ps(-INFINITY);
            for (int t = 0; t < visible; t++) {
                const uint16_t *key = keys + (size_t) t * kvDim;
                __m256 dots[8];
                for (int k = 0; k < 8; k++) {
                    dots[k] = _mm256_setzero_ps();
                    if (k < lanes) {
                        for (int c = 0; c < HEAD / 8; c++) {
                            __m256 kc = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (key + kvCol[k] + 8 * c)));
                            dots[k] = _mm256_fmadd_ps(_mm256_loadu_ps(qh[k] + 8 * c), kc, dots[k]);
                        }
                    }
                }
                scores[t] = _mm256_mul_ps(sum_lanes8(dots), _mm256_set1_ps(scale));
                blockMax = _mm256_max_ps(blockMax, scores[t]);
            }
            float state[3][8] = {{0}};
            float *m = max + (size_t) i * heads + j0, *s = sum + (size_t) i * heads + j0;
            for (int k = 0; k < lanes; k++) {
                state[0][k] = m[k];
                state[1][k] = s[k];
            }
            __m256 oldMax = _mm256_loadu_ps(state[0]);
            __m256 newMax = _mm256_max_ps(oldMax, blockMax);
            __m256 rescale = exp_vector(_mm256_sub_ps(oldMax, newMax));
            __m256 total = _mm256_mul_ps(_mm256_loadu_ps(state[1]), rescale);
            _mm256_storeu_ps(state[2], rescale);
            float *out = acc + ((size_t) i * heads + j0) * HEAD;
            for (int k = 0; k < lanes; k++) {
                __m256 r = _mm256_set1_ps(state[2][k]);
                for (int c = 0; c < HEAD / 8; c++) {
                    _mm256_storeu_ps(out + k * HEAD + 8 * c, _mm256_mul_ps(_mm256_loadu_ps(out + k * HEAD + 8 * c), r));
                }
            }
            for (int t = 0; t < visible; t++) {
                __m256 w = exp_vector(_mm256_sub_ps(scores[t], newMax));
                total = _mm256_add_ps(total, w);
                float weight[8];
                _mm256_storeu_ps(weight, w);
                const uint16_t *value = values + (size_t) t * kvDim;
                for (int k = 0; k < lanes; k++) {
                    __m256 wk = _mm256_set1_ps(weight[k]);
                    float *o = out + k * HEAD;
                    for (int c = 0; c < HEAD / 8; c++) {
                        __m256 vc = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (value + kvCol[k] + 8 * c)));
                        _mm256_storeu_ps(o + 8 * c, _mm256_fmadd_ps(vc, wk, _mm256_loadu_ps(o + 8 * c)));
                    }
                }
            }
            _mm256_storeu_ps(state[0], newMax);
            _mm256_storeu_ps(state[1], total);
            for (int k = 0; k < lanes; k++) {
                m[k] = state[0][k];
                s[k] = state[1][k];
            }
        }
    }
}

/* attend_heads for the block's keys at keyBase and values at valueBase (+ t * kvDim); head sizes 64 and 128
 * (aio_attends_head_size), -1 for anything else. */
ATTN int32_t aio_attend_block(const float *q, int32_t qStride, int32_t n, int32_t pos0, const uint16_t *block,
                              int32_t keyBase, int32_t valueBase, int32_t kvDim, int32_t head0, int32_t heads,
                              int32_t groupSize, int32_t blockStart, int32_t count, int32_t headSize, float scale,
                              float *max, float *sum, float *acc) {
    if (count > MAX_BLOCK_TOKENS || (headSize != 64 && headSize != 128)) {
        return -1;
    }
    const uint16_t *keys = block + keyBase, *values = block + valueBase;
    if (headSize == 64) {
        attend_heads(q, qStride, n, pos0, keys, values, kvDim, head0, heads, groupSize, blockStart, count, 64, scale, max, sum, acc);
    } else {
        attend_heads(q, qStride, n, pos0, keys, values, kvDim, head0, heads, groupSize, blockStart, count, 128, scale, max, sum, acc);
    }
    return 0;
}

/* ---- SwiGLU ----------------------------------------------------------------------------------------------- */

/* gate[i] = silu(gate[i]) * up[i] = gate[i] / (1 + e^-gate[i]) * up[i] for i in [from, from + count). */
ATTN void aio_swiglu(float *gate, const float *up, int32_t from, int32_t count) {
    int i = from, end = from + count;
    for (; i + 8 <= end; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 e = exp_vector(_mm256_sub_ps(_mm256_setzero_ps(), g));
        __m256 silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < end; i++) {
        float g = gate[i];
        gate[i] = g / (1.0f + exp_scalar(-g)) * up[i];
    }
}
