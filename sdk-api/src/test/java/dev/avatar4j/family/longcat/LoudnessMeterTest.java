package dev.avatar4j.family.longcat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.testing.TestSignals;
import java.util.Arrays;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The streamed loudness measurement equals the whole-array one ({@link LoudnessNormalizer}, which
 * the golden tests pin to pyloudnorm) bit for bit, however the track is cut into pieces, on tracks
 * with speech-like signal, silence and the zero padding LongCat appends.
 */
class LoudnessMeterTest {

    private static double streamed(float[] x, int rate, int piece) {
        LoudnessMeter m = new LoudnessMeter(rate, x.length);
        for (int at = 0; at < x.length; at += piece) {
            m.accept(x, at, Math.min(piece, x.length - at));
        }
        return m.integratedLoudness();
    }

    @ParameterizedTest
    @CsvSource({"tone,16000,3", "tone,48000,3", "mix,16000,4.3", "mix,44100,2", "bursts,16000,5", "mix,16000,0.3",
            "bursts,16000,31.7"})
    void equalsTheWholeArrayMeasurementOnTheGoldenSignals(String kind, int rate, double seconds) {
        float[] x = TestSignals.signal(kind, rate, seconds);
        double whole = LoudnessNormalizer.integratedLoudness(x, rate);
        for (int piece : new int[] {1, 160, 4096, 65536, x.length}) {
            assertThat(streamed(x, rate, piece)).as("pieces of %d", piece).isEqualTo(whole);
        }
    }

    /** Silence, then speech, then silence and LongCat's zero padding: the gates drop the silent blocks. */
    @Property(tries = 40)
    void equalsTheWholeArrayMeasurementWithSilences(@ForAll @IntRange(min = 0, max = 40_000) int leading,
                                                     @ForAll @IntRange(min = 1, max = 60_000) int voiced,
                                                     @ForAll @IntRange(min = 0, max = 40_000) int trailing,
                                                     @ForAll @IntRange(min = 1, max = 9000) int piece,
                                                     @ForAll long seed) {
        float[] x = new float[leading + voiced + trailing];
        SplittableRandom rnd = new SplittableRandom(seed);
        double level = Math.pow(10, -rnd.nextDouble(0, 4));
        for (int i = 0; i < voiced; i++) {
            x[leading + i] = (float) (level * (Math.sin(i * 0.07) * 0.5 + rnd.nextDouble(-0.5, 0.5)));
        }
        assertThat(streamed(x, 16000, piece)).isEqualTo(LoudnessNormalizer.integratedLoudness(x, 16000));
    }

    @Property(tries = 5)
    void silenceAndShortTracksAreMinusInfinity(@ForAll @IntRange(min = 0, max = 20_000) int n) {
        assertThat(streamed(new float[n], 16000, 1000)).isEqualTo(Double.NEGATIVE_INFINITY);
    }

    @ParameterizedTest
    @CsvSource({"mix,16000,4.3", "bursts,16000,5"})
    void gainAppliedSampleBySampleEqualsNormalize(String kind, int rate, double seconds) {
        float[] x = TestSignals.signal(kind, rate, seconds);
        float[] want = LoudnessNormalizer.normalize(x, rate, LoudnessNormalizer.TARGET_LUFS);
        double gain = LoudnessNormalizer.gain(streamed(x, rate, 777), LoudnessNormalizer.TARGET_LUFS);
        float[] got = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            got[i] = (float) (gain * x[i]);
        }
        assertThat(got).isEqualTo(want);
        assertThat(gain).isNotEqualTo(1.0);
        float[] silent = new float[rate];
        assertThat(LoudnessNormalizer.gain(streamed(silent, rate, 100), -23)).isEqualTo(1.0);
        assertThat(Arrays.equals(LoudnessNormalizer.normalize(silent, rate, -23), silent)).isTrue();
    }

    @ParameterizedTest
    @CsvSource({"16000"})
    void refusesTooManyOrTooFewSamples(int rate) {
        LoudnessMeter m = new LoudnessMeter(rate, 10);
        m.accept(new float[6], 0, 6);
        assertThatThrownBy(m::integratedLoudness).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> m.accept(new float[5], 0, 5)).isInstanceOf(IllegalStateException.class);
    }
}
