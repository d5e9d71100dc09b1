package dev.avatar4j.family.preview;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Attack/release smoothing and the audio features behind the mouth targets. */
class MouthTrackTest {

    @Test
    void opensWithTheAttackAndClosesWithTheReleaseTimeConstant() {
        MouthShape[] t = new MouthShape[12];
        for (int i = 0; i < t.length; i++) {
            t[i] = i < 2 ? new MouthShape(1, 0, 0) : MouthShape.CLOSED;
        }
        MouthShape[] s = MouthTrack.smooth(t, 25);
        double a = 1 - Math.exp(-0.04 / 0.03); // 0.736403
        assertThat(s[0].open()).isCloseTo(a, within(1e-12));
        assertThat(s[1].open()).isCloseTo(a + (1 - a) * a, within(1e-12)); // 0.930437
        double r = Math.exp(-0.04 / 0.05); // 0.449329
        assertThat(s[2].open()).isCloseTo((a + (1 - a) * a) * r, within(1e-12)); // 0.418072
        assertThat(s[11].open()).as("shut in a pause").isZero();
    }

    @Test
    void fftFindsAPureTone() {
        double[] re = new double[MouthFeatures.FFT];
        double[] im = new double[MouthFeatures.FFT];
        for (int i = 0; i < re.length; i++) {
            re[i] = Math.cos(2 * Math.PI * 37 * i / re.length);
        }
        MouthFeatures.fft(re, im);
        assertThat(re[37]).isCloseTo(512, within(1e-9));
        assertThat(Math.hypot(re[36], im[36])).isLessThan(1e-9);
    }

    @Test
    void toneLevelAndCentroidAreMeasured() {
        int rate = 16_000;
        float[] x = new float[rate];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (0.5 * Math.sin(2 * Math.PI * 1000 * i / rate));
        }
        MouthFeatures.Frame[] f = MouthFeatures.analyse(x, rate, 25, 25);
        MouthFeatures.Frame mid = f[12];
        assertThat(mid.levelDb()).isCloseTo(10 * Math.log10(0.125), within(0.2)); // RMS² of a 0.5 sine
        assertThat(mid.centroidHz()).isCloseTo(1000, within(30.0));
        assertThat(mid.highShare()).isLessThan(0.01);
    }

    @Test
    void noSpeechMeansAClosedMouthWhateverTheLevel() {
        MouthFeatures.Frame loud = new MouthFeatures.Frame(-10, 900, 0.05);
        MouthShape[] t = MouthFeatures.targets(new MouthFeatures.Frame[] {loud, loud, loud}, new float[] {0.9f, 0.1f, 0f});
        assertThat(t[0].open()).isEqualTo(1.0);
        assertThat(t[1].open()).isZero();
        assertThat(t[2].open()).isZero();
    }

    @Test
    void quieterSyllablesOpenLessAndHissOpensLessThanAVowel() {
        MouthFeatures.Frame[] f = {
            new MouthFeatures.Frame(-12, 1200, 0.05),
            new MouthFeatures.Frame(-27, 1200, 0.05),
            new MouthFeatures.Frame(-12, 4500, 0.9),
        };
        MouthShape[] t = MouthFeatures.targets(f, new float[] {1, 1, 1});
        assertThat(t[0].open()).isEqualTo(1.0); // at the clip's speech level
        assertThat(t[1].open()).isCloseTo(Math.pow(0.5, MouthFeatures.GAMMA), within(1e-12)); // 15 dB down of 30
        assertThat(t[2].open()).isCloseTo(0.35, within(1e-12));
        assertThat(t[2].width()).isEqualTo(1.0);
    }
}
