package dev.allinone.engine;

import com.github.tjake.jlama.math.VectorMath;
import com.github.tjake.jlama.model.LayerNorm;
import com.github.tjake.jlama.model.RMSNorm;
import com.github.tjake.jlama.model.functions.EmbedInput;
import com.github.tjake.jlama.model.functions.SampleOutput;
import com.github.tjake.jlama.model.qwen2.Qwen2Model;
import com.github.tjake.jlama.safetensors.Config;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.safetensors.WeightLoader;
import com.github.tjake.jlama.safetensors.tokenizer.Tokenizer;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.operations.TensorOperationsProvider;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;

/**
 * Jlama's Qwen2 checkpoint loading and matrix kernels, used by our own {@link Transformer}: the weights of each
 * layer as Jlama tensors (Q4 or as stored), matrix products on Jlama's kernels, embedding rows, and the LM head.
 *
 * <p>It keeps the embedding table and the LM head in their stored format: stock Jlama widens the 151,936 × 1,024
 * table to F32 (622 MB, read whole for every generated token). Here the table stays BF16 (rows widened one at a
 * time on lookup) and the head is that table, {@code lm_head.weight}, or its Q4 copy.
 *
 * <p>Not thread-safe (Jlama's kernels keep scratch state): only the engine's model thread calls it.
 */
final class QwenJlamaModel extends Qwen2Model {

    /** One decoder layer's weights; norms and biases widened to float arrays. */
    record Layer(float[] attentionNorm, AbstractTensor q, AbstractTensor k, AbstractTensor v, float[] qBias, float[] kBias,
            float[] vBias, AbstractTensor o, float[] mlpNorm, AbstractTensor gate, AbstractTensor up, AbstractTensor down) {
    }

    private final double ropeTheta;
    private Layer[] layers;
    private float[] finalNorm;
    private AbstractTensor embeddingTable;

    QwenJlamaModel(Config config, WeightLoader weights, Tokenizer tokenizer, DType workingDType, DType workingQType, double ropeTheta) {
        super(InferenceType.FULL_GENERATION, config, weights, tokenizer, workingDType, workingQType, Optional.empty());
        this.ropeTheta = ropeTheta;
    }

    @Override
    protected EmbedInput loadInputWeights() {
        embeddingTable = weights.load("model.embed_tokens.weight");
        return (token, position) -> {
            throw new UnsupportedOperationException("Embeddings are looked up by embed()");
        };
    }

    @Override
    protected SampleOutput loadOutputWeights() {
        LayerNorm norm = new RMSNorm(this, weights.load("model.norm.weight"));
        AbstractTensor head = weights.load(weights.isWeightPresent("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight");
        return new SampleOutput() {
            @Override
            public LayerNorm getOutputLayerNorm() {
                return norm;
            }

            @Override
            public AbstractTensor getOutputLogitsWeights() {
                return head;
            }
        };
    }

    /** The layers' weights, loaded on first use (Jlama's own blocks map the same memory; nothing is copied). */
    Layer layer(int i) {
        if (layers == null) {
            layers = new Layer[c.numberOfLayers];
            for (int l = 0; l < layers.length; l++) {
                String base = "model.layers." + l + ".";
                layers[l] = new Layer(vector(base + "input_layernorm.weight"),
                        weights.load(base + "self_attn.q_proj.weight"), weights.load(base + "self_attn.k_proj.weight"),
                        weights.load(base + "self_attn.v_proj.weight"), vector(base + "self_attn.q_proj.bias"),
                        vector(base + "self_attn.k_proj.bias"), vector(base + "self_attn.v_proj.bias"),
                        weights.load(base + "self_attn.o_proj.weight"), vector(base + "post_attention_layernorm.weight"),
                        weights.load(base + "mlp.gate_proj.weight"), weights.load(base + "mlp.up_proj.weight"),
                        weights.load(base + "mlp.down_proj.weight"));
            }
            finalNorm = vector("model.norm.weight");
        }
        return layers[i];
    }

    float[] finalNorm() {
        layer(0);
        return finalNorm;
    }

    private float[] vector(String name) {
        AbstractTensor t = weights.load(name);
        float[] out = new float[(int) t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.dims() == 1 ? t.get(i) : t.get(0, i);
        }
        return out;
    }

    /** Embedding rows of {@code tokens[from…from+n-1]} into {@code out} (n × hidden). */
    void embed(int[] tokens, int from, int n, float[] out) {
        int d = c.embeddingLength;
        for (int i = 0; i < n; i++) {
            AbstractTensor row = embeddingTable.slice(true, tokens[from + i]);
            for (int j = 0; j < d; j++) {
                out[i * d + j] = row.get(0, j);
            }
        }
    }

    /** {@code y[n × rows] = x[n × in] · Wᵀ}, on Jlama's kernels, both cores. */
    void matmul(float[] x, int n, AbstractTensor w, float[] y) {
        int in = (int) w.shape().last();
        int out = w.shape().first();
        try (AbstractTensor xt = makeDenseTensor(n, in); AbstractTensor yt = makeDenseTensor(n, out)) {
            MemorySegment.copy(x, 0, xt.getMemorySegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, n * in);
            VectorMath.pchunk(0, out, (start, size) -> TensorOperationsProvider.get().dotProductChunk(yt, xt, w, 0, in, start, size));
            MemorySegment.copy(yt.getMemorySegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, y, 0, n * out);
        }
    }

    /** Logits of the given vocabulary rows only: a few dot products instead of the whole LM head. */
    float[] logitsOf(float[] normed, int[] ids) {
        float[] out = new float[ids.length];
        try (AbstractTensor x = tensorOf(normed); AbstractTensor logits = makeDenseTensor(1, c.vocabularySize)) {
            for (int i = 0; i < ids.length; i++) {
                TensorOperationsProvider.get()
                        .dotProductChunk(logits, x, sampleOutput.getOutputLogitsWeights(), 0, c.embeddingLength, ids[i], 1);
                out[i] = logits.get(0, ids[i]);
            }
        }
        return out;
    }

    /** All logits into {@code out} (length = vocabulary size). */
    void allLogits(float[] normed, float[] out) {
        try (AbstractTensor x = tensorOf(normed); AbstractTensor logits = makeDenseTensor(1, c.vocabularySize)) {
            VectorMath.pchunk(0, c.vocabularySize, (start, size) -> TensorOperationsProvider.get()
                    .dotProductChunk(logits, x, sampleOutput.getOutputLogitsWeights(), 0, c.embeddingLength, start, size));
            MemorySegment.copy(logits.getMemorySegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, out, 0, out.length);
        }
    }

    private AbstractTensor tensorOf(float[] row) {
        AbstractTensor t = makeDenseTensor(1, row.length);
        MemorySegment.copy(row, 0, t.getMemorySegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, row.length);
        return t;
    }

    Config config() {
        return c;
    }

    double ropeTheta() {
        return ropeTheta;
    }

    float normEps() {
        return c.layerNormEps;
    }

    int vocabularySize() {
        return c.vocabularySize;
    }

    int contextLength() {
        return c.contextLength;
    }
}
