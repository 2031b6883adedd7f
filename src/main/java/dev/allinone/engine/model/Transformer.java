package dev.allinone.engine.model;

import com.github.tjake.jlama.safetensors.Config;
import dev.allinone.engine.kernels.Attention;
import dev.allinone.engine.kernels.KernelThreads;
import dev.allinone.engine.kernels.NativeKernels;
import dev.allinone.engine.kv.KvCacheType;
import dev.allinone.engine.kv.KvLayout;
import dev.allinone.engine.kv.SequenceKv;

import java.util.ArrayList;
import java.util.List;

/**
 * The Qwen decoder, written out: for new tokens of one or several sequences, embeddings → per layer (RMSNorm,
 * Q/K/V (with biases where the {@link Architecture} has them; each head of Q and K RMS-normalised where it has
 * q/k norms), rotary positions, keys/values appended to each sequence's KV, causal attention of each
 * sequence over its own KV, output projection, residual; RMSNorm, SwiGLU MLP, residual) → final RMSNorm of each
 * sequence's last position. Matrix products run over all rows of the step at once ({@link QwenJlamaModel#matmul});
 * each row's result does not depend on the other rows, so a prompt prefilled in one chunk, continued from cached
 * KV or computed beside other sequences gives the same numbers. Model thread only.
 */
public final class Transformer {

    /** Longest run of tokens pushed through the layers at once (bounds the scratch memory of a long prompt). */
    public static final int MAX_CHUNK = 256;

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

    public Transformer(QwenJlamaModel model) {
        this.model = model;
        this.c = model.config();
        this.qDim = c.numberOfHeads * c.headSize;
        this.kvDim = c.numberOfKeyValueHeads * c.headSize;
        this.rope = new Rope(c.headSize, c.contextLength, model.ropeTheta());
        this.attention = new Attention(c.numberOfHeads, c.numberOfKeyValueHeads, c.headSize, model.kernels());
    }

    /** Values of keys (or values) per position and layer. */
    public int kvDim() {
        return kvDim;
    }

    public int headSize() {
        return c.headSize;
    }

    /** The KV layout of this model's sequences: blocks of {@code blockTokens} positions, keys and values stored as {@code type}. */
    public KvLayout kvLayout(int blockTokens, KvCacheType type) {
        return new KvLayout(c.numberOfLayers, kvDim, blockTokens, type, c.headSize);
    }

    public int layers() {
        return c.numberOfLayers;
    }

    /** Tokens {@code tokens[from…from+n-1]} to append to {@code kv} in one step. */
    public record Segment(int[] tokens, int from, int n, SequenceKv kv) {
    }

    /**
     * Appends {@code tokens[from…]} to {@code kv} and returns the final-norm hidden state of the last one.
     */
    public float[] forward(int[] tokens, int from, SequenceKv kv) {
        float[] last = null;
        for (int start = from; start < tokens.length; start += MAX_CHUNK) {
            last = forward(List.of(new Segment(tokens, start, Math.min(MAX_CHUNK, tokens.length - start), kv)))[0];
        }
        return last;
    }

    /**
     * One pass through the layers for several sequences at once (a batch step): the rows of all segments share
     * every matrix product, each segment attends over its own sequence. Returns the final-norm hidden state of each
     * segment's last row. A row's numbers do not depend on the other rows of the step.
     */
    public float[][] forward(List<Segment> segments) {
        int d = c.embeddingLength;
        int n = 0;
        List<Attention.Part> parts = new ArrayList<>(segments.size());
        for (Segment s : segments) {
            parts.add(new Attention.Part(s.kv(), n, s.n(), s.kv().length()));
            s.kv().append(s.tokens(), s.from(), s.n());
            n += s.n();
        }
        Buffers b = buffers(n);
        float[] x = b.x;
        for (int i = 0; i < segments.size(); i++) {
            Segment s = segments.get(i);
            model.embed(s.tokens(), s.from(), s.n(), x, parts.get(i).row0());
        }
        for (int l = 0; l < c.numberOfLayers; l++) {
            QwenJlamaModel.Layer w = model.layer(l);
            rmsNorm(x, w.attentionNorm(), b.normed, n);
            QwenJlamaModel.Input normed = model.input(b.normed, n);
            model.matmul(normed, w.q(), b.q);
            model.matmul(normed, w.k(), b.k);
            model.matmul(normed, w.v(), b.v);
            if (w.qBias() != null) {
                addBias(b.q, w.qBias(), n);
                addBias(b.k, w.kBias(), n);
                addBias(b.v, w.vBias(), n);
            }
            if (w.qNorm() != null) {
                // Every head of every row is a row of headSize values here.
                rmsNorm(b.q, w.qNorm(), b.q, n * c.numberOfHeads);
                rmsNorm(b.k, w.kNorm(), b.k, n * c.numberOfKeyValueHeads);
            }
            for (Attention.Part p : parts) {
                for (int i = 0; i < p.n(); i++) {
                    int row = p.row0() + i;
                    rope.rotate(b.q, row * qDim, c.numberOfHeads, p.pos0() + i);
                    rope.rotate(b.k, row * kvDim, c.numberOfKeyValueHeads, p.pos0() + i);
                    p.kv().write(l, p.pos0() + i, b.k, b.v, row * kvDim);
                }
            }
            attention.forward(parts, l, b.q, b.attended);
            model.matmul(b.attended, n, w.o(), b.projected);
            add(x, b.projected, n * d);
            rmsNorm(x, w.mlpNorm(), b.normed, n);
            QwenJlamaModel.Input mlpIn = model.input(b.normed, n);
            model.matmul(mlpIn, w.gate(), b.gate);
            model.matmul(mlpIn, w.up(), b.up);
            swiGlu(b.gate, b.up, n * c.hiddenLength);
            model.matmul(b.gate, n, w.down(), b.projected);
            add(x, b.projected, n * d);
        }
        float[][] out = new float[parts.size()][];
        float[] last = new float[d];
        for (int i = 0; i < out.length; i++) {
            Attention.Part p = parts.get(i);
            System.arraycopy(x, (p.row0() + p.n() - 1) * d, last, 0, d);
            out[i] = new float[d];
            rmsNorm(last, model.finalNorm(), out[i], 1);
        }
        return out;
    }

    /** Each of the {@code n} rows of {@code weight.length} values of {@code x}, normalised into {@code out} (may be {@code x}). */
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

    /** {@code gate = silu(gate) * up}, split over the kernel threads. */
    private void swiGlu(float[] gate, float[] up, int length) {
        NativeKernels kernels = model.kernels();
        KernelThreads.get().run(0, length, (start, size) -> {
            if (kernels != null) {
                kernels.swiGlu(gate, up, start, size);
                return;
            }
            for (int i = start; i < start + size; i++) {
                float g = gate[i];
                gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
            }
        });
    }
}
