package dev.avatar4j.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.testing.Golden;
import dev.avatar4j.testing.TestSignals;
import org.junit.jupiter.api.Test;

/**
 * Golden values: docs/REFERENCE.md Appendix A block K and tools/longcat_golden.py (numpy rfft,
 * HF WhisperFeatureExtractor semantics).
 */
class WhisperLogMelTest {

    private static final Golden GOLDEN = Golden.load("/golden/longcat-golden.txt");
    private static final WhisperLogMel MEL128 = new WhisperLogMel(128);
    private static final int F = WhisperLogMel.CHUNK_FRAMES;

    @Test
    void filterBankMatchesBlockKAndGolden() {
        double[][] fb80 = WhisperLogMel.melFilterBank(80);
        assertThat(sum(fb80[0])).isCloseTo(0.02486259, within(1e-8));
        double[] row1 = {0, 0.00199082, 0.02287177, 0, 0, 0};
        for (int k = 0; k < 6; k++) {
            assertThat(fb80[1][k]).isCloseTo(row1[k], within(1e-8));
        }
        double[][] fb = WhisperLogMel.melFilterBank(128);
        assertThat(sum(fb[0])).isCloseTo(0.01237399, within(1e-8));
        assertThat(sum(fb[1])).isCloseTo(0.03039256, within(1e-8));
        assertThat(sum(fb[2])).isCloseTo(0.02474797, within(1e-8));
        double[] sums = GOLDEN.doubles("mel128.rowsums");
        for (int m = 0; m < sums.length; m++) {
            assertThat(sum(fb[m])).isCloseTo(sums[m], within(1e-15));
        }
        double[] r40 = GOLDEN.doubles("mel128.row40");
        double[] r127 = GOLDEN.doubles("mel128.row127");
        for (int k = 0; k < 201; k++) {
            assertThat(fb[40][k]).isCloseTo(r40[k], within(1e-15));
            assertThat(fb[127][k]).isCloseTo(r127[k], within(1e-15));
        }
    }

    private static double sum(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s;
    }

    @Test
    void sineMatchesBlockK() {
        float[] sine = new float[16000];
        for (int i = 0; i < sine.length; i++) {
            sine[i] = (float) (0.5 * Math.sin(2 * Math.PI * 440 * (i / 16000.0)));
        }
        float[] m = MEL128.chunk(sine, 0);
        assertThat(m).hasSize(128 * 3000);
        float max = Float.NEGATIVE_INFINITY;
        float min = Float.POSITIVE_INFINITY;
        for (float v : m) {
            max = Math.max(max, v);
            min = Math.min(min, v);
        }
        assertThat((double) max).isCloseTo(1.4853541, within(2e-6));
        assertThat((double) min).isCloseTo(-0.5146459, within(2e-6));
        assertThat((double) m[2000]).isEqualTo((double) min); // row 0, frame 2000: waveform padding
        int arg = 0;
        for (int r = 1; r < 128; r++) {
            if (m[r * F + 50] > m[arg * F + 50]) {
                arg = r;
            }
        }
        assertThat(arg).isEqualTo(18);
        double[] stats = GOLDEN.doubles("logmel.sine440.stats");
        assertThat((double) max).isCloseTo(stats[2], within(2e-6));
    }

    @Test
    void mixedSignalMatchesGoldenSpotValuesAndColumnSums() {
        float[] x = TestSignals.signal("mix", 16000, 2.5);
        float[] m = MEL128.chunk(x, 0);
        int[] rows = GOLDEN.ints("logmel.mix.rows");
        int[] cols = GOLDEN.ints("logmel.mix.cols");
        float[] values = GOLDEN.floats("logmel.mix.values");
        for (int r = 0; r < rows.length; r++) {
            for (int c = 0; c < cols.length; c++) {
                assertThat(m[rows[r] * F + cols[c]]).as("mel %d frame %d", rows[r], cols[c])
                        .isCloseTo(values[r * cols.length + c], within(2e-5f));
            }
        }
        float[] colsum = GOLDEN.floats("logmel.mix.colsum");
        for (int c = 0; c < colsum.length; c++) {
            double s = 0;
            for (int r = 0; r < 128; r++) {
                s += m[r * F + c];
            }
            assertThat(s).as("frame %d", c).isCloseTo(colsum[c], within(5e-4));
        }
        double[] stats = GOLDEN.doubles("logmel.mix.stats");
        double mean = 0;
        float max = Float.NEGATIVE_INFINITY;
        float min = Float.POSITIVE_INFINITY;
        for (float v : m) {
            mean += v;
            max = Math.max(max, v);
            min = Math.min(min, v);
        }
        assertThat((double) max).isCloseTo(stats[0], within(2e-6));
        assertThat((double) min).isCloseTo(stats[1], within(2e-6));
        assertThat(mean / m.length).isCloseTo(stats[2], within(1e-6));
    }

    @Test
    void longSignalIsChunkedAndEachChunkNormalisedByItsOwnMaximum() {
        float[] x = TestSignals.signal("mix", 16000, 31.2);
        assertThat(WhisperLogMel.chunkCount(x.length)).isEqualTo(2);
        assertThat(WhisperLogMel.chunkCount(0)).isZero();
        assertThat(WhisperLogMel.chunkCount(480_000)).isEqualTo(1);
        assertThat(WhisperLogMel.chunkCount(480_001)).isEqualTo(2);
        for (int c = 0; c < 2; c++) {
            float[] m = MEL128.chunk(x, c * WhisperLogMel.CHUNK_SAMPLES);
            double[] stats = GOLDEN.doubles("logmel.long.chunk" + c + ".stats");
            float max = Float.NEGATIVE_INFINITY;
            float min = Float.POSITIVE_INFINITY;
            for (float v : m) {
                max = Math.max(max, v);
                min = Math.min(min, v);
            }
            assertThat((double) max).isCloseTo(stats[0], within(2e-6));
            assertThat((double) min).isCloseTo(stats[1], within(2e-6));
            float[] col = GOLDEN.floats("logmel.long.chunk" + c + ".col");
            int frame = c == 0 ? 100 : 3;
            for (int r = 0; r < 128; r++) {
                assertThat(m[r * F + frame]).isCloseTo(col[r], within(2e-5f));
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> new WhisperLogMel(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> MEL128.chunk(new float[10], 11)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> WhisperLogMel.chunkCount(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
