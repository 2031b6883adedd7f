/* What every kernel variant shares: the packed weight layout (kernels.h). Plain C. */
#include "kernels.h"

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

/* Bytes of packed Q8 quants for a rows x in matrix (its scales: aio_q4_packed_scales, one per row and block). */
int64_t aio_q8_packed_bytes(int32_t rows, int32_t in) {
    return (int64_t) ((rows + GROUP - 1) / GROUP) * (in / BLOCK) * Q8_GROUP_BLOCK_BYTES;
}

/* Jlama's Q8 layout (row-major 32-byte blocks of signed values, one float scale per block) into groups of 16 rows:
 * per block 8 vectors of 64 bytes, vector v holding bytes 4v..4v+3 of each of the 16 rows; missing rows of the last
 * group are zero. */
void aio_q8_repack(const int8_t *q, const float *scales, int32_t rows, int32_t in, int8_t *out, float *out_scales) {
    int blocks = in / BLOCK;
    int groups = (rows + GROUP - 1) / GROUP;
    for (int g = 0; g < groups; g++) {
        for (int b = 0; b < blocks; b++) {
            int8_t *dst = out + ((size_t) g * blocks + b) * Q8_GROUP_BLOCK_BYTES;
            float *dst_scales = out_scales + ((size_t) g * blocks + b) * GROUP;
            for (int r = 0; r < GROUP; r++) {
                int row = g * GROUP + r;
                if (row >= rows) {
                    for (int v = 0; v < 8; v++) {
                        memset(dst + v * 4 * GROUP + r * 4, 0, 4);
                    }
                    dst_scales[r] = 0.0f;
                    continue;
                }
                const int8_t *src = q + ((size_t) row * blocks + b) * BLOCK;
                for (int v = 0; v < 8; v++) {
                    memcpy(dst + v * 4 * GROUP + r * 4, src + v * 4, 4);
                }
                dst_scales[r] = scales[(size_t) row * blocks + b];
            }
        }
    }
}

/* r = x minus its 8-bit form (xq x the block's scale xs), value by value in float, for the residual rows of the
 * formats that multiply it too (NativeProducts; the same operations as QwenJlamaModel.roundTo8BitsWithResidual, so
 * the same bits). */
void aio_residual(const float *x, const int8_t *xq, const float *xs, int64_t values, float *r) {
    for (int64_t b = 0; b < values / BLOCK; b++) {
        float scale = xs[b];
        for (int j = 0; j < BLOCK; j++) {
            r[b * BLOCK + j] = x[b * BLOCK + j] - (float) xq[b * BLOCK + j] * scale;
        }
    }
}

int aio_attends_head_size(int32_t headSize) {
    return headSize == 64 || headSize == 128;
}
