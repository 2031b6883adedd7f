package dev.allinone.engine.kernels;

import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;
import org.junit.jupiter.api.Test;

import dev.allinone.engine.TestCheckpoints;
import dev.allinone.engine.model.LoadedModel;
import dev.allinone.engine.model.ModelLoader;
import dev.allinone.engine.model.ModelOptions;
import dev.allinone.engine.model.QwenJlamaModel;
import dev.allinone.engine.model.WeightFormat;
import dev.allinone.engine.sampling.SamplingOverrides;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Many rows at once (our Q4 kernel) compute what one row at a time (Jlama's kernel) computes, for every shape remainder. */
class Q4GemmTest {

    @Test
    void manyRowsAtOnceEqualJlamaRowByRow() {
        check(TestCheckpoints.tinyRandom(), "tiny-random-Q4-gemm"); // float activations
        check(TestCheckpoints.smallAligned(), "small-aligned-Q4"); // 8-bit activations, as the full-size model
    }

    private static void check(Path dir, String q4Dir) {
        // The Java kernels: the fallback where the C ones do not run.
        LoadedModel q4 = ModelLoader.load(new ModelOptions(dir, WeightFormat.Q4, 0, 1024, dir.resolveSibling(q4Dir), Kernels.JAVA),
                SamplingOverrides.none());
        try {
            QwenJlamaModel model = q4.jlama();
            for (AbstractTensor w : new AbstractTensor[] {model.layer(0).gate(), model.layer(1).down(), model.layer(0).q()}) {
                assertInstanceOf(Q4ByteBufferTensor.class, w);
                int in = w.shape().last();
                int out = w.shape().first();
                for (int n : new int[] {Q4Gemm.MIN_ROWS, Q4Gemm.MIN_ROWS + 13, 2 * Q4Gemm.MIN_ROWS + 3}) {
                    float[] x = new float[n * in];
                    SplittableRandom random = new SplittableRandom(n);
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) random.nextDouble(-2, 2);
                    }
                    float[] batched = new float[n * out];
                    model.matmul(x, n, w, batched);
                    float[] row = new float[out];
                    float[] xi = new float[in];
                    for (int i = 0; i < n; i++) {
                        System.arraycopy(x, i * in, xi, 0, in);
                        model.matmul(xi, 1, w, row); // one row: Jlama's kernel
                        for (int j = 0; j < out; j++) {
                            float expected = row[j];
                            float actual = batched[i * out + j];
                            assertTrue(Math.abs(expected - actual) <= 1e-5f * Math.max(1f, Math.abs(expected)),
                                    "n=" + n + " row " + i + " col " + j + ": " + expected + " vs " + actual);
                        }
                    }
                }
            }
        } finally {
            q4.jlama().close();
        }
    }
}
