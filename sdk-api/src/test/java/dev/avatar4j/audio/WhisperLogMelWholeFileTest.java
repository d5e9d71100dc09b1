package dev.avatar4j.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Golden values from {@code tools/golden/whisper_openai_golden.py} (torch.stft, float32). */
class WhisperLogMelWholeFileTest {
    private static final double TOL = 2e-5;

    /** The script's test signal, computed in float64 and rounded to float32 as numpy does. */
    static float[] signal(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double t = i / 16000.0;
            x[i] = (float) (0.4 * Math.sin(2 * Math.PI * (300 * t + 40 * t * t)) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 0.7 * t))
                    + 0.05 * Math.sin(2 * Math.PI * 2500 * t));
        }
        return x;
    }

    @Test
    void oneSecondMatchesTorch() {
        float[][] l = new WhisperLogMelWholeFile().compute(signal(16123));
        assertThat(l).hasNumberOfRows(80);
        assertThat(l[0]).hasSize(100);
        assertThat(max(l)).isCloseTo(1.3701332807540894, within(TOL));
        assertThat(min(l)).isCloseTo(-0.6298667192459106, within(TOL));
        assertThat((double) l[0][0]).isCloseTo(0.9144192934036255, within(TOL));
        assertThat((double) l[5][17]).isCloseTo(0.5903502702713013, within(TOL));
        assertThat((double) l[12][50]).isCloseTo(0.33394789695739746, within(TOL));
        assertThat((double) l[8][71]).isCloseTo(1.2282788753509521, within(TOL));
        assertThat(sum(l)).isCloseTo(-2897.394153356552, within(0.02));
    }

    @Test
    void thirtyOneSecondsUseTheGlobalMaximumAndTwoSegments() {
        float[][] l = new WhisperLogMelWholeFile().compute(signal(31 * 16000 + 4321));
        assertThat(l[0]).hasSize(3127);
        assertThat(max(l)).isCloseTo(1.4036309719085693, within(TOL));
        // the floor is max - 8 over the whole file, not per 30 s chunk
        assertThat(min(l)).isCloseTo(-0.5963690280914307, within(TOL));
        assertThat((double) l[79][3126]).isCloseTo(-0.5317214727401733, within(TOL));
        assertThat((double) l[8][71]).isCloseTo(1.2282788753509521, within(TOL));
        assertThat(sum(l)).isCloseTo(-104242.04196304083, within(0.5));
        List<WhisperLogMelWholeFile.Segment> segs = WhisperLogMelWholeFile.segments(l);
        assertThat(segs).hasSize(2);
        assertThat(segs.get(0).validFrames()).isEqualTo(3000);
        assertThat(segs.get(1).validFrames()).isEqualTo(127);
        assertThat(segs.get(1).mel()[0]).hasSize(3000);
        assertThat(segs.get(1).mel()[79][126]).isEqualTo(l[79][3126]);
        for (int m = 0; m < 80; m++) {
            for (int f = 127; f < 3000; f++) {
                assertThat(segs.get(1).mel()[m][f]).isZero(); // 0 in the normalised domain
            }
        }
        assertThat(segs.get(0).mel()[40][2999]).isEqualTo(l[40][2999]);
    }

    @Test
    void rejectsTooShortSignals() {
        assertThatThrownBy(() -> new WhisperLogMelWholeFile().compute(new float[200]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(WhisperLogMelWholeFile.frames(16000)).isEqualTo(100);
        assertThat(WhisperLogMelWholeFile.frames(16159)).isEqualTo(100);
    }

    private static double max(float[][] l) {
        double m = Double.NEGATIVE_INFINITY;
        for (float[] r : l) {
            for (float v : r) {
                m = Math.max(m, v);
            }
        }
        return m;
    }

    private static double min(float[][] l) {
        double m = Double.POSITIVE_INFINITY;
        for (float[] r : l) {
            for (float v : r) {
                m = Math.min(m, v);
            }
        }
        return m;
    }

    private static double sum(float[][] l) {
        double s = 0;
        for (float[] r : l) {
            for (float v : r) {
                s += v;
            }
        }
        return s;
    }

    /** Issue 22 item 1: the whole-file pass checks for cancellation every 10 s of audio and stops when told. */
    @Test
    void theCheckpointRunsEveryTenSecondsOfAudioAndItsExceptionEndsThePass() {
        float[] minute = new float[16_000 * 60];
        for (int i = 0; i < minute.length; i++) {
            minute[i] = (float) Math.sin(i * 0.05);
        }
        int[] calls = {0};
        float[][] mel = new WhisperLogMelWholeFile().compute(minute, () -> calls[0]++);
        assertThat(calls[0]).isEqualTo((mel[0].length + 999) / 1000);
        assertThat(mel).isDeepEqualTo(new WhisperLogMelWholeFile().compute(minute));
        int[] seen = {0};
        assertThatThrownBy(() -> new WhisperLogMelWholeFile().compute(minute, () -> {
            if (++seen[0] == 2) {
                throw new IllegalStateException("cancelled");
            }
        })).hasMessage("cancelled");
        assertThat(seen[0]).isEqualTo(2);
    }
}
