package dev.avatar4j.audio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Band-limited resampling keeps in-band tones, removes out-of-band ones and has a fixed length law. */
class ResamplerTest {

    static float[] sine(double freq, double amp, int rate, int n) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = (float) (amp * Math.sin(2 * Math.PI * freq * i / rate));
        }
        return s;
    }

    /** Amplitude of the component at {@code freq} over s[from, to) (Goertzel, normalised). */
    static double goertzel(float[] s, int from, int to, double freq, int rate) {
        double w = 2 * Math.PI * freq / rate;
        double coeff = 2 * Math.cos(w);
        double s1 = 0;
        double s2 = 0;
        for (int i = from; i < to; i++) {
            double s0 = s[i] + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        return 2 * Math.sqrt(Math.max(0, power)) / (to - from);
    }

    static double rms(float[] s, int from, int to) {
        double acc = 0;
        for (int i = from; i < to; i++) {
            acc += (double) s[i] * s[i];
        }
        return Math.sqrt(acc / (to - from));
    }

    /** Frequency from the zero crossings (upward) of s[from, to). */
    static double zeroCrossingFrequency(float[] s, int from, int to, int rate) {
        int first = -1;
        int last = -1;
        int count = 0;
        for (int i = from + 1; i < to; i++) {
            if (s[i - 1] < 0 && s[i] >= 0) {
                if (first < 0) {
                    first = i;
                } else {
                    count++;
                }
                last = i;
            }
        }
        return (double) count * rate / (last - first);
    }

    static long expectedLength(long n, long from, long to) {
        return (2 * n * to + from) / (2 * from); // round half up of n·to/from, exactly
    }

    private static void assertKeepsTone(int from, int to) {
        int n = from; // one second
        float[] out = Resampler.resample(sine(1000, 0.5, from, n), from, to);
        assertThat(out).hasSize((int) expectedLength(n, from, to));
        int lo = to / 20;
        int hi = out.length - to / 20;
        assertThat(zeroCrossingFrequency(out, lo, hi, to)).isCloseTo(1000, within(1.0));
        assertThat(goertzel(out, lo, hi, 1000, to)).isCloseTo(0.5, within(0.5 * 0.03));
        assertThat(rms(out, lo, hi)).isCloseTo(0.5 / Math.sqrt(2), within(0.5 / Math.sqrt(2) * 0.03));
        // nothing else: the residual after removing the tone is small
        assertThat(goertzel(out, lo, hi, 3000, to)).isLessThan(0.005);
    }

    @Test
    void oneKilohertzDown44100To16000KeepsFrequencyAndAmplitude() {
        assertKeepsTone(44100, 16000);
    }

    @Test
    void oneKilohertzUp8000To16000KeepsFrequencyAndAmplitude() {
        assertKeepsTone(8000, 16000);
    }

    @Test
    void oneKilohertzDown48000To16000KeepsFrequencyAndAmplitude() {
        assertKeepsTone(48000, 16000);
    }

    @Test
    void dcStaysDcEverywhereIncludingTheEdges() {
        float[] dc = new float[4410];
        java.util.Arrays.fill(dc, 0.7f);
        for (int[] r : new int[][] {{44100, 16000}, {8000, 16000}, {16000, 48000}, {22050, 11025}}) {
            float[] out = Resampler.resample(dc, r[0], r[1]);
            assertThat(out).hasSize((int) expectedLength(dc.length, r[0], r[1]));
            for (int i = 0; i < out.length; i++) {
                assertThat(out[i]).as("%d→%d [%d]", r[0], r[1], i).isCloseTo(0.7f, within(1e-5f));
            }
        }
    }

    @Test
    void toneAboveTheNewNyquistIsRemoved() {
        // 8.5, 9, 12 and 15 kHz cannot exist at 16 kHz (Nyquist 8 kHz); they would alias to 7.5, 7, 4, 1 kHz
        for (double f : new double[] {8500, 9000, 12000, 15000}) {
            float[] out = Resampler.resample(sine(f, 0.5, 44100, 44100), 44100, 16000);
            double level = rms(out, 800, out.length - 800);
            double db = 20 * Math.log10(level / (0.5 / Math.sqrt(2)));
            assertThat(db).as("%.0f Hz attenuation", f).isLessThanOrEqualTo(f >= 9000 ? -60 : -30);
        }
    }

    @Test
    void toneJustBelowTheNewNyquistIsInTheTransitionBand() {
        // 7.5 kHz is below 8 kHz, the Nyquist frequency of 16 kHz: it is representable and does not alias,
        // so it is NOT expected to be 30 dB down. The cut-off (the -6 dB point) is 0.95 × 8 kHz = 7.6 kHz, so
        // 7.5 kHz sits in the transition band: attenuated a few dB (measured -4.6 dB), not removed.
        float[] out = Resampler.resample(sine(7500, 0.5, 44100, 44100), 44100, 16000);
        double gain = goertzel(out, 800, out.length - 800, 7500, 16000) / 0.5;
        assertThat(gain).isBetween(0.4, 0.8);
        double cutoffGain = goertzel(Resampler.resample(sine(7600, 0.5, 44100, 44100), 44100, 16000), 800,
                16000 - 800, 7600, 16000) / 0.5;
        assertThat(cutoffGain).as("-6 dB at the cut-off").isCloseTo(0.5, within(0.02));
    }

    @Test
    void passbandIsFlatUpToSixAndAHalfKilohertz() {
        for (double f : new double[] {100, 1000, 3000, 5000, 6000, 6500}) {
            float[] out = Resampler.resample(sine(f, 0.5, 44100, 44100), 44100, 16000);
            double gain = goertzel(out, 800, out.length - 800, f, 16000) / 0.5;
            assertThat(gain).as("%.0f Hz", f).isCloseTo(1.0, within(0.005));
        }
    }

    @Test
    void upsamplingAddsNoImages() {
        // 3 kHz at 8 kHz → 16 kHz: the image at 8 − 3 = 5 kHz must be suppressed
        float[] out = Resampler.resample(sine(3000, 0.5, 8000, 8000), 8000, 16000);
        assertThat(goertzel(out, 800, out.length - 800, 5000, 16000)).isLessThan(0.5 * 0.0316);
        assertThat(goertzel(out, 800, out.length - 800, 3000, 16000)).isCloseTo(0.5, within(0.015));
    }

    @Test
    void sameRateIsACopy() {
        float[] in = {1, 2, 3};
        float[] out = Resampler.resample(in, 16000, 16000);
        assertThat(out).containsExactly(1, 2, 3).isNotSameAs(in);
    }

    @Test
    void emptyInputGivesEmptyOutput() {
        assertThat(Resampler.resample(new float[0], 44100, 16000)).isEmpty();
    }

    @Test
    void nonPositiveRatesAreRefused() {
        assertThatThrownBy(() -> Resampler.resample(new float[1], 0, 16000)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Resampler.resample(new float[1], 16000, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void outputLongerThanAnArrayIsRefused() {
        assertThatThrownBy(() -> Resampler.resample(new float[200_000], 1, 16000))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void downmixAveragesChannels() {
        assertThat(Resampler.downmix(new float[] {1, 0, 0.5f, -0.5f, -1, -1}, 2)).containsExactly(0.5f, 0f, -1f);
        float[] mono = {1, 2};
        assertThat(Resampler.downmix(mono, 1)).isSameAs(mono);
        assertThat(Resampler.downmix(new float[] {3, 6, 9, 1, 1, 1}, 3)).containsExactly(6f, 1f);
    }

    @Provide
    Arbitrary<Integer> rates() {
        return Arbitraries.of(8000, 11025, 16000, 22050, 44100, 48000, 96000);
    }

    @Property(tries = 200)
    void outputLengthIsRoundOfNTimesToOverFrom(@ForAll @IntRange(min = 0, max = 3000) int n,
                                                @ForAll("rates") int from, @ForAll("rates") int to) {
        float[] out = Resampler.resample(new float[n], from, to);
        assertThat((long) out.length).isEqualTo(expectedLength(n, from, to));
    }

    @Property(tries = 50)
    void dcGainIsOneForAnyRatePair(@ForAll("rates") int from, @ForAll("rates") int to,
                                   @ForAll @From("levels") float level) {
        float[] in = new float[500];
        java.util.Arrays.fill(in, level);
        for (float v : Resampler.resample(in, from, to)) {
            assertThat(v).isCloseTo(level, within(1e-5f * Math.max(1, Math.abs(level))));
        }
    }

    @Provide
    Arbitrary<Float> levels() {
        return Arbitraries.floats().between(-1, 1);
    }
}
