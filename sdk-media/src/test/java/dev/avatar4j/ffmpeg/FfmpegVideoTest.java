package dev.avatar4j.ffmpeg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoClip;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Video decoding against FFmpeg's own {@code fps} filter: the clips are lossless (PNG in Matroska)
 * with a different colour per frame, made at test time by the ffmpeg CLI, so every decoded frame
 * must equal the CLI's {@code -vf fps=25} output byte for byte.
 */
class FfmpegVideoTest {
    private static final int W = 16;
    private static final int H = 8;

    private final FfmpegMediaCodec codec = new FfmpegMediaCodec();

    @TempDir
    Path dir;

    @BeforeEach
    void needsCli() {
        assumeTrue(MediaFixtures.hasTool("ffmpeg"), "ffmpeg CLI not installed");
    }

    /** Raw RGB frames: frame i is a horizontal ramp offset by distinct per-frame channel values. */
    private Path rawFrames(int n) throws IOException {
        byte[] raw = new byte[n * W * H * 3];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < W * H; p++) {
                int o = (i * W * H + p) * 3;
                raw[o] = (byte) (i * 7 + p % W);
                raw[o + 1] = (byte) i;
                raw[o + 2] = (byte) (255 - i);
            }
        }
        return Files.write(dir.resolve("frames.rgb"), raw);
    }

    /** A lossless clip of n frames at rate, through an optional filter (for irregular timestamps). */
    private Path clip(int n, String rate, String filter) throws Exception {
        Path raw = rawFrames(n);
        Path out = dir.resolve("clip-" + rate.replace('/', '_') + ".mkv");
        if (filter == null) {
            MediaFixtures.run("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", W + "x" + H, "-r", rate, "-i", raw.toString(), "-c:v", "png", out.toString());
        } else {
            MediaFixtures.run("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", W + "x" + H, "-r", rate, "-i", raw.toString(), "-vf", filter, "-fps_mode", "passthrough",
                    "-c:v", "png", out.toString());
        }
        return out;
    }

    /** The frames of {@code ffmpeg -i clip -vf fps=25}, as raw RGB. */
    private static byte[][] reference(Path clip, int w, int h) throws Exception {
        byte[] all = MediaFixtures.run("ffmpeg", "-nostdin", "-loglevel", "error", "-i", clip.toString(), "-vf", "fps=25",
                "-f", "rawvideo", "-pix_fmt", "rgb24", "-");
        int size = w * h * 3;
        assertThat(all.length % size).isZero();
        byte[][] frames = new byte[all.length / size][];
        for (int i = 0; i < frames.length; i++) {
            frames[i] = Arrays.copyOfRange(all, i * size, (i + 1) * size);
        }
        return frames;
    }

    private static void assertSameFrames(VideoClip v, byte[][] ref) {
        assertThat(v.frameCount()).as("frame count").isEqualTo(ref.length);
        for (int i = 0; i < ref.length; i++) {
            assertThat(v.frames().get(i).toRgbArray()).as("frame %d", i).isEqualTo(ref[i]);
        }
    }

    @ParameterizedTest
    @CsvSource({"31, 30", "20, 24", "30, 25", "41, 50", "7, 12", "26, 30000/1001"})
    void constantRateMatchesTheFpsFilter(int n, String rate) throws Exception {
        Path c = clip(n, rate, null);
        VideoClip v = codec.readVideo(c, 25, 10_000);
        assertThat(v.width()).isEqualTo(W);
        assertThat(v.height()).isEqualTo(H);
        assertThat(v.fps()).isEqualTo(25);
        assertSameFrames(v, reference(c, W, H));
    }

    @Test
    void irregularTimestampsMatchTheFpsFilter() throws Exception {
        // frames 0..9 at 30 fps, then a 0.23 s gap, then a faster stretch
        Path c = clip(30, "30", "setpts='(N/30+gt(N,9)*0.23-gt(N,19)*(N-19)/90)/TB'");
        VideoClip v = codec.readVideo(c, 25, 10_000);
        byte[][] ref = reference(c, W, H);
        assertSameFrames(v, ref);
        // the gap really duplicated frames
        assertThat(v.frames().stream().distinct().count()).isLessThan(v.frameCount());
    }

    @Test
    void duplicatesShareOneImageAndMaxFramesStopsEarly() throws Exception {
        Path c = clip(20, "10", null); // 2.5 output frames per source frame
        byte[][] ref = reference(c, W, H);
        VideoClip all = codec.readVideo(c, 25, 10_000);
        assertSameFrames(all, ref);
        assertThat(all.frames().get(0)).isSameAs(all.frames().get(1));
        VideoClip first = codec.readVideo(c, 25, 7);
        assertThat(first.frameCount()).isEqualTo(7);
        for (int i = 0; i < 7; i++) {
            assertThat(first.frames().get(i).toRgbArray()).isEqualTo(ref[i]);
        }
    }

    @Test
    void theStreamDecodesOnDemandAndGivesTheSameFrames() throws Exception {
        Path c = clip(31, "30", null);
        byte[][] ref = reference(c, W, H);
        try (FfmpegVideoReader s = (FfmpegVideoReader) codec.readVideoStream(c, 25, 10_000)) {
            assertThat(s.width()).isEqualTo(W);
            assertThat(s.height()).isEqualTo(H);
            assertThat(s.fps()).isEqualTo(25);
            for (int i = 0; i < 5; i++) {
                assertThat(s.next().toRgbArray()).as("frame %d", i).isEqualTo(ref[i]);
            }
            // 5 frames at 25 fps span 0.2 s: 6 source frames at 30 fps, plus the one that ends the last
            assertThat(s.decodedFrames()).isLessThanOrEqualTo(7);
            int i = 5;
            for (RgbImage f = s.next(); f != null; f = s.next()) {
                assertThat(f.toRgbArray()).as("frame %d", i).isEqualTo(ref[i]);
                i++;
            }
            assertThat(i).isEqualTo(ref.length);
            assertThat(s.next()).isNull();
        }
        try (var s = codec.readVideoStream(c, 25, 3)) {
            assertThat(s.next()).isNotNull();
            assertThat(s.next()).isNotNull();
            assertThat(s.next()).isNotNull();
            assertThat(s.next()).as("maxFrames").isNull();
        }
        var closed = codec.readVideoStream(c, 25, 3);
        closed.close();
        assertThatThrownBy(closed::next).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void h264ClipKeepsItsSizeAndLength() throws Exception {
        Path c = dir.resolve("testsrc.mp4");
        MediaFixtures.run("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                "testsrc=size=64x48:rate=30:duration=1.2", "-c:v", "libx264", "-pix_fmt", "yuv420p", c.toString());
        VideoClip v = codec.readVideo(c, 25, 10_000);
        assertThat(v.width()).isEqualTo(64);
        assertThat(v.height()).isEqualTo(48);
        assertThat(v.frameCount()).isEqualTo(reference(c, 64, 48).length).isEqualTo(30);
        RgbImage f = v.frames().get(0);
        assertThat(f.width()).isEqualTo(64);
    }

    @Test
    void audioOnlyFileIsRejected() throws Exception {
        Path wav = MediaFixtures.writeWav(dir.resolve("a.wav"), 16000, false, MediaFixtures.sine(440, 0.5, 16000, 0.5));
        assertThatThrownBy(() -> codec.readVideo(wav, 25, 100))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("no video");
    }

    @Test
    void garbageIsRejected() throws Exception {
        Path junk = Files.write(dir.resolve("junk.mp4"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        assertThatThrownBy(() -> codec.readVideo(junk, 25, 100)).isInstanceOf(InvalidInputException.class);
        assertThatThrownBy(() -> codec.readVideo(dir.resolve("missing.mp4"), 25, 100))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("not found");
    }
}
