package dev.allinone.engine;

import dev.allinone.engine.tokenizer.StreamingDecoder;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.jboss.logging.Logger;

/**
 * Writes a reply token by token. Its token sequence is the prompt followed by the tokens written so far; the last
 * of them enters the KV in the next step, whose logits give the token after it. Text goes to the listener on the
 * model thread, in pieces that never split a UTF-8 character.
 */
final class GenerationJob extends EngineJob implements Generation {

    private static final Logger LOG = Logger.getLogger(GenerationJob.class);

    private final int promptLength;
    private final SamplingParams params;
    private final GenerationListener listener;
    private final Sampler sampler;
    private final StreamingDecoder decoder;
    private final StringBuilder text = new StringBuilder();
    private final boolean[] seen;
    private float[] logits;
    private int[] tokens;
    private int count;
    private int generated;
    private long firstTokenMillis = -1;
    /** Set by {@link #prepare}: the sampled token, or what went wrong sampling it. */
    private int sampled = -1;
    private RuntimeException samplingError;
    private boolean finished;
    private volatile boolean cancelled;

    GenerationJob(JobContext ctx, long timeoutMillis, long order, int[] prompt, SamplingParams params, GenerationListener listener) {
        super(ctx, timeoutMillis, order);
        this.promptLength = prompt.length;
        this.params = params;
        this.listener = listener;
        this.sampler = new Sampler(params, new SplittableRandom());
        this.decoder = new StreamingDecoder(ctx.model().tokenizer());
        this.seen = new boolean[ctx.jlama().vocabularySize()];
        this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(params.maxNewTokens(), 64));
        this.count = prompt.length;
        for (int id : prompt) {
            seen[id] = true;
        }
    }

    @Override
    int[] tokens() {
        return tokens;
    }

    @Override
    int tokenCount() {
        return count;
    }

    @Override
    float[] logitsBuffer() {
        if (logits == null) {
            logits = new float[ctx.jlama().vocabularySize()];
        }
        return logits;
    }

    @Override
    void prepare(float[] logits) {
        try {
            // The LM head is padded past the tokenizer's ids (151,936 rows for 151,646 ids): never pick padding.
            Arrays.fill(logits, ctx.model().tokenizer().size(), logits.length, Float.NEGATIVE_INFINITY);
            requireFinite(logits);
            sampled = sampler.next(logits, seen);
        } catch (RuntimeException e) {
            samplingError = e;
        }
    }

    @Override
    boolean onOutput(float[] hidden, float[] logits) {
        if (sampled < 0 && samplingError == null) {
            prepare(logits);
        }
        if (samplingError != null) {
            throw samplingError;
        }
        int token = sampled;
        sampled = -1;
        if (ctx.model().stopTokens().contains(token)) {
            return finish(GenerationResult.FinishReason.STOP);
        }
        seen[token] = true;
        if (count == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[count++] = token;
        generated++;
        ctx.counters().tokensGenerated.incrementAndGet();
        if (firstTokenMillis < 0) {
            firstTokenMillis = millisSinceSubmit();
        }
        emit(decoder.accept(token));
        if (generated >= params.maxNewTokens()) {
            return finish(GenerationResult.FinishReason.LENGTH);
        }
        if (count >= ctx.jlama().contextLength()) {
            return finish(GenerationResult.FinishReason.CONTEXT_FULL);
        }
        return true;
    }

    private void emit(String piece) {
        if (piece.isEmpty()) {
            return;
        }
        text.append(piece);
        try {
            listener.onText(piece);
        } catch (RuntimeException e) {
            LOG.debugf(e, "Generation listener failed; cancelling the generation");
            cancelled = true;
        }
    }

    /** Ends the reply normally; the KV (prompt + reply) is left to the prefix cache unless it was cancelled. */
    boolean finish(GenerationResult.FinishReason reason) {
        emit(decoder.flush());
        finished = true;
        keepKv = reason != GenerationResult.FinishReason.CANCELLED;
        ctx.counters().generationsDone.incrementAndGet();
        end();
        try {
            listener.onComplete(new GenerationResult(text.toString(), promptLength, generated, reason,
                    Math.max(firstTokenMillis, 0), millisSinceSubmit()));
        } catch (RuntimeException e) {
            LOG.debugf(e, "Generation listener failed on completion");
        }
        return false;
    }

    @Override
    void finishCancelled() {
        finish(GenerationResult.FinishReason.CANCELLED);
    }

    @Override
    void fail(Throwable error) {
        if (finished) {
            return;
        }
        finished = true;
        ctx.counters().generationsDone.incrementAndGet();
        end();
        try {
            listener.onError(error);
        } catch (RuntimeException e) {
            LOG.debugf(e, "Generation listener failed on error");
        }
    }

    @Override
    public void cancel() {
        cancelled = true;
    }

    @Override
    public boolean isCancelled() {
        return cancelled;
    }
}
