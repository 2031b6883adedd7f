package dev.allinone.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.BFloat16BufferTensor;
import com.github.tjake.jlama.tensor.Float16BufferTensor;
import com.github.tjake.jlama.tensor.FloatBufferTensor;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link DenseGemm} against a double-precision reference computed from the stored values ({@code w.get(r, j)}), for
 * each stored type, at the shapes of the models' projections and every row count to 20 (Jlama's batched kernel,
 * which it replaces, got the 1024 × 512 BF16 case wrong for 6-9, 11-14 and 16-19 rows). Not asserted bit for bit
 * across batch sizes: the Vector API's lane reduction may add in another order once compiled.
 */
class DenseGemmTest {

    static Stream<Function<FloatBufferTensor, AbstractTensor>> types() {
        return Stream.of(BFloat16BufferTensor::new, Float16BufferTensor::new, f -> f);
    }

    @ParameterizedTest
    @MethodSource("types")
    void productsEqualADoubleReferenceForEveryRowCount(Function<FloatBufferTensor, AbstractTensor> type) {
        SplittableRandom random = new SplittableRandom(11);
        for (int[] shape : new int[][] {{1024, 512}, {128, 512}, {512, 1024}, {200, 96}}) {
            int out = shape[0];
            int in = shape[1];
            FloatBufferTensor full = new FloatBufferTensor(out, in);
            for (int r = 0; r < out; r++) {
                for (int j = 0; j < in; j++) {
                    full.set((float) random.nextDouble(-1, 1), r, j);
                }
            }
            AbstractTensor w = type.apply(full);
            for (int n = 2; n <= 20; n++) {
                float[] x = new float[n * in];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) random.nextDouble(-2, 2);
                }
                float[] y = new float[n * out];
                DenseGemm.multiply(x, n, w, y);
                double worst = 0;
                for (int i = 0; i < n; i++) {
                    for (int r = 0; r < out; r++) {
                        double sum = 0;
                        double magnitude = 0;
                        for (int j = 0; j < in; j++) {
                            sum += (double) x[i * in + j] * w.get(r, j);
                            magnitude += Math.abs((double) x[i * in + j] * w.get(r, j));
                        }
                        // Float accumulation: a few ulps of the sum of magnitudes.
                        worst = Math.max(worst, Math.abs(sum - y[i * out + r]) / Math.max(magnitude, 1e-30));
                    }
                }
                assertTrue(worst < 1e-5, w.getClass().getSimpleName() + " " + out + "x" + in + " n=" + n + ": relative error " + worst);
            }
        }
    }
}
