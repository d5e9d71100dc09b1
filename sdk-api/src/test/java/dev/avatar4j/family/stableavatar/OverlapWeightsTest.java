package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Golden values: docs/REFERENCE.md Appendix A block D. */
class OverlapWeightsTest {

    private static void assertWeights(float[] actual, double... expected) {
        assertThat(actual).hasSize(expected.length);
        for (int j = 0; j < expected.length; j++) {
            assertThat((double) actual[j]).as("w[%d]", j).isCloseTo(expected[j], within(1e-6));
        }
    }

    @Test
    void overlapFive() {
        assertWeights(OverlapWeights.uniform(5), 0, .25, .5, .75, 1);
        assertWeights(OverlapWeights.log(5), 0, 0.357374, 0.620115, 0.827989, 1);
    }

    @Test
    void overlapSeven() {
        assertWeights(OverlapWeights.uniform(7), 0, .166667, .333333, .5, .666667, .833333, 1);
        assertWeights(OverlapWeights.log(7), 0, 0.251832, 0.452832, 0.620115, 0.763383, 0.888674, 1);
    }

    @Test
    void overlapTen() {
        double[] uniform = new double[10];
        for (int j = 0; j < 10; j++) {
            uniform[j] = j / 9.0;
        }
        assertWeights(OverlapWeights.uniform(10), uniform);
        assertWeights(OverlapWeights.log(10), 0, 0.174726, 0.323416, 0.452832, 0.567403, 0.670186, 0.763383,
                0.848629, 0.927176, 1);
    }

    @Property(tries = 60)
    void rampsFromExactlyZeroToExactlyOne(@ForAll @IntRange(min = 2, max = 40) int overlap) {
        for (float[] w : new float[][] {OverlapWeights.uniform(overlap), OverlapWeights.log(overlap)}) {
            assertThat(w).hasSize(overlap);
            assertThat(w[0]).isZero();
            assertThat(w[overlap - 1]).isEqualTo(1f);
            for (int j = 1; j < overlap; j++) {
                assertThat(w[j]).isGreaterThan(w[j - 1]);
            }
        }
        // log puts more weight on the new window than uniform everywhere inside the overlap
        float[] u = OverlapWeights.uniform(overlap);
        float[] l = OverlapWeights.log(overlap);
        for (int j = 1; j < overlap - 1; j++) {
            assertThat(l[j]).isGreaterThan(u[j]);
        }
    }

    @Test
    void byName() {
        assertThat(OverlapWeights.of("uniform", 5)).containsExactly(OverlapWeights.uniform(5));
        assertThat(OverlapWeights.of("LOG", 5)).containsExactly(OverlapWeights.log(5));
        assertThatThrownBy(() -> OverlapWeights.of("linear", 5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("uniform");
    }

    @Test
    void overlapBelowTwoIsRejected() {
        assertThatThrownBy(() -> OverlapWeights.uniform(1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(">= 2");
        assertThatThrownBy(() -> OverlapWeights.log(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> OverlapWeights.of("log", 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
