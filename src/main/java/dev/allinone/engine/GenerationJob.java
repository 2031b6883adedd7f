package dev.allinone.engine;

import dev.allinone.engine.sampling.Sampler;
import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.sampling.StopStrings;
import dev.allinone.engine.sampling.TokenLogprobs;
import dev.allinone.engine.sampling.json.JsonConstraint;
import dev.allinone.engine.sampling.json.Vocabulary;
import dev.allinone.engine.tokenizer.StreamingDecoder;
import dev.allinone.engine.tokenizer.ThinkTags;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
    private final GenerationOptions options;
    private final StopStrings stops;
    private final GenerationListener listener;
    private final Sampler sampler;
    /** Where the reply is in its JSON schema; null for free text. */
    private final JsonConstraint.Cursor json;
    private final StreamingDecoder decoder;
    private final StringBuilder text = new StringBuilder();
    /** The model's {@code <think>}/{@code </think>} ids; what it writes between them goes to {@link #reasoning}, never the reply. */
    private final ThinkTags thinkTags;
    private final StreamingDecoder reasoningDecoder;
    private final StringBuilder reasoning = new StringBuilder();
    private boolean thinking;
    /** Set at a think tag: the newlines the model writes after it are layout, not text (dropped until other text comes). */
    private boolean afterTag;
    /** Log-probabilities of written tokens whose text is not out yet, each with where its text begins. */
    private final ArrayDeque<PendingLogprobs> pendingLogprobs = new ArrayDeque<>();
    /** Characters the decoder has produced so far, before stop strings cut the reply. */
    private int decodedChars;
    private final boolean[] seen;
    /** How often the reply has written each token (for presence/frequency penalties); null when neither is set. */
    private final int[] written;
    private float[] logits;
    private int[] tokens;
    private int count;
    private int generated;
    private long firstTokenMillis = -1;
    /** Set by {@link #prepare}: the sampled token, or what went wrong sampling it. */
    private int sampled = -1;
    private TokenLogprobs sampledLogprobs;
    private RuntimeException samplingError;
    private boolean finished;
    private volatile boolean cancelled;

    GenerationJob(JobContext ctx, long timeoutMillis, long order, int[] prompt,
            SamplingParams params, GenerationOptions options, GenerationListener listener) {
        super(ctx, timeoutMillis, order);
        this.promptLength = prompt.length;
        this.params = params;
        this.options = options;
        this.stops = new StopStrings(options.stop());
        this.listener = listener;
        this.sampler = new Sampler(params, options.seed().isPresent()
                ? new SplittableRandom(options.seed().getAsLong()) : new SplittableRandom());
        this.decoder = new StreamingDecoder(ctx.model().tokenizer());
        this.reasoningDecoder = new StreamingDecoder(ctx.model().tokenizer());
        this.thinkTags = ThinkTags.of(ctx.model().tokenizer());
        this.thinking = thinkTags.openAtEnd(prompt);
        this.afterTag = thinking;
        this.json = options.json() == null ? null
                : options.json().start(Vocabulary.of(ctx.model().tokenizer(), ctx.model().stopTokens()));
        this.seen = new boolean[ctx.jlama().vocabularySize()];
        this.written = params.presencePenalty() != 0 || params.frequencyPenalty() != 0 ? new int[seen.length] : null;
        this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(params.maxNewTokens(), 64));
        // echo: the prompt goes in one position a step, each step scoring the prompt's next token
        this.count = options.echo() ? 1 : prompt.length;
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
            if (count < promptLength) { // echo: the prompt's next token is not sampled but scored
                sampled = tokens[count];
                sampledLogprobs = logprobs(logits, sampled);
                return;
            }
            float[] raw = options.logprobs() ? logits.clone() : null; // the sampler penalises in place
            if (json != null) {
                json.mask(logits);
            }
            sampled = sampler.next(logits, seen, written);
            sampledLogprobs = raw == null ? null : logprobs(raw, sampled);
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
        TokenLogprobs tokenLogprobs = sampledLogprobs;
        sampled = -1;
        sampledLogprobs = null;
        if (count < promptLength) {
            count++;
            tell(() -> listener.onPromptToken(tokenLogprobs));
            return true;
        }
        if (ctx.model().stopTokens().contains(token)) {
            return finish(GenerationResult.FinishReason.STOP);
        }
        if (json != null) {
            json.accept(token);
        }
        seen[token] = true;
        if (written != null) {
            written[token]++;
        }
        if (count == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[count++] = token;
        generated++;
        ctx.counters().tokensGenerated.incrementAndGet();
        if (firstTokenMillis < 0) {
            firstTokenMillis = millisSinceSubmit();
        }
        if (token == thinkTags.open() || token == thinkTags.close()) {
            if (thinking) {
                think(reasoningDecoder.flush());
            }
            thinking = token == thinkTags.open();
            afterTag = true;
        } else if (thinking) {
            think(reasoningDecoder.accept(token));
        } else {
            if (tokenLogprobs != null) {
                pendingLogprobs.add(new PendingLogprobs(decodedChars, tokenLogprobs));
            }
            emit(withoutLayout(decoder.accept(token)));
        }
        if (stops.matched()) {
            return finish(GenerationResult.FinishReason.STOP);
        }
        if (generated >= params.maxNewTokens()) {
            return finish(GenerationResult.FinishReason.LENGTH);
        }
        if (count >= ctx.jlama().contextLength()) {
            return finish(GenerationResult.FinishReason.CONTEXT_FULL);
        }
        return true;
    }

    /** The piece without the newlines that directly follow a think tag. */
    private String withoutLayout(String piece) {
        if (!afterTag) {
            return piece;
        }
        int start = 0;
        while (start < piece.length() && piece.charAt(start) == '\n') {
            start++;
        }
        afterTag = start == piece.length();
        return piece.substring(start);
    }

    private void think(String piece) {
        String kept = withoutLayout(piece);
        if (!kept.isEmpty()) {
            reasoning.append(kept);
            tell(() -> listener.onReasoning(kept));
        }
    }

    private void emit(String piece) {
        decodedChars += piece.length();
        send(stops.accept(piece));
    }

    /**
     * Text that is now part of the reply, after the log-probabilities of the tokens whose text begins in it: a
     * token whose text a stop string cut off entirely is never reported.
     */
    private void send(String safe) {
        if (safe.isEmpty()) {
            return;
        }
        text.append(safe);
        releaseLogprobs(text.length());
        tell(() -> listener.onText(safe));
    }

    private void releaseLogprobs(int replyChars) {
        while (!pendingLogprobs.isEmpty() && pendingLogprobs.peek().start() < replyChars) {
            TokenLogprobs token = pendingLogprobs.poll().logprobs();
            tell(() -> listener.onToken(token));
        }
    }

    /** @param start the token's text begins at this character of the decoded reply */
    private record PendingLogprobs(int start, TokenLogprobs logprobs) {
    }

    private void tell(Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            LOG.debugf(e, "Generation listener failed; cancelling the generation");
            cancelled = true;
        }
    }

    /** Log-softmax of the raw logits over the tokenizer's ids: the chosen token's and the likeliest ones'. */
    private TokenLogprobs logprobs(float[] raw, int chosen) {
        double logZ = logNormalizer(raw, ctx.model().tokenizer().size());
        List<TokenLogprobs.Choice> top = new ArrayList<>(options.topLogprobs());
        if (options.topLogprobs() > 0) {
            for (int id : Sampler.topCandidates(raw, options.topLogprobs())) {
                top.add(choice(id, raw[id] - logZ));
            }
        }
        return new TokenLogprobs(choice(chosen, raw[chosen] - logZ), top);
    }

    private TokenLogprobs.Choice choice(int id, double logprob) {
        return new TokenLogprobs.Choice(id, ctx.model().tokenizer().decodeBytes(new int[] {id}, 0, 1, false), logprob);
    }

    /** Ends the reply normally; the KV (prompt + reply) is left to the prefix cache unless it was cancelled. */
    boolean finish(GenerationResult.FinishReason reason) {
        think(reasoningDecoder.flush());
        emit(decoder.flush());
        if (!stops.matched()) {
            send(stops.flush());
            releaseLogprobs(Integer.MAX_VALUE); // tokens with no text of their own still belong to the reply
        }
        pendingLogprobs.clear();
        finished = true;
        keepKv = reason != GenerationResult.FinishReason.CANCELLED;
        ctx.counters().generationsDone.incrementAndGet();
        end();
        try {
            listener.onComplete(new GenerationResult(text.toString(), promptLength, generated, reason,
                    Math.max(firstTokenMillis, 0), millisSinceSubmit(), reasoning.toString()));
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
