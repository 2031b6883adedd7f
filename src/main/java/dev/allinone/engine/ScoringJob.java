package dev.allinone.engine;

import dev.allinone.engine.model.QwenJlamaModel;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Scores each label as the continuation of a prompt. Labels of one token need only their own rows of the LM head
 * (the softmax normaliser cancels out between labels); longer labels are scored token by token from the prompt's
 * KV, each seeing exactly the prompt and its own tokens.
 */
final class ScoringJob extends EngineJob {

    final CompletableFuture<LabelScores> result = new CompletableFuture<>();
    private final int[] prompt;
    private final List<String> labels;
    private final int[][] labelIds;

    ScoringJob(JobContext ctx, long timeoutMillis, long order, int[] prompt, List<String> labels, int[][] labelIds) {
        super(ctx, timeoutMillis, order);
        this.prompt = prompt;
        this.labels = List.copyOf(labels);
        this.labelIds = labelIds;
    }

    static int extraTokens(int[][] labelIds) {
        return Arrays.stream(labelIds).mapToInt(ids -> ids.length).max().orElse(1) - 1;
    }

    @Override
    int[] tokens() {
        return prompt;
    }

    @Override
    int tokenCount() {
        return prompt.length;
    }

    @Override
    int extraAtStart() {
        return extraTokens(labelIds);
    }

    @Override
    boolean onOutput(float[] last, float[] logits) {
        double[] logProbs = new double[labelIds.length];
        if (Arrays.stream(labelIds).allMatch(ids -> ids.length == 1)) {
            int[] firsts = Arrays.stream(labelIds).mapToInt(ids -> ids[0]).toArray();
            float[] own = ctx.jlama().logitsOf(last, firsts);
            requireFinite(own);
            for (int i = 0; i < own.length; i++) {
                logProbs[i] = own[i];
            }
        } else {
            scoreMultiTokenLabels(last, logProbs);
        }
        kv.truncate(prompt.length);
        keepKv = true;
        ctx.counters().scoringsDone.incrementAndGet();
        end();
        result.complete(new LabelScores(labels, softmax(logProbs), prompt.length));
        return false;
    }

    private void scoreMultiTokenLabels(float[] last, double[] logProbs) {
        QwenJlamaModel jlama = ctx.jlama();
        float[] logits = new float[jlama.vocabularySize()];
        jlama.allLogits(last, logits);
        requireFinite(logits);
        int vocabulary = ctx.model().tokenizer().size();
        double[] firstLogSoftmax = logSoftmax(logits, vocabulary);
        for (int i = 0; i < labelIds.length; i++) {
            int[] ids = labelIds[i];
            logProbs[i] = firstLogSoftmax[ids[0]];
            kv.truncate(prompt.length);
            for (int j = 1; j < ids.length; j++) {
                jlama.allLogits(ctx.transformer().forward(new int[] {ids[j - 1]}, 0, kv), logits);
                requireFinite(logits);
                logProbs[i] += logSoftmax(logits, vocabulary)[ids[j]];
            }
        }
    }

    @Override
    void fail(Throwable error) {
        ctx.counters().scoringsDone.incrementAndGet();
        end();
        result.completeExceptionally(error);
    }

    static double[] softmax(double[] logits) {
        double max = Arrays.stream(logits).max().orElse(0);
        double[] out = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            out[i] = Math.exp(logits[i] - max);
            sum += out[i];
        }
        for (int i = 0; i < out.length; i++) {
            out[i] /= sum;
        }
        return out;
    }

    /** Over the tokenizer's ids only: the LM head's padding rows past them are no token (as in generation). */
    static double[] logSoftmax(float[] logits, int vocabulary) {
        double log = logNormalizer(logits, vocabulary);
        double[] out = new double[vocabulary];
        for (int i = 0; i < vocabulary; i++) {
            out[i] = logits[i] - log;
        }
        return out;
    }
}
