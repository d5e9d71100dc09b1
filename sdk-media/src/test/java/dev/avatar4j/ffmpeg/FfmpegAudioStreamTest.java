package dev.avatar4j.ffmpeg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.avatar4j.io.AudioSource;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link FfmpegMediaCodec#readAudioStream} streams exactly the samples {@link FfmpegMediaCodec#readAudio}
 * returns (the same decoder and converter, chunk by chunk), whatever the reads' sizes, for WAV at
 * and off the model rate and for compressed formats; and through a {@link MediaRegistry} source
 * read in overlapping windows.
 */
class FfmpegAudioStreamTest {
    private final FfmpegMediaCodec codec = new FfmpegMediaCodec();

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({"wav, 16000, 1", "wav, 44100, 2", "wav, 8000, 1", "mp3, 44100, 2", "flac, 22050, 1"})
    void streamEqualsReadAudio(String ext, int rate, int channels) throws Exception {
        Path f = dir.resolve("tone." + ext);
        float[] a = MediaFixtures.sine(1000, 0.5, rate, 3.1);
        float[] b = MediaFixtures.sine(300, 0.2, rate, 3.1);
        if (ext.equals("wav")) {
            MediaFixtures.writeWav(f, rate, false, channels == 1 ? new float[][] {a} : new float[][] {a, b});
        } else {
            assumeTrue(MediaFixtures.hasTool("ffmpeg"), "ffmpeg CLI not installed");
            try {
                MediaFixtures.run("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "sine=frequency=1000:sample_rate=" + rate + ":duration=3.1", "-ac", "" + channels, f.toString());
            } catch (java.io.IOException e) {
                assumeTrue(false, "this ffmpeg CLI cannot encode " + ext);
            }
        }
        float[] whole = codec.readAudio(f, 16000).samples();
        Random r = new Random(rate * 31L + channels);
        float[] streamed = new float[whole.length + 10];
        int at = 0;
        try (AudioStream s = codec.readAudioStream(f, 16000)) {
            int n;
            while ((n = s.read(streamed, at, Math.min(1 + r.nextInt(3000), streamed.length - at))) > 0) {
                at += n;
            }
            assertThat(n).as("end of stream").isEqualTo(-1);
        }
        assertThat(at).isEqualTo(whole.length);
        assertThat(Arrays.copyOf(streamed, at)).containsExactly(whole);

        MediaRegistry media = new MediaRegistry(List.of(codec));
        try (AudioSource src = media.openAudioSource(f, 16000, 5000)) {
            assertThat(src.length()).isEqualTo(whole.length);
            float[] slice = new float[4096];
            for (int from = -100; from < whole.length + 100; from += 3000) {
                src.read(from, slice, 0, slice.length);
                for (int i = 0; i < slice.length; i++) {
                    int k = from + i;
                    float expected = k >= 0 && k < whole.length ? whole[k] : 0f;
                    assertThat(slice[i]).as("sample %d", k).isEqualTo(expected);
                }
            }
        }
    }
}
