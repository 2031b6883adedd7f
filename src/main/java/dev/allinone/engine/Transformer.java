package dev.allinone.engine;

import com.github.tjake.jlama.math.VectorMath;
import com.github.tjake.jlama.safetensors.Config;
import dev.allinone.engine.kv.SequenceKv;

/**
 * The Qwen2 decoder, written out: for a chunk of new tokens, embeddings → per layer (RMSNorm, Q/K/V with biases,
 * rotary positions, keys/values appended to the sequence's KV, causal attention, output projection, residual;
 * RMSNorm, SwiGLU MLP, residual) → final RMSNorm of the last position. Matrix products run on Jlama's kernels over
 * all rows of the chunk at once; each row's result does not depend on the other rows, so a prompt prefilled in
 * one chunk or continued from cached KV gives the same numbers. Model thread only.
 */
final class Transformer {

    /** Longest run of tokens pushed through the layers at once (bounds the scratch memory of a long prompt). */
    static final int MAX_CHUNK = 256;

    /**
     * Activations of one chunk, kept between chunks: a 256-token chunk needs about 12 MB of them, and allocating
     * them anew for every chunk (and every generated token) kept the collector busy promoting them.
     */
    private static final class Buffers {
        final int rows;
        final float[] x, normed, q, k, v, attended, projected, gate, up;

        Buffers(int rows, Config c, int qDim, int kvDim) {
            this.rows = rows;
            int d = c.embeddingLength;
            x = new float[rows * d];
            normed = new float[rows * d];
            q = new float[rows * qDim];
            k = new float[rows * kvDim];
            v = new float[rows * kvDim];
            attended = new float[rows * qDim];
            projected = new float[rows * d];
            gate = new float[rows * c.hiddenLength];
            up = new float[rows * c.hiddenLength];
        }
    }

    private Buffers single;
    private Buffers chunk;

    /** One token's buffers stay; a longer chunk's are kept until a longer one comes. */
    private Buffers buffers(int n) {
        if (n == 1) {
            if (single == null) {
                single = new Buffers(1, c, qDim, kvDim);
            }
            return single;
        }
        if (chunk == null || chunk.rows < n) {
            chunk = new Buffers(Math.max(n, Math.min(MAX_CHUNK, 64)), c, qDim, kvDim);
        }
        return chunk;
    }

    private final QwenJlamaModel model;
    private final Config c;
    private final Rope rope;
    private final Attention attention;
    private final int qDim;
    private final int kvDim;

    Transformer(QwenJlamaModel model) {
        this.model = model;
        this.c = model.config();
        this.qDim = c.numberOfHeads * c.headSize;
        this.kvDim = c.numberOfKeyValueHeads * c.headSize;
        this.rope = new Rope(c.headSize, c.contextLength, model.ropeTheta());
        this.attention = new Attention(c.numberOfHeads, c.numberOfKeyValueHeads, c.headSize);
    }

    /** Values of keys (or values) per position and layer. */
    int kvDim() {
        return kvDim;
    }

    int layers() {
        return c.numberOfLayers;
    }

    /**
     * Appends {@code tokens[from…]} to {@code kv} and returns the final-norm hidden state of the last one.
     */
    float[] forward(int[] tokens, int from, SequenceKv kv) {
        float[] last = null;
        for (int start = from; start < tokens.length; start += MAX_CHUNK) {
            last = chunk(tokens, start, Math.min(MAX_CHUNK, tokens.length - start), kv);
        }
        return last;
    }

    private float[] chunk(int[] tokens, int from, int n, SequenceKv kv) {
        int d = c.embeddingLength;
        int pos0 = kv.length();
        kv.append(tokens, from, n);
        Buffers b = buffers(n);
        float[] x = b.x;
        model.embed(tokens, from, n, x);
        for (int l = 0; l < c.numberOfLayers; l++) {
            QwenJlamaModel.Layer w = model.layer(l);
            rmsNorm(x, w.attentionNorm(), b.normed, n);
            model.matmul(b.normed, n, w.q(), b.q);
            model.matmul(b.normed, n, w.k(), b.k);
            model.matmul(b.normed, n, w.v(), b.v);
            addBias(b.q, w.qBias(), n);
            addBias(b.k, w.kBias(), n);
            addBias(b.v, w.vBias(), n);
            for (int i = 0; i < n; i++) {
                rope.rotate(b.q, i * qDim, c.numberOfHeads, pos0 + i);
                rope.rotate(b.k, i * kvDim, c.numberOfKeyValueHeads, pos0 + i);
                store(kv, l, pos0 + i, b.k, b.v, i * kvDim);
            }
            attention.forward(kv, l, b.q, n, pos0, b.attended);
            model.matmul(b.attended, n, w.o(), b.projected);
            add(x, b.projected, n * d);
            rmsNorm(x, w.mlpNorm(), b.normed, n);
            model.matmul(b.normed, n, w.gate(), b.gate);
            model.matmul(b.normed, n, w.up(), b.up);
            swiGlu(b.gate, b.up, n * c.hiddenLength);
            model.matmul(b.gate, n, w.down(), b.projected);
            add(x, b.projected, n * d);
        }
        float[] out = new float[d];
        System.arraycopy(x, (n - 1) * d, out, 0, d);
        float[] result = new float[d];
        rmsNorm(out, model.finalNorm(), result, 1);
        return result;
    }

    private void store(SequenceKv kv, int layer, int position, float[] k, float[] v, int offset) {
        short[] block = kv.block(position);
        int ko = kv.keyOffset(layer, position);
        int vo = kv.valueOffset(layer, position);
        for (int j = 0; j < kvDim; j++) {
            block[ko + j] = Float.floatToFloat16(k[offset + j]);
            block[vo + j] = Float.floatToFloat16(v[offset + j]);
        }
    }

    private void rmsNorm(float[] x, float[] weight, float[] out, int n) {
        int d = weight.length;
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int j = 0; j < d; j++) {
                float v = x[i * d + j];
                ss += v * v;
            }
            float inv = (float) (1.0 / Math.sqrt(ss / d + model.normEps()));
            for (int j = 0; j < d; j++) {
                out[i * d + j] = weight[j] * (inv * x[i * d + j]);
            }
        }
    }

    private static void addBias(float[] x, float[] bias, int n) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < bias.length; j++) {
                x[i * bias.length + j] += bias[j];
            }
        }
    }

    private static void add(float[] x, float[] y, int length) {
        for (int i = 0; i < length; i++) {
            x[i] += y[i];
        }
    }

    /** {@code gate = silu(gate) * up}, split over the kernel threads for long chunks. */
    private static void swiGlu(float[] gate, float[] up, int length) {
        VectorMath.pchunk(0, length, (start, size) -> {
            for (int i = start; i < start + size; i++) {
                float g = gate[i];
                gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
            }
        });
    }
}
