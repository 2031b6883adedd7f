/*
 * Tests the kernel variants of this architecture against a double-precision reference written here, plainly
 * (nothing shared with the kernels but the packed layout's repack and the declarations): the 8-bit rounding, the
 * Q4 and Q8 x 8-bit products (also: a row's result is the same to the bit whatever else is in the call; every variant
 * gives the same bits), attention over KV blocks and SwiGLU. Built with the library's sources for x86-64 and, with
 * a cross-compiler, for ARM64, which runs under qemu-aarch64 (native/build-kernels.sh; KernelsHarnessTest runs
 * both). Prints one line per check, a checksum of the products' bits (equal across variants and architectures),
 * and "N passed, N failed"; exit status 1 on any failure.
 *
 *   kernels_test [VARIANT...]        test the named variants (default: every one this CPU runs)
 *   kernels_test --bench VARIANT     single-thread speed of the products (decode and prompt shapes)
 */
#include "kernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int (*supported_fn)(void);
typedef void (*quantize_fn)(const float *, int32_t, int32_t, int8_t *, float *, int32_t *);
typedef void (*gemm_fn)(const uint8_t *, const float *, int32_t, int32_t, int32_t, int32_t, const int8_t *, const float *,
                        const int32_t *, int32_t, float *, int32_t);
typedef int32_t (*attend_fn)(const float *, int32_t, int32_t, int32_t, const uint16_t *, int32_t, int32_t, int32_t, int32_t,
                             int32_t, int32_t, int32_t, int32_t, int32_t, float, float *, float *, float *);
typedef int32_t (*attend_q8_fn)(const float *, int32_t, int32_t, int32_t, const int8_t *, const uint16_t *, int32_t, int32_t,
                                int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, float, float *, float *, float *);
typedef void (*swiglu_fn)(float *, const float *, int32_t, int32_t);

#define DECLARE(V)                                                                                                  \
    int aio_supported_##V(void);                                                                                    \
    void aio_q8_quantize_##V(const float *, int32_t, int32_t, int8_t *, float *, int32_t *);                        \
    void aio_q4_gemm_##V(const uint8_t *, const float *, int32_t, int32_t, int32_t, int32_t, const int8_t *,        \
                         const float *, const int32_t *, int32_t, float *, int32_t);                               \
    int32_t aio_attend_block_##V(const float *, int32_t, int32_t, int32_t, const uint16_t *, int32_t, int32_t,     \
                                 int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, float, float *,     \
                                 float *, float *);                                                                 \
    int32_t aio_attend_block_q8_##V(const float *, int32_t, int32_t, int32_t, const int8_t *, const uint16_t *,    \
                                    int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, \
                                    float, float *, float *, float *);                                              \
    void aio_swiglu_##V(float *, const float *, int32_t, int32_t);                                                  \
    void aio_q8_gemm_##V(const int8_t *, const float *, int32_t, int32_t, int32_t, int32_t, const int8_t *,         \
                         const float *, const int32_t *, int32_t, float *, int32_t);
#define ENTRY(V, NAME) {NAME, aio_supported_##V, aio_q8_quantize_##V, aio_q4_gemm_##V, aio_attend_block_##V, aio_swiglu_##V, \
                        (gemm_fn) aio_q8_gemm_##V, aio_attend_block_q8_##V}

typedef struct {
    const char *name;
    supported_fn supported;
    quantize_fn quantize;
    gemm_fn gemm;
    attend_fn attend;
    swiglu_fn swiglu;
    gemm_fn q8gemm; /* Q8 weights (int8_t *, cast) */
    attend_q8_fn attendQ8;
} variant;

#if defined(__x86_64__)
DECLARE(avx512vnni)
DECLARE(avxvnni)
DECLARE(avx2)
static const variant VARIANTS[] = {ENTRY(avx512vnni, "avx512-vnni"), ENTRY(avxvnni, "avx-vnni"), ENTRY(avx2, "avx2")};
#elif defined(__aarch64__)
DECLARE(neondot)
DECLARE(neon)
static const variant VARIANTS[] = {ENTRY(neondot, "neon-dotprod"), ENTRY(neon, "neon")};
#endif
#define VARIANT_COUNT ((int) (sizeof(VARIANTS) / sizeof(VARIANTS[0])))

static int passed, failed;

static void check(int ok, const char *what, const char *variant, const char *detail) {
    printf("%s %s [%s]%s%s\n", ok ? "ok  " : "FAIL", what, variant, detail[0] ? ": " : "", detail);
    if (ok) {
        passed++;
    } else {
        failed++;
    }
}

/* ---- inputs -------------------------------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t next_u64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double uniform(double lo, double hi) {
    return lo + (hi - lo) * (double) (next_u64() >> 11) / 9007199254740992.0;
}

/* A random Q4 matrix in Jlama's layout: per row and 32-value block 16 bytes (low nibble value j, high j + 16) and a
 * scale. */
static void random_q4(int rows, int in, uint8_t *q, float *scales) {
    for (long i = 0; i < (long) rows * in / 2; i++) {
        q[i] = (uint8_t) next_u64();
    }
    for (long i = 0; i < (long) rows * in / BLOCK; i++) {
        scales[i] = (float) uniform(0.001, 0.05);
    }
}

static uint16_t to_half(float f) { /* round to nearest even; normal halves only (inputs are kept in range) */
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, mant = x & 0x7FFFFF;
    int exp = (int) ((x >> 23) & 0xFF) - 127 + 15;
    uint32_t h = sign | ((uint32_t) exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) {
        h++;
    }
    return (uint16_t) h;
}

static double from_half(uint16_t h) {
    int exp = (h >> 10) & 0x1F;
    double v = ldexp(1.0 + (h & 0x3FF) / 1024.0, exp - 15);
    return (h & 0x8000) ? -v : v;
}

static float random_half_value(double range) {
    double v = uniform(-range, range);
    if (fabs(v) < 1e-3) {
        v = v < 0 ? -1e-3 : 1e-3;
    }
    return (float) v;
}

/* ---- the references ---------------------------------------------------------------------------------------------- */

/* The activations' rounding, one value at a time (the specification the kernels match to the bit): per block of 32,
 * scale = max|x| / 127, value = x x 127/max rounded to the nearest integer, ties to even. */
static void quantize_reference(const float *x, int n, int in, int8_t *xq, float *xs, int32_t *xsum8) {
    int blocks = in / BLOCK;
    for (int i = 0; i < n; i++) {
        for (int b = 0; b < blocks; b++) {
            const float *src = x + (size_t) i * in + b * BLOCK;
            float max = 0.0f;
            for (int j = 0; j < BLOCK; j++) {
                max = fabsf(src[j]) > max ? fabsf(src[j]) : max;
            }
            float inverse = max != 0.0f ? 127.0f / max : 0.0f;
            int32_t sum = 0;
            for (int j = 0; j < BLOCK; j++) {
                float scaled = src[j] * inverse;
                int8_t v = (int8_t) (int32_t) nearbyintf(scaled);
                xq[(size_t) i * in + b * BLOCK + j] = v;
                sum += v;
            }
            xs[(size_t) i * blocks + b] = max / 127.0f;
            xsum8[(size_t) i * blocks + b] = 8 * sum;
        }
    }
}

/* The exact product of the Q4 weights (nibble - 8) x scale with the 8-bit activations x their scale, in double, and
 * the sum of the terms' magnitudes (for the float accumulation's error bound). */
static void gemm_reference(const uint8_t *q, const float *scales, int rows, int in, const int8_t *xq, const float *xs,
                           int n, double *y, double *magnitude) {
    int blocks = in / BLOCK;
    for (int i = 0; i < n; i++) {
        for (int r = 0; r < rows; r++) {
            double sum = 0, mag = 0;
            for (int b = 0; b < blocks; b++) {
                const uint8_t *w = q + ((size_t) r * blocks + b) * (BLOCK / 2);
                const int8_t *a = xq + (size_t) i * in + b * BLOCK;
                long dot = 0;
                for (int j = 0; j < BLOCK / 2; j++) {
                    dot += (long) ((w[j] & 0xF) - 8) * a[j] + (long) ((w[j] >> 4) - 8) * a[j + BLOCK / 2];
                }
                double term = (double) dot * scales[(size_t) r * blocks + b] * xs[(size_t) i * blocks + b];
                sum += term;
                mag += fabs(term);
            }
            y[(size_t) i * rows + r] = sum;
            magnitude[(size_t) i * rows + r] = mag;
        }
    }
}

/* A random Q8 matrix in Jlama's layout: per row and 32-value block 32 signed bytes (all of -128..127) and a scale. */
static void random_q8(int rows, int in, int8_t *q, float *scales) {
    for (long i = 0; i < (long) rows * in; i++) {
        q[i] = (int8_t) next_u64();
    }
    for (long i = 0; i < (long) rows * in / BLOCK; i++) {
        scales[i] = (float) uniform(0.0001, 0.005);
    }
}

/* The exact product of the Q8 weights (byte x scale) with the 8-bit activations, in double, and the terms' magnitudes. */
static void q8gemm_reference(const int8_t *q, const float *scales, int rows, int in, const int8_t *xq, const float *xs,
                             int n, double *y, double *magnitude) {
    int blocks = in / BLOCK;
    for (int i = 0; i < n; i++) {
        for (int r = 0; r < rows; r++) {
            double sum = 0, mag = 0;
            for (int b = 0; b < blocks; b++) {
                const int8_t *w = q + ((size_t) r * blocks + b) * BLOCK;
                const int8_t *a = xq + (size_t) i * in + b * BLOCK;
                long dot = 0;
                for (int j = 0; j < BLOCK; j++) {
                    dot += (long) w[j] * a[j];
                }
                double term = (double) dot * scales[(size_t) r * blocks + b] * xs[(size_t) i * blocks + b];
                sum += term;
                mag += fabs(term);
            }
            y[(size_t) i * rows + r] = sum;
            magnitude[(size_t) i * rows + r] = mag;
        }
    }
}

static uint64_t fnv(uint64_t h, const void *data, size_t bytes) {
    const uint8_t *p = data;
    for (size_t i = 0; i < bytes; i++) {
        h = (h ^ p[i]) * 0x100000001B3ULL;
    }
    return h;
}

/* ---- the checks ------------------------------------------------------------------------------------------------ */

static void test_quantize(const variant *v) {
    rng_state = 11;
    int n = 5, in = 1024;
    float *x = malloc(sizeof(float) * n * in);
    for (int i = 0; i < n * in; i++) {
        x[i] = (float) uniform(-4, 4) * (i % 97 == 0 ? 30.0f : 1.0f);
    }
    for (int j = 0; j < BLOCK; j++) {
        x[j] = 0.0f; /* an all-zero block */
    }
    /* A block of ties: max 127 makes 127/max exactly 1, so k + 0.5 lies halfway between two steps. Ties go to the
     * even step (2.5 -> 2, -2.5 -> -2, 3.5 -> 4), as llama.cpp's vector code rounds; half away from zero would not. */
    for (int j = 0; j < BLOCK; j++) {
        x[BLOCK + j] = j == 0 ? 127.0f : (float) ((j % 2 ? 1 : -1) * (j / 2 + 0.5));
    }
    int8_t *q = malloc(n * in), *qr = malloc(n * in);
    float *s = malloc(sizeof(float) * n * in / BLOCK), *sr = malloc(sizeof(float) * n * in / BLOCK);
    int32_t *o = malloc(4 * n * in / BLOCK), *orf = malloc(4 * n * in / BLOCK);
    v->quantize(x, n, in, q, s, o);
    quantize_reference(x, n, in, qr, sr, orf);
    int same = !memcmp(q, qr, n * in) && !memcmp(s, sr, sizeof(float) * n * in / BLOCK) && !memcmp(o, orf, 4 * n * in / BLOCK);
    int ties = q[BLOCK + 1] == 0 && q[BLOCK + 5] == 2 && q[BLOCK + 6] == -4 && q[BLOCK + 7] == 4; /* 0.5, 2.5, -3.5, 3.5 */
    check(same && ties, "8-bit rounding to the nearest step (ties to even) equals the scalar reference, bit for bit", v->name, "");
    free(x), free(q), free(qr), free(s), free(sr), free(o), free(orf);
}

/* Q4 or Q8 products. Shapes: partial last groups, one group, the model's own row lengths. Returns the checksum of
 * all results folded into checksum. */
static uint64_t test_gemm(const variant *v, int q8, uint64_t checksum) {
    static const int shapes[][2] = {{13, 64}, {16, 96}, {40, 256}, {100, 1024}, {37, 2816}};
    static const int batches[] = {1, 2, 3, 4, 5, 8, 13};
    char detail[200];
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        int rows = shapes[s][0], in = shapes[s][1], blocks = in / BLOCK;
        rng_state = 1000 + s;
        const char *format = q8 ? "Q8" : "Q4";
        gemm_fn gemm = q8 ? v->q8gemm : v->gemm;
        uint8_t *q = malloc((size_t) rows * in / (q8 ? 1 : 2));
        float *scales = malloc(sizeof(float) * rows * blocks);
        int groups = (rows + GROUP - 1) / GROUP;
        uint8_t *wq = aligned_alloc(64, (size_t) (q8 ? aio_q8_packed_bytes(rows, in) : aio_q4_packed_bytes(rows, in)));
        float *ws = aligned_alloc(64, sizeof(float) * (size_t) aio_q4_packed_scales(rows, in) + 64);
        if (q8) {
            random_q8(rows, in, (int8_t *) q, scales);
            aio_q8_repack((const int8_t *) q, scales, rows, in, (int8_t *) wq, ws);
        } else {
            random_q4(rows, in, q, scales);
            aio_q4_repack(q, scales, rows, in, wq, ws);
        }
        int maxN = 13;
        float *x = malloc(sizeof(float) * maxN * in);
        for (int i = 0; i < maxN * in; i++) {
            x[i] = (float) uniform(-3, 3);
        }
        int8_t *xq = malloc(maxN * in);
        float *xs = malloc(sizeof(float) * maxN * blocks);
        int32_t *xsum8 = malloc(4 * maxN * blocks);
        v->quantize(x, maxN, in, xq, xs, xsum8);
        double *ref = malloc(sizeof(double) * maxN * rows), *mag = malloc(sizeof(double) * maxN * rows);
        if (q8) {
            q8gemm_reference((const int8_t *) q, scales, rows, in, xq, xs, maxN, ref, mag);
        } else {
            gemm_reference(q, scales, rows, in, xq, xs, maxN, ref, mag);
        }
        float *alone = malloc(sizeof(float) * maxN * rows), *y = malloc(sizeof(float) * maxN * rows);
        /* Each row alone, all groups at once. */
        for (int i = 0; i < maxN; i++) {
            gemm(wq, ws, in, rows, 0, groups, xq + (size_t) i * in, xs + (size_t) i * blocks, xsum8 + (size_t) i * blocks,
                    1, alone + (size_t) i * rows, rows);
        }
        double worst = 0;
        int within = 1;
        for (int i = 0; i < maxN * rows; i++) {
            double bound = (blocks + 2) * ldexp(mag[i], -24) + 1e-30;
            double err = fabs(alone[i] - ref[i]);
            worst = err / bound > worst ? err / bound : worst;
            within &= err <= bound;
        }
        snprintf(detail, sizeof detail, "%s %d x %d, worst error %.2f of the bound (blocks + 2) x 2^-24 x sum |terms|", format, rows,
                 in, worst);
        check(within, "products equal the double-precision reference", v->name, detail);
        /* In batches, the groups split over two calls as the kernel threads split them. */
        int invariant = 1;
        for (size_t k = 0; k < sizeof(batches) / sizeof(batches[0]); k++) {
            int n = batches[k];
            memset(y, 0, sizeof(float) * n * rows);
            int split = groups / 2;
            gemm(wq, ws, in, rows, 0, split, xq, xs, xsum8, n, y, rows);
            gemm(wq, ws, in, rows, split, groups, xq, xs, xsum8, n, y, rows);
            invariant &= !memcmp(y, alone, sizeof(float) * n * rows);
        }
        snprintf(detail, sizeof detail, "%s %d x %d, batches of 1 to 13 rows", format, rows, in);
        check(invariant, "a row's result does not depend on its batch (to the bit)", v->name, detail);
        checksum = fnv(checksum, alone, sizeof(float) * maxN * rows);
        free(q), free(scales), free(wq), free(ws), free(x), free(xq), free(xs), free(xsum8), free(ref), free(mag), free(alone), free(y);
    }
    return checksum;
}

/* Causal attention of n queries over `tokens` positions of one sequence, in blocks of at most 64, against softmax
 * in double; q8: over 8-bit keys and values with a half-precision scale per head row (aio_attend_block_q8). */
static uint64_t test_attention(const variant *v, int headSize, int heads, int kvHeads, int q8, uint64_t checksum) {
    rng_state = 77 + headSize + heads + q8;
    int tokens = 100, n = 5, pos0 = tokens - n, blockTokens = 64;
    int kvDim = kvHeads * headSize, qStride = heads * headSize, groupSize = heads / kvHeads;
    float scale = 1.0f / sqrtf((float) headSize);
    float *q = malloc(sizeof(float) * n * qStride);
    for (int i = 0; i < n * qStride; i++) {
        q[i] = (float) uniform(-2, 2);
    }
    /* KV blocks as the engine keeps them: per block, keys (blockTokens x kvDim) then values. */
    int nBlocks = (tokens + blockTokens - 1) / blockTokens;
    int entries = nBlocks * 2 * blockTokens * kvDim;
    uint16_t *kv = malloc(sizeof(uint16_t) * entries);
    int8_t *kv8 = malloc(entries);
    uint16_t *scales = malloc(sizeof(uint16_t) * (entries / headSize));
    double *entry = malloc(sizeof(double) * entries); /* what each entry stands for */
    for (int i = 0; i < entries / headSize; i++) {
        scales[i] = to_half((float) uniform(0.002, 0.03));
    }
    for (int i = 0; i < entries; i++) {
        kv[i] = to_half(random_half_value(2));
        kv8[i] = (int8_t) (next_u64() % 255 - 127);
        entry[i] = q8 ? kv8[i] * from_half(scales[i / headSize]) : from_half(kv[i]);
    }
    float *max = malloc(sizeof(float) * n * heads), *sum = malloc(sizeof(float) * n * heads);
    float *acc = calloc((size_t) n * heads * headSize, sizeof(float));
    for (int i = 0; i < n * heads; i++) {
        max[i] = -INFINITY;
        sum[i] = 0;
    }
    int ok = 1;
    for (int blk = 0; blk < nBlocks; blk++) {
        int start = blk * blockTokens, count = tokens - start < blockTokens ? tokens - start : blockTokens;
        size_t base = (size_t) blk * 2 * blockTokens * kvDim;
        if (q8) {
            ok &= v->attendQ8(q, qStride, n, pos0, kv8 + base, scales + base / headSize, 0, blockTokens * kvDim, kvDim, 0, heads,
                              groupSize, start, count, headSize, scale, max, sum, acc) == 0;
        } else {
            ok &= v->attend(q, qStride, n, pos0, kv + base, 0, blockTokens * kvDim, kvDim, 0, heads, groupSize, start, count,
                            headSize, scale, max, sum, acc) == 0;
        }
    }
    double worst = 0;
    for (int i = 0; i < n; i++) {
        int visible = pos0 + i + 1;
        for (int h = 0; h < heads; h++) {
            int kvCol = (h / groupSize) * headSize;
            double *score = malloc(sizeof(double) * visible), m = -INFINITY, total = 0;
            for (int t = 0; t < visible; t++) {
                const double *key = entry + (size_t) (t / blockTokens) * 2 * blockTokens * kvDim + (size_t) (t % blockTokens) * kvDim;
                double dot = 0;
                for (int d = 0; d < headSize; d++) {
                    dot += (double) q[(size_t) i * qStride + h * headSize + d] * key[kvCol + d];
                }
                score[t] = dot * scale;
                m = score[t] > m ? score[t] : m;
            }
            for (int t = 0; t < visible; t++) {
                total += exp(score[t] - m);
            }
            for (int d = 0; d < headSize; d++) {
                double out = 0;
                for (int t = 0; t < visible; t++) {
                    const double *value = entry + (size_t) (t / blockTokens) * 2 * blockTokens * kvDim + blockTokens * kvDim
                                          + (size_t) (t % blockTokens) * kvDim;
                    out += exp(score[t] - m) / total * value[kvCol + d];
                }
                double got = acc[((size_t) i * heads + h) * headSize + d] / sum[(size_t) i * heads + h];
                double err = fabs(got - out);
                worst = err > worst ? err : worst;
            }
            free(score);
        }
    }
    char detail[160];
    snprintf(detail, sizeof detail, "%s, head size %d, %d heads / %d KV heads, 2 blocks; max |error| %.2e (bound 2e-5)",
             q8 ? "8-bit" : "16-bit", headSize, heads, kvHeads, worst);
    check(ok && worst <= 2e-5, "attention equals softmax attention in double", v->name, detail);
    checksum = fnv(checksum, acc, sizeof(float) * n * heads * headSize);
    checksum = fnv(checksum, sum, sizeof(float) * n * heads);
    free(q), free(kv), free(kv8), free(scales), free(entry), free(max), free(sum), free(acc);
    return checksum;
}

static uint64_t test_swiglu(const variant *v, uint64_t checksum) {
    rng_state = 5;
    int n = 2816 + 5;
    float *gate = malloc(sizeof(float) * n), *up = malloc(sizeof(float) * n);
    double *ref = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++) {
        gate[i] = (float) uniform(-12, 12);
        up[i] = (float) uniform(-3, 3);
        ref[i] = gate[i] / (1.0 + exp(-(double) gate[i])) * up[i];
    }
    v->swiglu(gate, up, 3, n - 3);
    double worst = 0;
    for (int i = 3; i < n; i++) {
        double err = fabs(gate[i] - ref[i]) / (fabs(ref[i]) + 1e-30);
        worst = err > worst ? err : worst;
    }
    char detail[100];
    snprintf(detail, sizeof detail, "max relative error %.2e (bound 1e-6)", worst);
    check(worst <= 1e-6, "SwiGLU equals silu(g) * u in double", v->name, detail);
    checksum = fnv(checksum, gate, sizeof(float) * n);
    free(gate), free(up), free(ref);
    return checksum;
}

/* ---- speed ------------------------------------------------------------------------------------------------------ */

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void bench(const variant *v) {
    static const int shapes[][2] = {{2816, 1024}, {1024, 2816}, {151936, 1024}};
    static const int batches[] = {1, 4, 8, 64};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        int rows = shapes[s][0], in = shapes[s][1], blocks = in / BLOCK, groups = (rows + GROUP - 1) / GROUP;
        rng_state = 3;
        uint8_t *q = malloc((size_t) rows * in / 2);
        float *scales = malloc(sizeof(float) * rows * blocks);
        random_q4(rows, in, q, scales);
        /* Many copies of the smaller matrices, so that the decode loop reads memory, not the cache. */
        int copies = rows * in < 64 << 20 ? (int) ((256L << 20) / ((long) rows * in / 2)) : 1;
        long bytes = aio_q4_packed_bytes(rows, in), nscales = aio_q4_packed_scales(rows, in);
        uint8_t *wq = aligned_alloc(64, (size_t) bytes * copies);
        float *ws = aligned_alloc(64, sizeof(float) * (size_t) nscales * copies);
        for (int c = 0; c < copies; c++) {
            aio_q4_repack(q, scales, rows, in, wq + (size_t) c * bytes, ws + (size_t) c * nscales);
        }
        for (size_t k = 0; k < sizeof(batches) / sizeof(batches[0]); k++) {
            int n = batches[k];
            float *x = malloc(sizeof(float) * n * in), *y = malloc(sizeof(float) * n * rows);
            for (int i = 0; i < n * in; i++) {
                x[i] = (float) uniform(-3, 3);
            }
            int8_t *xq = malloc(n * in);
            float *xs = malloc(sizeof(float) * n * blocks);
            int32_t *xsum8 = malloc(4 * n * blocks);
            v->quantize(x, n, in, xq, xs, xsum8);
            int reps = n >= 64 ? 2 : 4;
            double t0 = seconds();
            for (int r = 0; r < reps; r++) {
                for (int c = 0; c < copies; c++) {
                    v->gemm(wq + (size_t) c * bytes, ws + (size_t) c * nscales, in, rows, 0, groups, xq, xs, xsum8, n, y, rows);
                }
            }
            double t = (seconds() - t0) / reps / copies;
            printf("%-13s %6d x %4d  n=%-3d  %7.3f ms  %6.1f GB/s of weights  %6.1f GMAC/s\n", v->name, rows, in, n, t * 1e3,
                   (bytes + 4.0 * nscales) / t / 1e9, (double) rows * in * n / t / 1e9);
            free(x), free(y), free(xq), free(xs), free(xsum8);
        }
        free(q), free(scales), free(wq), free(ws);
    }
}

/* One decode step's attention over the 0.5B model's KV (24 layers, 16 heads of 64, blocks of 16 positions) for
 * `seqs` sequences of `tokens` positions, F16 blocks against Q8 blocks, best of 5 (each sequence's blocks its own,
 * so the KV is read from memory as in the engine). */
static void bench_attention(const variant *v, int tokens, int seqs) {
    int layers = 24, kvDim = 1024, heads = 16, hs = 64, bt = 16, nb = (tokens + bt - 1) / bt;
    size_t entries = (size_t) layers * 2 * bt * kvDim;
    uint16_t **f16 = malloc(sizeof(void *) * seqs * nb), **sc = malloc(sizeof(void *) * seqs * nb);
    int8_t **q8 = malloc(sizeof(void *) * seqs * nb);
    rng_state = 9;
    for (int i = 0; i < seqs * nb; i++) {
        f16[i] = malloc(entries * 2), q8[i] = malloc(entries), sc[i] = malloc(entries / hs * 2);
        for (size_t j = 0; j < entries; j++) {
            f16[i][j] = to_half(random_half_value(2));
            q8[i][j] = (int8_t) (next_u64() % 255 - 127);
        }
        for (size_t j = 0; j < entries / hs; j++) {
            sc[i][j] = to_half((float) uniform(0.002, 0.03));
        }
    }
    float q[1024], max[8], sum[8], acc[8 * 64];
    for (int i = 0; i < 1024; i++) {
        q[i] = (float) uniform(-1, 1);
    }
    for (int q8type = 0; q8type <= 1; q8type++) {
        double best = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = seconds();
            for (int s = 0; s < seqs; s++) {
                for (int l = 0; l < layers; l++) {
                    for (int h0 = 0; h0 < heads; h0 += 8) {
                        for (int k = 0; k < 8; k++) {
                            max[k] = -INFINITY, sum[k] = 0;
                        }
                        memset(acc, 0, sizeof acc);
                        for (int b = 0; b < nb; b++) {
                            int count = tokens - b * bt < bt ? tokens - b * bt : bt;
                            int kb = l * 2 * bt * kvDim, vb = (l * 2 + 1) * bt * kvDim;
                            if (q8type) {
                                v->attendQ8(q, 1024, 1, tokens - 1, q8[s * nb + b], sc[s * nb + b], kb, vb, kvDim, h0, 8, 1, b * bt,
                                            count, hs, 0.125f, max, sum, acc);
                            } else {
                                v->attend(q, 1024, 1, tokens - 1, f16[s * nb + b], kb, vb, kvDim, h0, 8, 1, b * bt, count, hs,
                                          0.125f, max, sum, acc);
                            }
                        }
                    }
                }
            }
            double t = seconds() - t0;
            best = t < best ? t : best;
        }
        printf("%-13s KV %s  %d sequences x %4d positions: %7.2f ms a decode step's attention (24 layers, 1 thread)\n", v->name,
               q8type ? "Q8 " : "F16", seqs, tokens, best * 1e3);
    }
    for (int i = 0; i < seqs * nb; i++) {
        free(f16[i]), free(q8[i]), free(sc[i]);
    }
    free(f16), free(q8), free(sc);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--bench-attention")) {
        for (int i = 0; i < VARIANT_COUNT; i++) {
            if (!strcmp(VARIANTS[i].name, argv[2]) && VARIANTS[i].supported()) {
                bench_attention(&VARIANTS[i], 120, 8);
                bench_attention(&VARIANTS[i], 512, 8);
                bench_attention(&VARIANTS[i], 1024, 4);
                return 0;
            }
        }
        fprintf(stderr, "no variant %s on this CPU\n", argv[2]);
        return 2;
    }
    if (argc == 3 && !strcmp(argv[1], "--bench")) {
        for (int i = 0; i < VARIANT_COUNT; i++) {
            if (!strcmp(VARIANTS[i].name, argv[2]) && VARIANTS[i].supported()) {
                bench(&VARIANTS[i]);
                return 0;
            }
        }
        fprintf(stderr, "no variant %s on this CPU\n", argv[2]);
        return 2;
    }
    uint64_t first = 0;
    const char *firstName = NULL;
    for (int i = 0; i < VARIANT_COUNT; i++) {
        const variant *v = &VARIANTS[i];
        int named = argc == 1;
        for (int a = 1; a < argc; a++) {
            named |= !strcmp(argv[a], v->name);
        }
        if (!named) {
            continue;
        }
        if (!v->supported()) {
            if (argc > 1) {
                check(0, "the CPU runs the variant", v->name, "this CPU lacks its instructions");
            } else {
                printf("skip %s: this CPU lacks its instructions\n", v->name);
            }
            continue;
        }
        test_quantize(v);
        uint64_t checksum = test_gemm(v, 0, 0xCBF29CE484222325ULL);
        checksum = test_gemm(v, 1, checksum);
        for (int q8 = 0; q8 <= 1; q8++) {
            checksum = test_attention(v, 64, 16, 16, q8, checksum);
            checksum = test_attention(v, 128, 14, 2, q8, checksum);
            checksum = test_attention(v, 64, 12, 4, q8, checksum);
        }
        checksum = test_swiglu(v, checksum);
        printf("checksum %s %016llx\n", v->name, (unsigned long long) checksum);
        if (firstName == NULL) {
            first = checksum;
            firstName = v->name;
        } else {
            char detail[120];
            snprintf(detail, sizeof detail, "the same bits as %s", firstName);
            check(checksum == first, "every variant gives the same results", v->name, detail);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
