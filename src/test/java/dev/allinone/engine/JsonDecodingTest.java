package dev.allinone.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.allinone.engine.sampling.SamplingParams;
import dev.allinone.engine.sampling.json.BoundedSchemas;
import dev.allinone.engine.sampling.json.JsonConstraint;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Constrained decoding on random weights (which write garbage when free), sampled at temperature 1 from the top 40: for each of four
 * bounded schemas, 100 of 100 replies parse and validate with an independent validator, decoded in batches that mix
 * constrained and free replies.
 */
class JsonDecodingTest {

    private static final int PER_SCHEMA = 100;
    private static InferenceEngine engine;

    @BeforeAll
    static void load() {
        engine = InferenceEngineTest.engine(TestCheckpoints.tinyRandom(), 256L << 20, 8);
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    @Test
    void everyConstrainedReplyValidatesAgainstItsSchema() throws Exception {
        SamplingParams sampled = new SamplingParams(1.0f, 40, 1.0f, 1.0f, 400);
        int[] prompt = InferenceEngineTest.chatPrompt(engine, "只输出 JSON。", "客户张三来电：手机屏幕碎了，电话 13800138000。");
        for (String name : BoundedSchemas.names()) {
            String schema = BoundedSchemas.ALL.get(name);
            JsonConstraint constraint = JsonConstraint.forSchema(BoundedSchemas.parse(schema));
            List<Reply> replies = new ArrayList<>();
            List<Reply> free = new ArrayList<>();
            for (int i = 0; i < PER_SCHEMA; i++) {
                GenerationOptions options = new GenerationOptions(OptionalLong.of(1000L * name.hashCode() + i), List.of(), false, 0)
                        .withJson(constraint);
                replies.add(start(prompt, sampled, options));
                if (i % 10 == 0) { // free replies in the same batches
                    free.add(start(prompt, sampled.withMaxNewTokens(24), new GenerationOptions(OptionalLong.of(i), List.of(), false, 0)));
                }
                if (replies.size() % 12 == 0) {
                    awaitAll(replies); // keep within the engine's queue limit
                }
            }
            awaitAll(replies);
            int valid = 0;
            for (Reply r : replies) {
                GenerationResult result = r.result().get();
                assertEquals(GenerationResult.FinishReason.STOP, result.finishReason(), name + ": ended by the end token: " + r.text);
                assertEquals(r.text.toString(), result.text());
                assertEquals("[]", BoundedSchemas.problems(schema, result.text()).toString(), name + ": " + result.text());
                valid++;
            }
            assertEquals(PER_SCHEMA, valid);
            for (Reply r : free) {
                assertTrue(r.result().get(60, TimeUnit.SECONDS).generatedTokens() > 0);
            }
        }
    }

    private static Reply start(int[] prompt, SamplingParams params, GenerationOptions options) {
        Reply r = new Reply();
        engine.generate(prompt, params, options, r);
        return r;
    }

    private static void awaitAll(List<Reply> replies) throws Exception {
        for (Reply r : replies) {
            r.result().get(120, TimeUnit.SECONDS);
        }
    }

    /** The finished reply, and the text as it streamed (to compare with the result's). */
    private static final class Reply extends GenerationFuture {
        final StringBuilder text = new StringBuilder();

        @Override
        public void onText(String piece) {
            text.append(piece);
        }
    }
}
