package dev.avatar4j.family.longcat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.testing.Golden;
import dev.avatar4j.testing.TestSignals;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Golden values from tools/longcat_golden.py (scipy lfilter + pyloudnorm's gating, float64). */
class LoudnessNormalizerTest {

    private static final Golden GOLDEN = Golden.load("/golden/longcat-golden.txt");

    @ParameterizedTest
    @ValueSource(ints = {16000, 44100, 48000})
    void kWeightingCoefficientsAreDesignedAtTheActualRate(int rate) {
        double[][] k = LoudnessNormalizer.kWeighting(rate);
        double[] shelf = GOLDEN.doubles("kweight.r" + rate + ".shelf");
        double[] hp = GOLDEN.doubles("kweight.r" + rate + ".highpass");
        for (int i = 0; i < 6; i++) {
            assertThat(k[0][i]).isCloseTo(shelf[i], within(1e-14));
            assertThat(k[1][i]).isCloseTo(hp[i], within(1e-14));
        }
    }

    @Test
    void kWeightingAt48kMatchesTheStandardsTable() {
        // ITU-R BS.1770-4 Table 1/2 (48 kHz): the pyloudnorm design reproduces them to ~1e-4
        double[][] k = LoudnessNormalizer.kWeighting(48000);
        assertThat(k[0][0]).isCloseTo(1.53512485958697, within(1e-4));
        assertThat(k[0][4]).isCloseTo(-1.69065929318241, within(1e-4));
        assertThat(k[0][5]).isCloseTo(0.73248077421585, within(1e-4));
        assertThat(k[1][4]).isCloseTo(-1.99004745483398, within(1e-4));
        assertThat(k[1][5]).isCloseTo(0.99007225036621, within(1e-4));
    }

    @ParameterizedTest
    @CsvSource({"tone,16000,3", "tone,48000,3", "mix,16000,4.3", "mix,44100,2", "bursts,16000,5"})
    void integratedLoudnessMatchesGolden(String kind, int rate, double seconds) {
        float[] x = TestSignals.signal(kind, rate, seconds);
        String key = "lufs." + kind + ".r" + rate + ".s" + fmt(seconds);
        assertThat(LoudnessNormalizer.integratedLoudness(x, rate))
                .isCloseTo(GOLDEN.scalar(key), within(1e-6));
    }

    private static String fmt(double s) {
        return s == Math.rint(s) ? Integer.toString((int) s) : Double.toString(s);
    }

    @Test
    void fullScaleSineIsAboutMinusThreeLufs() {
        // BS.1770: a 0 dBFS 997 Hz sine in one channel reads −3.01 LKFS; pyloudnorm's biquad design
        // (not the standard's coefficient table) lands within EBU Tech 3341's ±0.1 LU of it
        int rate = 48000;
        float[] x = new float[rate * 2];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) Math.sin(2 * Math.PI * 997.0 * i / rate);
        }
        assertThat(LoudnessNormalizer.integratedLoudness(x, rate)).isCloseTo(-3.01, within(0.1));
    }

    @Test
    void relativeGateIgnoresTheQuietHalves() {
        // loud half-second bursts (0.8) between near-silence (0.001, about −62 LUFS): the quiet
        // blocks fail the relative gate, so the result is above the plain energy average
        float[] x = TestSignals.signal("bursts", 16000, 5);
        double gated = LoudnessNormalizer.integratedLoudness(x, 16000);
        double meanSquare = 0;
        for (float v : x) {
            meanSquare += (double) v * v;
        }
        double ungated = -0.691 + 10 * Math.log10(meanSquare / x.length);
        assertThat(gated - ungated).isGreaterThan(0.8); // 1.10 LU: the blocks only partly loud still pass
        assertThat(gated).isCloseTo(GOLDEN.scalar("lufs.bursts.r16000.s5"), within(1e-6));
    }

    @Test
    void silenceAndShortInputAreSkipped() {
        float[] silence = TestSignals.signal("silence", 16000, 2);
        assertThat(LoudnessNormalizer.integratedLoudness(silence, 16000))
                .isEqualTo(GOLDEN.scalar("lufs.silence.r16000.s2")).isInfinite();
        assertThat(LoudnessNormalizer.normalize(silence, 16000, -23)).isSameAs(silence);
        float[] shortClip = new float[6000];
        java.util.Arrays.fill(shortClip, 0.5f);
        assertThat(LoudnessNormalizer.normalize(shortClip, 16000, -23)).isSameAs(shortClip);
    }

    @Test
    void normalizeReachesTheTarget() {
        float[] x = TestSignals.signal("mix", 16000, 4.3);
        float[] y = LoudnessNormalizer.normalize(x, 16000, LoudnessNormalizer.TARGET_LUFS);
        assertThat(y).isNotSameAs(x).hasSameSizeAs(x);
        assertThat(LoudnessNormalizer.integratedLoudness(y, 16000)).isCloseTo(-23.0, within(1e-4));
        double gain = Math.pow(10, (-23.0 - GOLDEN.scalar("lufs.mix.r16000.s4.3")) / 20);
        assertThat((double) y[1234]).isCloseTo(gain * x[1234], within(1e-7));
        assertThat(x[1234]).isEqualTo(TestSignals.signal("mix", 16000, 4.3)[1234]); // input untouched
    }
}
