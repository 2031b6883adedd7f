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
import com.github.tjake.jlama.tensor.KvBufferCache;
import com.github.tjake.jlama.tensor.operations.TensorOperationsProvider;

import java.util.Optional;

/**
 * Jlama's Qwen2 model with the few operations we need and Jlama does not expose: the last position's hidden
 * state after a prefill, logits for only chosen vocabulary rows, and full logits into a caller's array.
 *
 * <p>It also keeps the embedding table and the LM head in their stored format: stock Jlama widens the
 * 151,936 × 1,024 table to F32 (622 MB, read whole for every generated token). Here the table stays BF16 (rows
 * widened one at a time on lookup) and the head is that table, {@code lm_head.weight}, or its Q4 copy.
 *
 * <p>Not thread-safe (Jlama's layers keep scratch state): only the engine's model thread calls it.
 */
final class QwenJlamaModel extends Qwen2Model {

    QwenJlamaModel(Config config, WeightLoader weights, Tokenizer tokenizer, DType workingDType, DType workingQType,
            Optional<DType> modelQType) {
        super(InferenceType.FULL_GENERATION, config, weights, tokenizer, workingDType, workingQType, modelQType);
    }

    @Override
    protected EmbedInput loadInputWeights() {
        AbstractTensor table = weights.load("model.embed_tokens.weight");
        return (token, position) -> {
            AbstractTensor embedding = makeDenseTensor(1, c.embeddingLength);
            AbstractTensor row = table.slice(true, token);
            if (row.dType() != embedding.dType()) {
                try (AbstractTensor widened = TensorOperationsProvider.get().quantize(row, embedding.dType(), 0, c.embeddingLength)) {
                    embedding.copyFrom(widened, 0, 0, c.embeddingLength);
                }
            } else {
                embedding.copyFrom(row, 0, 0, c.embeddingLength);
            }
            return embedding;
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

    KvBufferCache.KvBuffer newKvBuffer() {
        return kvBufferCache.getEphemeralKvBuffer();
    }

    /** Runs tokens at positions {@code startPos…} into {@code kv}; returns the final-norm hidden state of the last one. */
    AbstractTensor prefill(int[] tokens, int startPos, KvBufferCache.KvBuffer kv) {
        try (AbstractTensor out = batchForward(tokens, startPos, kv)) {
            return sampleOutput.getOutputLayerNorm().forward(out.slice(out.shape().first() - 1));
        }
    }

    /** One token at {@code pos}; returns its final-norm hidden state. */
    AbstractTensor step(int token, int pos, KvBufferCache.KvBuffer kv) {
        try (AbstractTensor out = forward(token, pos, kv)) {
            return sampleOutput.getOutputLayerNorm().forward(out);
        }
    }

    /** Logits of the given vocabulary rows only: a few dot products instead of the whole LM head. */
    float[] logitsOf(AbstractTensor normed, int[] ids) {
        float[] out = new float[ids.length];
        try (AbstractTensor logits = makeDenseTensor(1, c.vocabularySize)) {
            for (int i = 0; i < ids.length; i++) {
                TensorOperationsProvider.get()
                        .dotProductChunk(logits, normed, sampleOutput.getOutputLogitsWeights(), 0, c.embeddingLength, ids[i], 1);
                out[i] = logits.get(0, ids[i]);
            }
        }
        return out;
    }

    /** All logits into {@code out} (length = vocabulary size). */
    void allLogits(AbstractTensor normed, float[] out) {
        try (AbstractTensor logits = makeDenseTensor(1, c.vocabularySize)) {
            VectorMath.pchunk(0, c.vocabularySize, (start, size) -> TensorOperationsProvider.get()
                    .dotProductChunk(logits, normed, sampleOutput.getOutputLogitsWeights(), 0, c.embeddingLength, start, size));
            for (int i = 0; i < out.length; i++) {
                out[i] = logits.get(0, i);
            }
        }
    }

    /** Copies the key/value entries of positions {@code 0…length-1} from one buffer into another. */
    void copyKv(KvBufferCache.KvBuffer from, KvBufferCache.KvBuffer to, int length) {
        for (int layer = 0; layer < c.dctx().numberOfLayers; layer++) {
            for (int pos = 0; pos < length; pos++) {
                copyEntry(from.getKeyTensorForPosition(layer, pos), to.getKeyTensorForPosition(layer, pos));
                copyEntry(from.getValTensorForPosition(layer, pos), to.getValTensorForPosition(layer, pos));
            }
        }
    }

    private void copyEntry(AbstractTensor src, AbstractTensor dst) {
        dst.copyFrom(src, src.getOffset(0, c.dctx().kvSegmentStart), dst.getOffset(0, c.dctx().kvSegmentStart), c.dctx().kvSegmentLength);
    }

    int vocabularySize() {
        return c.vocabularySize;
    }

    int contextLength() {
        return c.contextLength;
    }
}
