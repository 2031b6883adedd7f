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

/* R activation rows against one group of 8 weight rows; acc[r] holds the 8 outputs of row r. */
#define DEFINE_ROWS(R)                                                                                              \
    VNNI static inline void rows##R(const uint8_t *wg, const float *sg, int blocks, int in, const int8_t *xq,       \
                                    const float *xs, const int32_t *xsum8, __m256 *acc) {                           \
        const __m256i mask = _mm256_set1_epi8(0x0F);                                                                \
        for (int r = 0; r < R; r++) {                                                                               \
            acc[r] = _mm256_setzero_ps();                                                                           \
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
                __m256i dot = _mm256_set1_epi32(-xsum8[(size_t) r * blocks + b]);                                   \
                for (int v = 0; v < 4; v++) {                                                                       \
                    dot = _mm256_dpbusd_epi32(dot, lo[v], _mm256_set1_epi32(load_i32(a + 4 * v)));                  \
                    dot = _mm256_dpbusd_epi32(dot, hi[v], _mm256_set1_epi32(load_i32(a + 16 + 4 * v)));             \
                }                                                                                                   \
                __m256 scale = _mm256_mul_ps(sw, _mm256_set1_ps(xs[(size_t) r * blocks + b]));                      \
                acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[r]);                                   \
            }                                                                                                       \
        }                                                                                                           \
    }

DEFINE_ROWS(1)
DEFINE_ROWS(4)

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
