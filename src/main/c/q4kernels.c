/*
 * Q4 x 8-bit matrix products for the engine's prompt processing and decoding (loaded through Java's FFM API;
 * dev.allinone.engine.NativeKernels). Java's Vector API has no 8-bit dot-product instruction, and with 32-value
 * blocks each carrying its own scale the float kernels it can express top out below the prompt speed we need;
 * AVX-512 VNNI's vpdpbusd multiplies 4 byte pairs and adds them in one instruction.
 *
 * Weights are repacked once at load into groups of 8 rows: per 32-value block, four 32-byte vectors, vector v
 * holding for each of the 8 rows the 4 bytes 4v..4v+3 of that row's Q4 block (low nibbles: values 4v..4v+3, high
 * nibbles: values 16+4v..16+4v+3 - the byte order Jlama stores), then the 8 rows' block scales. One vpdpbusd then
 * advances 8 rows at once against 4 activation bytes broadcast to every lane, so the 8 lanes end as the 8 rows'
 * block sums and no horizontal reduction is needed.
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
#define GROUP 8
#define GROUP_BLOCK_BYTES (GROUP * BLOCK / 2)

#define VNNI __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512vnni")))

int aio_kernels_supported(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni")
        && __builtin_cpu_supports("fma");
}

/* Bytes of packed quants / floats of packed scales for a rows x in matrix. */
int64_t aio_q4_packed_bytes(int32_t rows, int32_t in) {
    return (int64_t) ((rows + GROUP - 1) / GROUP) * (in / BLOCK) * GROUP_BLOCK_BYTES;
}

int64_t aio_q4_packed_scales(int32_t rows, int32_t in) {
    return (int64_t) ((rows + GROUP - 1) / GROUP) * (in / BLOCK) * GROUP;
}

/* Jlama's Q4 layout (row-major 16-byte blocks, one float scale per block) into groups of 8 rows; missing rows of
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
                        memset(dst + v * 32 + r * 4, 0x88, 4); /* nibbles of 8: value 0 */
                    }
                    dst_scales[r] = 0.0f;
                    continue;
                }
                const uint8_t *src = q + ((size_t) row * blocks + b) * (BLOCK / 2);
                for (int v = 0; v < 4; v++) {
                    memcpy(dst + v * 32 + r * 4, src + v * 4, 4);
                }
                dst_scales[r] = scales[(size_t) row * blocks + b];
            }
        }
    }
}

/* n rows of in floats into 8-bit values, a scale per block and 8 x each block's sum (the offset of the nibbles). */
void aio_q8_quantize(const float *x, int32_t n, int32_t in, int8_t *xq, float *xs, int32_t *xsum8) {
    int blocks = in / BLOCK;
    for (int i = 0; i < n; i++) {
        for (int b = 0; b < blocks; b++) {
            const float *src = x + (size_t) i * in + b * BLOCK;
            int8_t *dst = xq + (size_t) i * in + b * BLOCK;
            float max = 0.0f;
            for (int j = 0; j < BLOCK; j++) {
                float a = src[j] < 0 ? -src[j] : src[j];
                max = a > max ? a : max;
            }
            float inverse = max != 0.0f ? 127.0f / max : 0.0f;
            int sum = 0;
            for (int j = 0; j < BLOCK; j++) {
                float scaled = src[j] * inverse;
                int v = (int) (scaled + 0.5f);
                dst[j] = (int8_t) v;
                sum += (int8_t) v;
            }
            xs[(size_t) i * blocks + b] = max / 127.0f;
            xsum8[(size_t) i * blocks + b] = 8 * sum;
        }
    }
}

static inline int32_t load_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/*
 * R activation rows against one group of 8 weight rows; acc[r] holds the 8 outputs of row r. Each row's block sum
 * is built in CHAINS independent integer accumulators (vpdpbusd's latency would otherwise serialise the 8 products
 * of a block) and added exactly; the float accumulation over blocks is the same for every R.
 */
#define DEFINE_ROWS(R, CHAINS)                                                                                      \
    VNNI static inline void rows##R(const uint8_t *wg, const float *sg, int blocks, int in, const int8_t *xq,       \
                                    const float *xs, const int32_t *xsum8, __m256 *acc) {                           \
        const __m256i mask = _mm256_set1_epi8(0x0F);                                                                \
        /* Local sums: acc may alias the inputs (__m256 may alias anything), which would keep them in memory. */    \
        __m256 sums[R];                                                                                             \
        for (int r = 0; r < R; r++) {                                                                               \
            sums[r] = _mm256_setzero_ps();                                                                          \
        }                                                                                                           \
        for (int b = 0; b < blocks; b++) {                                                                          \
            const uint8_t *wb = wg + (size_t) b * GROUP_BLOCK_BYTES;                                                \
            __m256i lo[4], hi[4];                                                                                   \
            for (int v = 0; v < 4; v++) {                                                                           \
                __m256i w = _mm256_loadu_si256((const __m256i *) (wb + v * 32));                                    \
                lo[v] = _mm256_and_si256(w, mask);                                                                  \
                hi[v] = _mm256_and_si256(_mm256_srli_epi16(w, 4), mask);                                            \
            }                                                                                                       \
            __m256 sw = _mm256_loadu_ps(sg + (size_t) b * GROUP);                                                   \
            for (int r = 0; r < R; r++) {                                                                           \
                const int8_t *a = xq + (size_t) r * in + b * BLOCK;                                                 \
                __m256i chain[CHAINS];                                                                              \
                chain[0] = _mm256_set1_epi32(-xsum8[(size_t) r * blocks + b]);                                      \
                for (int c = 1; c < CHAINS; c++) {                                                                  \
                    chain[c] = _mm256_setzero_si256();                                                              \
                }                                                                                                   \
                for (int v = 0; v < 4; v++) {                                                                       \
                    chain[(2 * v) % CHAINS] = _mm256_dpbusd_epi32(chain[(2 * v) % CHAINS], lo[v],                   \
                                                                  _mm256_set1_epi32(load_i32(a + 4 * v)));          \
                    chain[(2 * v + 1) % CHAINS] = _mm256_dpbusd_epi32(chain[(2 * v + 1) % CHAINS], hi[v],           \
                                                                      _mm256_set1_epi32(load_i32(a + 16 + 4 * v))); \
                }                                                                                                   \
                __m256i dot = chain[0];                                                                             \
                for (int c = 1; c < CHAINS; c++) {                                                                  \
                    dot = _mm256_add_epi32(dot, chain[c]);                                                          \
                }                                                                                                   \
                __m256 scale = _mm256_mul_ps(sw, _mm256_set1_ps(xs[(size_t) r * blocks + b]));                      \
                sums[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, sums[r]);                                 \
            }                                                                                                       \
        }                                                                                                           \
        for (int r = 0; r < R; r++) {                                                                               \
            acc[r] = sums[r];                                                                                       \
        }                                                                                                           \
    }

DEFINE_ROWS(1, 4)
DEFINE_ROWS(4, 2)


/* 4 activation rows against two neighbouring groups (16 weight rows): each broadcast activation word feeds two
 * vpdpbusd. Same integer sums and the same float accumulation per output as rows4, so results are identical. */
VNNI static inline void rows4x2(const uint8_t *wg, const float *sg, int blocks, int in, const int8_t *xq, const float *xs,
                               const int32_t *xsum8, __m256 *acc0, __m256 *acc1) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    const uint8_t *wg1 = wg + (size_t) blocks * GROUP_BLOCK_BYTES;
    const float *sg1 = sg + (size_t) blocks * GROUP;
    __m256 s0[4], s1[4];
    for (int r = 0; r < 4; r++) {
        s0[r] = _mm256_setzero_ps();
        s1[r] = _mm256_setzero_ps();
    }
    for (int b = 0; b < blocks; b++) {
        const uint8_t *w0 = wg + (size_t) b * GROUP_BLOCK_BYTES;
        const uint8_t *w1 = wg1 + (size_t) b * GROUP_BLOCK_BYTES;
        __m256i lo0[4], hi0[4], lo1[4], hi1[4];
        for (int v = 0; v < 4; v++) {
            __m256i a = _mm256_loadu_si256((const __m256i *) (w0 + v * 32));
            __m256i c = _mm256_loadu_si256((const __m256i *) (w1 + v * 32));
            lo0[v] = _mm256_and_si256(a, mask);
            hi0[v] = _mm256_and_si256(_mm256_srli_epi16(a, 4), mask);
            lo1[v] = _mm256_and_si256(c, mask);
            hi1[v] = _mm256_and_si256(_mm256_srli_epi16(c, 4), mask);
        }
        __m256 sw0 = _mm256_loadu_ps(sg + (size_t) b * GROUP);
        __m256 sw1 = _mm256_loadu_ps(sg1 + (size_t) b * GROUP);
        for (int r = 0; r < 4; r++) {
            const int8_t *x = xq + (size_t) r * in + b * BLOCK;
            __m256i bias = _mm256_set1_epi32(-xsum8[(size_t) r * blocks + b]);
            __m256i a0 = bias, b0 = _mm256_setzero_si256(), a1 = bias, b1 = _mm256_setzero_si256();
            for (int v = 0; v < 4; v++) {
                __m256i xl = _mm256_set1_epi32(load_i32(x + 4 * v));
                __m256i xh = _mm256_set1_epi32(load_i32(x + 16 + 4 * v));
                a0 = _mm256_dpbusd_epi32(a0, lo0[v], xl);
                a1 = _mm256_dpbusd_epi32(a1, lo1[v], xl);
                b0 = _mm256_dpbusd_epi32(b0, hi0[v], xh);
                b1 = _mm256_dpbusd_epi32(b1, hi1[v], xh);
            }
            __m256 xsv = _mm256_set1_ps(xs[(size_t) r * blocks + b]);
            s0[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(a0, b0)), _mm256_mul_ps(sw0, xsv), s0[r]);
            s1[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(a1, b1)), _mm256_mul_ps(sw1, xsv), s1[r]);
        }
    }
    for (int r = 0; r < 4; r++) {
        acc0[r] = s0[r];
        acc1[r] = s1[r];
    }
}

VNNI static inline void store_group(float *y, int row0, int rows, __m256 acc) {
    if (row0 + GROUP <= rows) {
        _mm256_storeu_ps(y + row0, acc);
    } else {
        float tmp[GROUP];
        _mm256_storeu_ps(tmp, acc);
        for (int r = 0; row0 + r < rows; r++) {
            y[row0 + r] = tmp[r];
        }
    }
}

/*
 * y[i * ldy + row] = sum over in of x[i] * W[row], for the weight rows of groups g0 <= g < g1 and all n activation
 * rows (quantized by aio_q8_quantize). rows = the matrix's real row count (the last group may be partial).
 */
VNNI void aio_q4_gemm(const uint8_t *wq, const float *ws, int32_t in, int32_t rows, int32_t g0, int32_t g1,
                      const int8_t *xq, const float *xs, const int32_t *xsum8, int32_t n, float *y, int32_t ldy) {
    int blocks = in / BLOCK;
    __m256 acc[4];
    for (int g = g0; g < g1; g++) {
        const uint8_t *wg = wq + (size_t) g * blocks * GROUP_BLOCK_BYTES;
        const float *sg = ws + (size_t) g * blocks * GROUP;
        int i = 0;
        if (g + 1 < g1 && n >= 4) {
            /* Two groups at a time for batches: the activations' broadcasts serve both. */
            __m256 acc1[4];
            for (; i + 4 <= n; i += 4) {
                rows4x2(wg, sg, blocks, in, xq + (size_t) i * in, xs + (size_t) i * blocks, xsum8 + (size_t) i * blocks, acc, acc1);
                for (int r = 0; r < 4; r++) {
                    store_group(y + (size_t) (i + r) * ldy, g * GROUP, rows, acc[r]);
                    store_group(y + (size_t) (i + r) * ldy, (g + 1) * GROUP, rows, acc1[r]);
                }
            }
            for (int k = i; k < n; k++) {
                for (int gg = g; gg <= g + 1; gg++) {
                    const uint8_t *wgg = wq + (size_t) gg * blocks * GROUP_BLOCK_BYTES;
                    const float *sgg = ws + (size_t) gg * blocks * GROUP;
                    rows1(wgg, sgg, blocks, in, xq + (size_t) k * in, xs + (size_t) k * blocks, xsum8 + (size_t) k * blocks, acc);
                    store_group(y + (size_t) k * ldy, gg * GROUP, rows, acc[0]);
                }
            }
            g++;
            continue;
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

/* ---- Attention over one KV block ------------------------------------------------------------------------- */

#define ATTN __attribute__((target("avx2,fma,f16c")))
#define MAX_BLOCK_TOKENS 64
#define MAX_HEAD 256

ATTN static inline float dot_head(const float *a, const float *b, int size) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int d = 0;
    for (; d + 16 <= size; d += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d + 8), _mm256_loadu_ps(b + d + 8), s1);
    }
    for (; d + 8 <= size; d += 8) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + d), _mm256_loadu_ps(b + d), s0);
    }
    __m256 s = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float r = _mm_cvtss_f32(h);
    for (; d < size; d++) {
        r += a[d] * b[d];
    }
    return r;
}

ATTN static inline void widen_halves(const uint16_t *src, float *dst, int size) {
    int d = 0;
    for (; d + 8 <= size; d += 8) {
        _mm256_storeu_ps(dst + d, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (src + d))));
    }
    for (; d < size; d++) {
        dst[d] = _cvtsh_ss(src[d]);
    }
}

/*
 * One head's online-softmax step for queries pos0..pos0+n-1 over the tokens of one KV block (the block's first
 * token at position blockStart, count of them written), causal: query i sees the positions up to pos0 + i.
 * keys/values: the block's halves at keyBase / valueBase + t * kvDim + kvCol. State per query i: max[i], sum[i],
 * acc[i * headSize ...]; start from -inf, 0, 0. Returns nothing; the caller divides acc by sum at the end.
 */
ATTN int32_t aio_attend_block(const float *q, int32_t qStride, int32_t n, int32_t pos0, const uint16_t *block,
                              int32_t keyBase, int32_t valueBase, int32_t kvDim, int32_t kvCol, int32_t blockStart,
                              int32_t count, int32_t headSize, float scale, float *max, float *sum, float *acc) {
    if (count > MAX_BLOCK_TOKENS || headSize > MAX_HEAD) {
        return -1;
    }
    float keys[MAX_BLOCK_TOKENS * MAX_HEAD];
    float values[MAX_BLOCK_TOKENS * MAX_HEAD];
    for (int t = 0; t < count; t++) {
        widen_halves(block + keyBase + t * kvDim + kvCol, keys + t * headSize, headSize);
        widen_halves(block + valueBase + t * kvDim + kvCol, values + t * headSize, headSize);
    }
    float scores[MAX_BLOCK_TOKENS];
    int first = blockStart - pos0 > 0 ? blockStart - pos0 : 0;
    for (int i = first; i < n; i++) {
        int visible = pos0 + i + 1 - blockStart;
        if (visible > count) {
            visible = count;
        }
        const float *qi = q + (size_t) i * qStride;
        float blockMax = -INFINITY;
        for (int t = 0; t < visible; t++) {
            scores[t] = dot_head(qi, keys + t * headSize, headSize) * scale;
            blockMax = scores[t] > blockMax ? scores[t] : blockMax;
        }
        float newMax = max[i] > blockMax ? max[i] : blockMax;
        float rescale = expf(max[i] - newMax);
        float *a = acc + (size_t) i * headSize;
        float total = sum[i] * rescale;
        int d = 0;
        __m256 r = _mm256_set1_ps(rescale);
        for (; d + 8 <= headSize; d += 8) {
            _mm256_storeu_ps(a + d, _mm256_mul_ps(_mm256_loadu_ps(a + d), r));
        }
        for (; d < headSize; d++) {
            a[d] *= rescale;
        }
        for (int t = 0; t < visible; t++) {
            float w = expf(scores[t] - newMax);
            total += w;
            __m256 wv = _mm256_set1_ps(w);
            const float *v = values + t * headSize;
            d = 0;
            for (; d + 8 <= headSize; d += 8) {
                _mm256_storeu_ps(a + d, _mm256_fmadd_ps(_mm256_loadu_ps(v + d), wv, _mm256_loadu_ps(a + d)));
            }
            for (; d < headSize; d++) {
                a[d] += w * v[d];
            }
        }
        sum[i] = total;
        max[i] = newMax;
    }
    return 0;
}

/* ---- SwiGLU ----------------------------------------------------------------------------------------------- */

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
