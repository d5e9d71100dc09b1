package dev.avatar4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.AudioStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import dev.avatar4j.testing.LongWav;
import dev.avatar4j.testing.TestMedia;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/**
 * Streamed speech reads exactly the samples of the in-memory clip: for any chunking of the
 * decoder, any kept window, and the reading pattern of sliding windows (overlapping, moving
 * forward, now and then jumping back further than the window).
 */
class AudioSourceTest {
    static final int RATE = 16000;

    /** A decoder over {@code s} that returns chunks of random sizes up to {@code maxChunk}. */
    static AudioStream chunked(float[] s, int maxChunk, long seed, AtomicInteger opened) {
        opened.incrementAndGet();
        return TestMedia.chunked(s, maxChunk, new Random(seed));
    }

    static float[] signal(int n, long seed) {
        Random r = new Random(seed);
        float[] s = new float[n];
        for (int i = 0; i < n; i++) {
            s[i] = r.nextFloat() * 2 - 1;
        }
        return s;
    }

    @Property(tries = 100)
    void streamedReadsEqualTheInMemoryClip(@ForAll @IntRange(min = 0, max = 20_000) int length,
                                           @ForAll @IntRange(min = 1, max = 5000) int maxChunk,
                                           @ForAll @IntRange(min = 1, max = 9000) int window,
                                           @ForAll @IntRange(min = 1, max = 6000) int slice,
                                           @ForAll @IntRange(min = 200, max = 6000) int hop,
                                           @ForAll long seed) {
        float[] s = signal(length, seed);
        AudioClip clip = new AudioClip(s, RATE);
        AtomicInteger opened = new AtomicInteger();
        AudioSource memory = AudioSource.of(clip);
        try (AudioSource streamed = AudioSource.streamed("test", length, RATE, () -> chunked(s, maxChunk, seed, opened),
                () -> clip, window)) {
            assertThat(streamed.length()).isEqualTo(length);
            Random r = new Random(seed ^ 0x5DEECE66DL);
            // sliding windows from before the start to past the end, plus occasional jumps back
            for (long from = -slice / 2; from < length + slice; from += hop) {
                long at = r.nextInt(8) == 0 ? Math.max(-3, from - r.nextInt(3 * window + 1)) : from;
                float[] a = new float[slice + 2];
                float[] b = new float[slice + 2];
                a[0] = b[0] = 7f; // the offset is honoured: outside [off, off+len) untouched
                memory.read(at, a, 1, slice);
                streamed.read(at, b, 1, slice);
                if (!Arrays.equals(a, b)) { // (assertj's element-wise comparison is slow on every read)
                    assertThat(b).as("samples [%d, %d)", at, at + slice).containsExactly(a);
                }
            }
            assertThat(streamed.inMemory()).isFalse();
        }
    }

    @Test
    void readsWithinTheWindowNeverReopenTheDecoder() {
        float[] s = signal(50_000, 1);
        AtomicInteger opened = new AtomicInteger();
        try (AudioSource src = AudioSource.streamed("t", s.length, RATE, () -> chunked(s, 999, 2, opened),
                () -> new AudioClip(s, RATE), 10_000)) {
            float[] buf = new float[4000];
            for (int from = 0; from < s.length; from += 3000) { // overlapping by 1000
                src.read(from, buf, 0, buf.length);
            }
            src.read(s.length - 9000, buf, 0, buf.length); // back, but within the kept window
            assertThat(opened).hasValue(1);
            src.read(0, buf, 0, buf.length); // further back than the window
            assertThat(opened).hasValue(2);
            float[] expected = Arrays.copyOf(s, buf.length);
            assertThat(buf).containsExactly(expected);
        }
    }

    @Test
    void aStreamShorterThanItsCountIsRefused() {
        float[] s = signal(1000, 3);
        try (AudioSource src = AudioSource.streamed("short.wav", 2000, RATE,
                () -> AudioStream.of(new AudioClip(s, RATE)), () -> new AudioClip(s, RATE), 4096)) {
            assertThatThrownBy(() -> src.read(1500, new float[10], 0, 10)).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining("short.wav").hasMessageContaining("changed");
        }
    }

    // ------------------------------------------------------------ the JDK codec's stream

    final MediaRegistry media = new MediaRegistry(List.of(new JdkMediaCodec()));

    @Property(tries = 60)
    void jdkWavStreamEqualsReadAudio(@ForAll @IntRange(min = 0, max = 4) int format,
                                     @ForAll @IntRange(min = 1, max = 3) int channels,
                                     @ForAll @IntRange(min = 1, max = 30_000) int frames,
                                     @ForAll boolean atModelRate,
                                     @ForAll @IntRange(min = 1, max = 20_000) int window,
                                     @ForAll @IntRange(min = 1, max = 9000) int slice) throws IOException {
        int[] bits = {8, 16, 24, 32, 32};
        boolean floating = format == 4;
        int rate = atModelRate ? RATE : 22050;
        double[] amps = new double[channels];
        for (int c = 0; c < channels; c++) {
            amps[c] = 0.9 / (c + 1);
        }
        Path dir = Files.createTempDirectory("audio-source");
        try {
            Path f = Files.write(dir.resolve("a.wav"), JdkMediaCodecTest.wav(floating ? 3 : 1, channels, rate,
                    bits[format], JdkMediaCodecTest.encode(JdkMediaCodecTest.sine(rate, frames, amps), bits[format],
                            floating)));
            float[] whole = media.readAudio(f, RATE).samples();
            try (AudioSource src = media.openAudioSource(f, RATE, window)) {
                assertThat(src.length()).isEqualTo(whole.length);
                AudioSource memory = AudioSource.of(new AudioClip(whole, RATE));
                for (long from = 0; from < whole.length; from += Math.max(1, slice * 3 / 4)) {
                    float[] a = new float[slice];
                    float[] b = new float[slice];
                    memory.read(from, a, 0, slice);
                    src.read(from, b, 0, slice);
                    if (!Arrays.equals(a, b)) {
                        assertThat(b).as("samples from %d", from).containsExactly(a);
                    }
                }
                assertThat(src.inMemory()).isFalse();
                assertThat(src.clip().samples()).containsExactly(whole);
            }
        } finally {
            try (var files = Files.list(dir)) {
                files.forEach(p -> {
                    try {
                        Files.delete(p);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
            Files.delete(dir);
        }
    }

    @Test
    void nonFiniteSamplesAreRefusedWhileStreaming() throws IOException {
        double[][] s = JdkMediaCodecTest.sine(RATE, 5000, 0.5);
        s[4321][0] = Double.NaN;
        Path f = Files.createTempFile("nan", ".wav");
        try {
            Files.write(f, JdkMediaCodecTest.wav(3, 1, RATE, 32, JdkMediaCodecTest.encode(s, 32, true)));
            try (AudioSource src = media.openAudioSource(f, RATE, 2000)) {
                assertThat(src.length()).as("counted from the header").isEqualTo(5000);
                float[] buf = new float[1000];
                src.read(0, buf, 0, 1000);
                assertThatThrownBy(() -> src.read(4000, buf, 0, 1000)).isInstanceOf(InvalidInputException.class)
                        .hasMessageContaining("non-finite").hasMessageContaining("4321");
            }
        } finally {
            Files.delete(f);
        }
    }

    @Test
    void aTenHourWavIsCountedFromItsHeaderAndStreamedInBoundedMemory() throws IOException {
        Path f = Files.createTempFile("ten-hours", ".wav");
        try {
            long samples = LongWav.write(f, 10 * 3600, RATE);
            try (AudioSource src = media.openAudioSource(f, RATE)) {
                assertThat(src.length()).isEqualTo(samples).isEqualTo(576_000_000L);
                float[] buf = new float[50_000];
                long before = LongWav.allocatedBytes();
                for (long from = 0; from < 20 * buf.length; from += buf.length) {
                    src.read(from, buf, 0, buf.length);
                }
                src.read(3600L * RATE, buf, 0, buf.length); // a jump an hour on decodes the gap, keeps the window
                long allocated = LongWav.allocatedBytes() - before;
                assertThat(buf[0]).isZero();
                // the window (4 MiB) and a decoder chunk, not the 2.3 GB the whole file would take
                assertThat(allocated).as("bytes allocated").isLessThan(64L << 20);
            }
        } finally {
            Files.delete(f);
        }
    }
}
