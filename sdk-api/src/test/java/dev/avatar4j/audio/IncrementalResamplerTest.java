package dev.avatar4j.audio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.media.AudioStream;
import dev.avatar4j.testing.TestMedia;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * {@link Resampler.Incremental} returns exactly {@link Resampler#resample}'s samples, bit for bit,
 * whatever the input's chunking and the output's read sizes: chunk boundaries never change a tap.
 */
class IncrementalResamplerTest {
    static final int[] RATES = {8000, 11025, 16000, 22050, 24000, 44100, 48000, 96000};

    static float[] drain(Resampler.Incremental inc, int maxRead, Random r) {
        float[] out = new float[Math.toIntExact(inc.outputLength()) + 5];
        int at = 0;
        int n;
        while ((n = inc.read(out, at, Math.min(1 + r.nextInt(maxRead), out.length - at))) > 0) {
            at += n;
        }
        assertThat(n).as("end of stream").isEqualTo(-1);
        return Arrays.copyOf(out, at);
    }

    @Property(tries = 150)
    void incrementalEqualsWholeFile(@ForAll @IntRange(min = 0, max = 7) int from,
                                    @ForAll @IntRange(min = 0, max = 7) int to,
                                    @ForAll @IntRange(min = 0, max = 40_000) int length,
                                    @ForAll @IntRange(min = 1, max = 20_000) int maxChunk,
                                    @ForAll @IntRange(min = 1, max = 5000) int maxRead,
                                    @ForAll long seed) {
        Random r = new Random(seed);
        float[] in = new float[length];
        for (int i = 0; i < length; i++) {
            in[i] = r.nextFloat() * 2 - 1;
        }
        int fromRate = RATES[from];
        int toRate = RATES[to];
        float[] whole = Resampler.resample(in, fromRate, toRate);
        Resampler.Incremental inc = new Resampler.Incremental(TestMedia.chunked(in, maxChunk, r), length, fromRate, toRate);
        assertThat(inc.outputLength()).isEqualTo(whole.length)
                .isEqualTo(Resampler.outputLength(length, fromRate, toRate));
        float[] streamed = drain(inc, maxRead, r);
        if (!Arrays.equals(streamed, whole)) {
            assertThat(streamed).containsExactly(whole);
        }
    }

    @Test
    void holdsOnlyTheTapsSpanAndAChunk() {
        // 30 s at 44.1 kHz, generated on the fly: the stream's buffer never grows
        long n = 30L * 44100;
        AudioStream sine = new AudioStream() {
            long at;

            @Override
            public int read(float[] dst, int off, int len) {
                if (at >= n) {
                    return -1;
                }
                int k = (int) Math.min(len, n - at);
                for (int i = 0; i < k; i++) {
                    dst[off + i] = (float) Math.sin((at + i) * 0.01);
                }
                at += k;
                return k;
            }

            @Override
            public void close() {
            }
        };
        Resampler.Incremental inc = new Resampler.Incremental(sine, n, 44100, 16000);
        float[] out = new float[4096];
        long total = 0;
        int k;
        while ((k = inc.read(out, 0, out.length)) > 0) {
            total += k;
        }
        assertThat(total).isEqualTo(30L * 16000);
        assertThat(inc.bufferLength()).as("input buffer, floats").isLessThan(16_384);
    }
}
