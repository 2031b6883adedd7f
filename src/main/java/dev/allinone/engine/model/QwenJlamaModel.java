package dev.allinone.engine.model;

import com.github.tjake.jlama.math.VectorMath;
import com.github.tjake.jlama.model.LayerNorm;
import com.github.tjake.jlama.model.RMSNorm;
import com.github.tjake.jlama.model.TransformerBlock;
import com.github.tjake.jlama.model.functions.EmbedInput;
import com.github.tjake.jlama.model.functions.SampleOutput;
import com.github.tjake.jlama.model.qwen2.Qwen2Model;
import com.github.tjake.jlama.safetensors.Config;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.safetensors.WeightLoader;
import com.github.tjake.jlama.safetensors.tokenizer.Tokenizer;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.operations.TensorOperationsProvider;
import dev.allinone.engine.kernels.KernelLayoutFile;
import dev.allinone.engine.kernels.Kernels;
import dev.allinone.engine.kernels.MatrixFormat;
import dev.allinone.engine.kernels.NativeKernels;
import dev.allinone.engine.kernels.PackedMatrices;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Jlama's Qwen2 checkpoint loading and matrix kernels, used by our own {@link Transformer}: the weights of each
 * layer as Jlama tensors (Q4 or as stored), matrix products on Jlama's kernels, embedding rows, and the LM head.
 *
 * <p>It keeps the embedding table and the LM head in their stored format: stock Jlama widens the 151,936 × 1,024
 * table to F32 (622 MB, read whole for every generated token). Here the table stays in its file as stored, rows
 * read and widened one at a time on lookup ({@link EmbeddingRows}), and the head is that table,
 * {@code lm_head.weight}, or its Q4 or Q8 copy.
 *
 * <p>Where {@link NativeKernels} run on this machine, every matrix of a format they multiply ({@link MatrixFormat}) is
 * packed for them at load ({@link PackedMatrices}) and all products with it run there; Jlama's kernels (and the
 * format's Java kernel for many rows) are the fallback.
 *
 * <p>Not thread-safe (Jlama's kernels keep scratch state): only the engine's model thread calls it.
 */
public final class QwenJlamaModel extends Qwen2Model {

    /**
     * One decoder layer's weights; norms and biases widened to float arrays. The q/k/v biases are null where the
     * {@link Architecture} has none, the per-head q and k norms ({@code headDim} values each) where it has none.
     */
    public record Layer(float[] attentionNorm, AbstractTensor q, AbstractTensor k, AbstractTensor v, float[] qBias, float[] kBias,
            float[] vBias, float[] qNorm, float[] kNorm, AbstractTensor o, float[] mlpNorm, AbstractTensor gate, AbstractTensor up,
            AbstractTensor down) {
    }

    private final Architecture architecture;

    private final double ropeTheta;
    /** Jlama's rule (AbstractModel): its 8-bit × Q4 kernels need every row length in whole vectors of blocks. */
    private final boolean int8Activations;
    /** The last chunk's 8-bit-rounded activations (kept: a chunk's are megabytes). */
    private float[] rounded = new float[0];
    /** The input whose rounded form {@link #rounded} holds. */
    private Input roundedInput;
    /** Whether {@link #rounded} holds the residual's rounding too ({@link MatrixFormat#residualActivations}). */
    private boolean roundedWithResidual;
    /** Several sequences' logits from one LM-head product (kept: 600 KB per sequence). */
    private float[] logitRows = new float[0];
    private final Layer[] layers;
    private final float[] finalNorm;
    private final EmbeddingRows embeddings;
    /** Null when the Java kernels run. */
    private final NativeKernels kernels;
    /** The matrices the C kernels multiply; null when the Java kernels run. */
    private final PackedMatrices packed;

    /**
     * @param layout where the C kernels' layout of the quantized weights is kept between starts (null: repacked at every
     *               start, as for weights not written as a quantized copy)
     */
    QwenJlamaModel(Architecture architecture, Config config, WeightLoader weights, Tokenizer tokenizer, DType workingDType, DType workingQType, double ropeTheta,
            NativeKernels kernels, EmbeddingRows embeddings, KernelLayoutFile layout) {
        super(InferenceType.FULL_GENERATION, config, weights, tokenizer, workingDType, workingQType, Optional.empty());
        this.architecture = architecture;
        this.ropeTheta = ropeTheta;
        this.embeddings = embeddings;
        this.layers = new Layer[c.numberOfLayers];
        for (int l = 0; l < layers.length; l++) {
            String base = "model.layers." + l + ".";
            boolean biases = architecture.qkvBiases();
            boolean qkNorm = architecture.qkNorm();
            layers[l] = new Layer(vector(base + "input_layernorm.weight"),
                    weights.load(base + "self_attn.q_proj.weight"), weights.load(base + "self_attn.k_proj.weight"),
                    weights.load(base + "self_attn.v_proj.weight"), biases ? vector(base + "self_attn.q_proj.bias") : null,
                    biases ? vector(base + "self_attn.k_proj.bias") : null, biases ? vector(base + "self_attn.v_proj.bias") : null,
                    qkNorm ? vector(base + "self_attn.q_norm.weight") : null, qkNorm ? vector(base + "self_attn.k_norm.weight") : null,
                    weights.load(base + "self_attn.o_proj.weight"), vector(base + "post_attention_layernorm.weight"),
                    weights.load(base + "mlp.gate_proj.weight"), weights.load(base + "mlp.up_proj.weight"),
                    weights.load(base + "mlp.down_proj.weight"));
        }
        this.finalNorm = vector("model.norm.weight");
        int blocksPerVector = FloatVector.SPECIES_PREFERRED.length();
        boolean eightBit = workingQType == DType.I8;
        boolean wholeVectors = (config.embeddingLength / MatrixFormat.ACTIVATION_BLOCK) % blocksPerVector == 0
                && (config.hiddenLength / MatrixFormat.ACTIVATION_BLOCK) % blocksPerVector == 0;
        // The C kernels take rows of any whole number of 32-value blocks (Qwen2.5's hidden 896 is 28); Jlama's need
        // whole vectors of blocks, so with them alone a shape like that keeps its activations in float.
        PackedMatrices packing = eightBit && kernels != null ? new PackedMatrices(kernels, matrices(), layout) : null;
        this.packed = packing;
        this.kernels = packing != null ? kernels : null;
        this.int8Activations = eightBit && (wholeVectors || packing != null && packing.any());
    }

    /** The weight matrices by name; those of a format the C kernels multiply are packed for them. */
    private Map<String, AbstractTensor> matrices() {
        Map<String, AbstractTensor> matrices = new LinkedHashMap<>();
        for (int l = 0; l < layers.length; l++) {
            Layer w = layers[l];
            String base = "model.layers." + l + ".";
            String[] names = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
                    "mlp.up_proj", "mlp.down_proj"};
            AbstractTensor[] tensors = {w.q(), w.k(), w.v(), w.o(), w.gate(), w.up(), w.down()};
            for (int i = 0; i < names.length; i++) {
                matrices.put(base + names[i] + ".weight", tensors[i]);
            }
        }
        matrices.put("lm_head.weight", sampleOutput.getOutputLogitsWeights());
        return matrices;
    }

    /** The C kernels when this model runs on them, else null. */
    NativeKernels kernels() {
        return nativeKernels() ? kernels : null;
    }

    /** True when the products run on {@link NativeKernels}. */
    boolean nativeKernels() {
        return packed != null && packed.any();
    }

    /** The kernels that run this model's products: a C variant, or {@link Kernels#JAVA}. */
    Kernels kernelsInUse() {
        return nativeKernels() ? kernels.variant() : Kernels.JAVA;
    }

    /**
     * None: our {@link Transformer} runs the layers from {@link #layer}. Jlama's Qwen2 blocks would expect q/k/v
     * biases that a Qwen3 checkpoint does not have.
     */
    @Override
    protected TransformerBlock[] loadTransformerBlockWeights() {
        return new TransformerBlock[0];
    }

    @Override
    protected EmbedInput loadInputWeights() {
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

    /** One layer's weights (Jlama's own blocks map the same memory; nothing is copied). */
    public Layer layer(int i) {
        return layers[i];
    }

    float[] finalNorm() {
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

    /** Embedding rows of {@code tokens[from…from+n-1]} into {@code out} (n × hidden) from row {@code row0} on. */
    void embed(int[] tokens, int from, int n, float[] out, int row0) {
        for (int i = 0; i < n; i++) {
            embeddings.read(tokens[from + i], out, (row0 + i) * c.embeddingLength);
        }
    }

    /**
     * One activation matrix ({@code n} rows) about to be multiplied with one or more weight matrices: its 8-bit form
     * is computed once for all of them. Valid until the next input is used.
     */
    final class Input {
        private final float[] x;
        private final int n;

        private Input(float[] x, int n) {
            this.x = x;
            this.n = n;
        }
    }

    Input input(float[] x, int n) {
        return new Input(x, n);
    }

    /** {@code y[n × rows] = x[n × in] · Wᵀ}. */
    public void matmul(float[] x, int n, AbstractTensor w, float[] y) {
        matmul(input(x, n), w, y);
    }

    /**
     * {@code y[n × rows] = x[n × in] · Wᵀ} on both cores. Against Q4 and Q8 weights the activations are rounded to 8
     * bits per 32-value block first (as llama.cpp's Q4_0 × Q8_0; for Q8 their residual too,
     * {@link MatrixFormat#residualActivations}) where the shape allows: on
     * {@link NativeKernels} when this machine runs them, else on the format's Java kernel where it takes the product
     * ({@link MatrixFormat#javaGemmTakes}: {@code Q4Gemm} for many rows, {@code Q8Gemm} for any number) and Jlama's
     * integer kernel for the rest, fed the same rounded activations. Either way a position's numbers do not depend
     * on how many positions were computed with it.
     */
    void matmul(Input a, AbstractTensor w, float[] y) {
        if (packed != null && packed.has(w)) {
            packed.multiply(a, a.x, a.n, w, y);
            return;
        }
        int n = a.n;
        float[] x = a.x;
        int in = (int) w.shape().last();
        MatrixFormat format = MatrixFormat.of(w);
        if (format.javaGemmTakes(n, in)) {
            boolean round = int8Activations && format.eightBitActivations();
            boolean residual = format.residualActivations();
            if (round && (roundedInput != a || roundedWithResidual != residual)) {
                if (rounded.length < n * in) {
                    rounded = new float[n * in];
                }
                if (residual) {
                    roundTo8BitsWithResidual(x, n * in, rounded);
                } else {
                    roundTo8Bits(x, n * in, rounded);
                }
                roundedInput = a;
                roundedWithResidual = residual;
            }
            format.javaGemm(round ? rounded : x, n, w, y);
        } else if (format.eightBitActivations() && int8Activations) {
            try (AbstractTensor xt = tensorOf(x, n, in); AbstractTensor xq = TensorOperationsProvider.get().quantize(xt, DType.I8, 0, in)) {
                roundedAsOurs(x, n * in, xq);
                kernel(xq, w, n, y);
            }
        } else {
            try (AbstractTensor xt = tensorOf(x, n, in)) {
                kernel(xt, w, n, y);
            }
        }
    }

    private void kernel(AbstractTensor x, AbstractTensor w, int n, float[] y) {
        int in = (int) w.shape().last();
        int out = w.shape().first();
        try (AbstractTensor yt = makeDenseTensor(n, out)) {
            VectorMath.pchunk(0, out, (start, size) -> TensorOperationsProvider.get().dotProductChunk(yt, x, w, 0, in, start, size));
            MemorySegment.copy(yt.getMemorySegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, y, 0, n * out);
        }
    }

    /**
     * The activations as the 8-bit rounding leaves them (per block of 32: scale = max|x| / 127, value = x · 127/max
     * rounded to the nearest integer, ties to even, as llama.cpp's Q8_0 and our C kernels), back as floats, in plain
     * arrays: Jlama's own rounding would park a tensor of every prompt length in its tensor cache.
     */
    public static void roundTo8Bits(float[] x, int length, float[] out) {
        int block = MatrixFormat.ACTIVATION_BLOCK;
        for (int b = 0; b < length; b += block) {
            float max = blockMax(x, b);
            float scale = max / 127f;
            float inverse = max != 0f ? 127f / max : 0f;
            for (int j = b; j < b + block; j++) {
                out[j] = rounded(x[j] * inverse) * scale;
            }
        }
    }

    /**
     * What the products of a format with {@link MatrixFormat#residualActivations} multiply: each value's 8-bit form
     * ({@link #roundTo8Bits}) plus that of its residual (the value minus its 8-bit form, rounded per block the same
     * way), in float.
     */
    public static void roundTo8BitsWithResidual(float[] x, int length, float[] out) {
        int block = MatrixFormat.ACTIVATION_BLOCK;
        roundTo8Bits(x, length, out);
        float[] residual = new float[block];
        float[] residualRounded = new float[block];
        for (int b = 0; b < length; b += block) {
            for (int j = 0; j < block; j++) {
                residual[j] = x[b + j] - out[b + j];
            }
            roundTo8Bits(residual, block, residualRounded);
            for (int j = 0; j < block; j++) {
                out[b + j] += residualRounded[j];
            }
        }
    }

    /**
     * Jlama's 8-bit form of {@code x} ({@code length} values) with each value rounded as {@link #roundTo8Bits} does:
     * Jlama's {@code quantizeQ8} computes the same scales but rounds with {@code (int) (v + 0.5)}, which moves every
     * negative value of half a step or more up by half a step to a step and a half.
     */
    private static void roundedAsOurs(float[] x, int length, AbstractTensor q) {
        if (q.dType() != DType.I8) {
            throw new IllegalStateException("Jlama's 8-bit activations came as " + q.dType());
        }
        int block = MatrixFormat.ACTIVATION_BLOCK;
        // One byte per value in row-major order (Jlama's Q8ByteBufferTensor; its block scales are ours, max|x| / 127).
        MemorySegment values = q.getMemorySegment();
        for (int b = 0; b < length; b += block) {
            float max = blockMax(x, b);
            float inverse = max != 0f ? 127f / max : 0f;
            for (int j = b; j < b + block; j++) {
                values.set(ValueLayout.JAVA_BYTE, j, rounded(x[j] * inverse));
            }
        }
    }

    private static float blockMax(float[] x, int from) {
        float max = 0f;
        for (int j = from; j < from + MatrixFormat.ACTIVATION_BLOCK; j++) {
            max = Math.max(max, Math.abs(x[j]));
        }
        return max;
    }

    /** {@code scaled} (at most 127 in magnitude) to the nearest integer, ties to even. */
    private static byte rounded(float scaled) {
        return (byte) (int) Math.rint(scaled);
    }

    /** Logits of the given vocabulary rows only: a few dot products instead of the whole LM head. */
    public float[] logitsOf(float[] normed, int[] ids) {
        float[] out = new float[ids.length];
        AbstractTensor head = sampleOutput.getOutputLogitsWeights();
        MatrixFormat format = MatrixFormat.of(head);
        if (!format.jlamaKernels()) {
            format.javaRows(normed, head, ids, out);
            return out;
        }
        try (AbstractTensor x = tensorOf(normed); AbstractTensor logits = makeDenseTensor(1, c.vocabularySize)) {
            for (int i = 0; i < ids.length; i++) {
                TensorOperationsProvider.get().dotProductChunk(logits, x, head, 0, c.embeddingLength, ids[i], 1);
                out[i] = logits.get(0, ids[i]);
            }
        }
        return out;
    }

    /** All logits of each hidden state into the matching {@code out} row, in one product with the LM head. */
    public void allLogits(float[][] normed, float[][] out) {
        int d = c.embeddingLength;
        int n = normed.length;
        float[] x = new float[n * d];
        for (int i = 0; i < n; i++) {
            System.arraycopy(normed[i], 0, x, i * d, d);
        }
        if (logitRows.length < n * c.vocabularySize) {
            logitRows = new float[n * c.vocabularySize];
        }
        AbstractTensor head = sampleOutput.getOutputLogitsWeights();
        MatrixFormat format = MatrixFormat.of(head);
        if (packed != null && packed.has(head)) {
            Input a = input(x, n);
            packed.multiply(a, a.x, a.n, head, logitRows);
        } else if (!format.jlamaKernels()) {
            matmul(input(x, n), head, logitRows);
        } else if (format.javaGemmTakes(n, d)) {
            // Float activations, as Jlama's kernel takes them for one row (its batched kernel is wrong for 6+ rows).
            format.javaGemm(x, n, head, logitRows);
        } else {
            try (AbstractTensor xt = tensorOf(x, n, d)) {
                kernel(xt, head, n, logitRows);
            }
        }
        for (int i = 0; i < n; i++) {
            System.arraycopy(logitRows, i * c.vocabularySize, out[i], 0, c.vocabularySize);
        }
    }

    /** All logits into {@code out} (length = vocabulary size). */
    public void allLogits(float[] normed, float[] out) {
        allLogits(new float[][] {normed}, new float[][] {out});
    }

    private AbstractTensor tensorOf(float[] row) {
        return tensorOf(row, 1, row.length);
    }

    private AbstractTensor tensorOf(float[] x, int n, int in) {
        AbstractTensor t = makeDenseTensor(n, in);
        MemorySegment.copy(x, 0, t.getMemorySegment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, n * in);
        return t;
    }

    @Override
    public void close() {
        super.close();
        try {
            embeddings.close();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        if (packed != null) {
            packed.close();
        }
    }

    public Config config() {
        return c;
    }

    public Architecture architecture() {
        return architecture;
    }

    double ropeTheta() {
        return ropeTheta;
    }

    float normEps() {
        return c.layerNormEps;
    }

    public int vocabularySize() {
        return c.vocabularySize;
    }

    public int contextLength() {
        return c.contextLength;
    }
}
