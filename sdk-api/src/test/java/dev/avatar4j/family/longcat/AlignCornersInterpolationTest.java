package dev.avatar4j.family.longcat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.testing.Golden;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Golden values: tools/longcat_golden.py, checked there against torch F.interpolate. */
class AlignCornersInterpolationTest {

    private static final Golden GOLDEN = Golden.load("/golden/longcat-golden.txt");

    private static float[] feat50() {
        float[] x = new float[50 * 3];
        for (int i = 0; i < 50; i++) {
            for (int d = 0; d < 3; d++) {
                x[i * 3 + d] = (float) (Math.sin(0.37 * i + 0.11 * d) + 0.01 * d);
            }
        }
        return x;
    }

    @ParameterizedTest
    @ValueSource(ints = {25, 24, 1, 7})
    void matchesTorchGolden(int out) {
        float[] y = AlignCornersInterpolation.resample(feat50(), 50, 3, out);
        float[] g = GOLDEN.floats("interp.n50.out" + out);
        assertThat(y).hasSameSizeAs(g);
        for (int i = 0; i < g.length; i++) {
            assertThat(y[i]).as("index %d", i).isCloseTo(g[i], within(1e-6f));
        }
    }

    @Test
    void fiftyHertzToTwentyFiveFps() {
        float[] x = new float[186 * 2];
        for (int i = 0; i < 186; i++) {
            for (int d = 0; d < 2; d++) {
                x[i * 2 + d] = (float) (Math.cos(0.21 * i) * (d + 1));
            }
        }
        float[] y = AlignCornersInterpolation.resample(x, 186, 2, 93);
        float[] g = GOLDEN.floats("interp.n186.out93");
        for (int i = 0; i < g.length; i++) {
            assertThat(y[i]).isCloseTo(g[i], within(1e-6f));
        }
    }

    @Property(tries = 60)
    void cornersAreCopiedExactly(@ForAll @IntRange(min = 2, max = 300) int in,
                                 @ForAll @IntRange(min = 2, max = 300) int out) {
        float[] x = new float[in];
        for (int i = 0; i < in; i++) {
            x[i] = (float) Math.sin(i * 0.7) * 3;
        }
        float[] y = AlignCornersInterpolation.resample(x, in, 1, out);
        assertThat(y[0]).isEqualTo(x[0]);
        // scale·(out−1) is rounded in float32 (as PyTorch does), so λ at the last row can miss 0 by
        // about in·ulp(1): the error is bounded by that times the step to the neighbouring input
        float neighbourStep = Math.abs(x[in - 1] - x[in - 2]);
        assertThat(y[out - 1]).isCloseTo(x[in - 1], within(4e-7f * in * neighbourStep + 1e-6f));
    }

    @Test
    void rejectsBadShapes() {
        assertThatThrownBy(() -> AlignCornersInterpolation.resample(new float[5], 2, 3, 4))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AlignCornersInterpolation.resample(new float[0], 0, 3, 4))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
