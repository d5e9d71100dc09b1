package dev.avatar4j.audio;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** The open-ended resampler gives, however its input is cut, exactly what the whole-input resampler gives. */
class OpenResamplerTest {

    @Property(tries = 60)
    void chunkedInputGivesTheWholeInputsSamples(@ForAll("rates") int from, @ForAll("rates") int to,
                                                @ForAll @IntRange(min = 0, max = 3000) int length,
                                                @ForAll @IntRange(min = 1, max = 700) int maxChunk,
                                                @ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] in = new float[length];
        for (int i = 0; i < length; i++) {
            in[i] = (float) Math.sin(i * 0.05) * 0.5f + (float) (rnd.nextDouble() - 0.5) * 0.2f;
        }
        float[] whole = Resampler.resample(in, from, to);
        OpenResampler r = new OpenResampler(from, to);
        float[] out = new float[whole.length + 16];
        int n = 0;
        for (int i = 0; i < length; ) {
            int c = Math.min(length - i, 1 + rnd.nextInt(maxChunk));
            float[] part = r.accept(in, i, c);
            assertThat(r.pending()).isGreaterThanOrEqualTo(0);
            System.arraycopy(part, 0, out, n, part.length);
            n += part.length;
            i += c;
        }
        float[] rest = r.finish();
        System.arraycopy(rest, 0, out, n, rest.length);
        n += rest.length;
        assertThat(n).isEqualTo(whole.length);
        assertThat(java.util.Arrays.copyOf(out, n)).containsExactly(whole);
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<Integer> rates() {
        return net.jqwik.api.Arbitraries.of(8000, 16000, 22050, 24000, 44100, 48000);
    }

    @Property(tries = 10)
    void outputsComeAsSoonAsTheirTapsAreIn(@ForAll("rates") int from) {
        OpenResampler r = new OpenResampler(from, 16000);
        float[] second = new float[from];
        int got = r.accept(second, 0, second.length).length;
        // all but the last taps' span (16 zero crossings at the lower rate: 1 ms at 16 kHz, ~2 ms at 8 kHz)
        assertThat(got).isGreaterThan(16000 - 80).isLessThanOrEqualTo(16000);
        assertThat(got + r.finish().length).isEqualTo(16000);
    }
}
