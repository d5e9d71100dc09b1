package dev.avatar4j.ffmpeg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.Frame;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Mp4FrameSinkTest {
    private static final int W = 64;
    private static final int H = 48;
    private static final int FPS = 25;

    private final FfmpegMediaCodec codec = new FfmpegMediaCodec();

    @TempDir
    Path dir;

    /** Frame {@code i}: a flat colour that changes every frame. */
    static int colour(int i) {
        return (i * 5) << 16 | 128 << 8 | (255 - i * 5);
    }

    static Frame frame(int i, int w, int h, int rgb) {
        byte[] px = new byte[w * h * 3];
        for (int p = 0; p < w * h; p++) {
            px[p * 3] = (byte) (rgb >> 16);
            px[p * 3 + 1] = (byte) (rgb >> 8);
            px[p * 3 + 2] = (byte) rgb;
        }
        return new Frame(i, FPS, RgbImage.of(w, h, px));
    }

    static VideoSpec spec(double audioSeconds, Path audioFile) {
        return new VideoSpec(W, H, FPS, new AudioClip(MediaFixtures.sine(440, 0.3, 16000, audioSeconds), 16000),
                audioFile);
    }

    private void write(Path out, VideoSpec spec, int frames) {
        try (FrameSink sink = codec.openVideoWriter(out, spec)) {
            for (int i = 0; i < frames; i++) {
                sink.accept(frame(i, spec.width(), spec.height(), colour(i)));
            }
            sink.complete();
        } catch (dev.avatar4j.media.UnsupportedMediaException e) {
            throw new AssertionError(e);
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> ffprobe(Path f) throws Exception {
        assumeTrue(MediaFixtures.hasTool("ffprobe"), "ffprobe not installed");
        byte[] json = MediaFixtures.run("ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format",
                "-of", "json", f.toString());
        return JSON.std.mapFrom(new String(json, StandardCharsets.UTF_8));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> stream(Map<String, Object> probe, String type) {
        return ((List<Map<String, Object>>) probe.get("streams")).stream()
                .filter(s -> type.equals(s.get("codec_type"))).findFirst().orElseThrow();
    }

    static double number(Map<String, Object> m, String key) {
        return Double.parseDouble(String.valueOf(m.get(key)));
    }

    @Test
    void writesH264AacWithExactTimestamps() throws Exception {
        Path out = dir.resolve("out.mp4");
        write(out, spec(2.0, null), 50);
        assertThat(out).exists();
        assertThat(leftovers()).isEmpty();

        // the first frame decodes to its colour (FFmpeg decode through this codec; no CLI needed)
        RgbImage first = codec.readImage(out);
        assertThat(first.width()).isEqualTo(W);
        FfmpegImageTest.assertColour(first, W / 2, H / 2, colour(0), 6);

        Map<String, Object> probe = ffprobe(out);
        Map<String, Object> v = stream(probe, "video");
        Map<String, Object> a = stream(probe, "audio");
        assertThat(v.get("codec_name")).isEqualTo("h264");
        assertThat(v.get("pix_fmt")).isEqualTo("yuv420p");
        assertThat(v.get("avg_frame_rate")).isEqualTo("25/1");
        assertThat(v.get("r_frame_rate")).isEqualTo("25/1");
        assertThat(number(v, "width")).isEqualTo(W);
        assertThat(number(v, "height")).isEqualTo(H);
        assertThat(number(v, "nb_frames")).isEqualTo(50);
        assertThat(number(v, "nb_read_frames")).isEqualTo(50);
        assertThat(number(v, "duration")).isCloseTo(2.0, within(0.1));
        assertThat(a.get("codec_name")).isEqualTo("aac");
        assertThat(number(a, "sample_rate")).isEqualTo(16000);
        assertThat(number(a, "channels")).isEqualTo(1);
        assertThat(number(a, "duration")).isCloseTo(2.0, within(0.1));
        @SuppressWarnings("unchecked")
        Map<String, Object> format = (Map<String, Object>) probe.get("format");
        assertThat(number(format, "duration")).isCloseTo(2.0, within(0.1));
    }

    @Test
    void frameTimestampsAreIndexOverFps() throws Exception {
        Path out = dir.resolve("ts.mp4");
        write(out, spec(0.5, null), 10);
        assumeTrue(MediaFixtures.hasTool("ffprobe"), "ffprobe not installed");
        String csv = new String(MediaFixtures.run("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                "packet=pts_time", "-of", "csv=p=0", out.toString()), StandardCharsets.UTF_8);
        List<Double> pts = csv.lines().filter(l -> !l.isBlank()).map(Double::parseDouble).sorted().toList();
        assertThat(pts).hasSize(10);
        for (int i = 0; i < pts.size(); i++) {
            assertThat(pts.get(i)).isCloseTo(i / (double) FPS, within(1e-6));
        }
    }

    @Test
    void audioIsWrittenInFullEvenWhenLongerThanTheVideo() throws Exception {
        Path out = dir.resolve("long-audio.mp4");
        write(out, spec(3.0, null), 25); // 1 s of video, 3 s of audio
        Map<String, Object> probe = ffprobe(out);
        assertThat(number(stream(probe, "audio"), "duration")).isCloseTo(3.0, within(0.1));
        assertThat(number(stream(probe, "video"), "duration")).isCloseTo(1.0, within(0.1));
    }

    @Test
    void muxesTheOriginalAudioFileAtItsOwnRate() throws Exception {
        float[] sine = MediaFixtures.sine(1000, 0.5, 44100, 2.0);
        Path wav = MediaFixtures.writeWav(dir.resolve("voice.wav"), 44100, false, sine, sine);
        Path out = dir.resolve("with-file.mp4");
        write(out, spec(2.0, wav), 50);
        Map<String, Object> a = stream(ffprobe(out), "audio");
        assertThat(a.get("codec_name")).isEqualTo("aac");
        assertThat(number(a, "sample_rate")).isEqualTo(44100);
        assertThat(number(a, "channels")).isEqualTo(2);
        assertThat(number(a, "duration")).isCloseTo(2.0, within(0.1));
        // and the muxed audio is the file's tone
        AudioClip back = codec.readAudio(out, 16000);
        int from = back.length() / 10;
        int to = back.length() - from;
        assertThat(MediaFixtures.zeroCrossingFrequency(back.samples(), 16000, from, to)).isCloseTo(1000, within(3.0));
    }

    /**
     * A streamed track (the mix of several speakers) is read chunk by chunk, in full and closed;
     * the sink never asks for more than a chunk at a time.
     */
    @Test
    void muxesAStreamedTrackChunkByChunk() throws Exception {
        float[] tone = MediaFixtures.sine(700, 0.4, 16000, 2.5);
        int[] largest = {0};
        boolean[] closed = {false};
        java.util.function.Supplier<dev.avatar4j.media.AudioStream> opener = () -> {
            dev.avatar4j.media.AudioStream inner = dev.avatar4j.media.AudioStream.of(new AudioClip(tone, 16000));
            return new dev.avatar4j.media.AudioStream() {
                @Override
                public int read(float[] dst, int off, int len) {
                    largest[0] = Math.max(largest[0], len);
                    return inner.read(dst, off, len);
                }

                @Override
                public void close() {
                    closed[0] = true;
                }
            };
        };
        Path out = dir.resolve("streamed.mp4");
        write(out, new VideoSpec(W, H, FPS, new AudioClip(new float[0], 16000), null, opener), 25);
        Map<String, Object> a = stream(ffprobe(out), "audio");
        assertThat(number(a, "sample_rate")).isEqualTo(16000);
        assertThat(number(a, "duration")).isCloseTo(2.5, within(0.1));
        assertThat(closed[0]).isTrue();
        assertThat(largest[0]).isLessThanOrEqualTo(4096);
        AudioClip back = codec.readAudio(out, 16000);
        int from = back.length() / 10;
        assertThat(MediaFixtures.zeroCrossingFrequency(back.samples(), 16000, from, back.length() - from))
                .isCloseTo(700, within(3.0));
    }

    @Test
    void undecodableAudioFileFallsBackToTheClip() throws Exception {
        Path bogus = Files.write(dir.resolve("bogus.mp3"), new byte[] {1, 2, 3});
        Path out = dir.resolve("fallback.mp4");
        write(out, spec(2.0, bogus), 50);
        Map<String, Object> a = stream(ffprobe(out), "audio");
        assertThat(number(a, "sample_rate")).isEqualTo(16000);
        assertThat(number(a, "duration")).isCloseTo(2.0, within(0.1));
    }

    @Test
    void abortLeavesNothingBehind() throws Exception {
        Path out = dir.resolve("aborted.mp4");
        FrameSink sink = codec.openVideoWriter(out, spec(2.0, null));
        for (int i = 0; i < 10; i++) {
            sink.accept(frame(i, W, H, colour(i)));
        }
        sink.abort();
        sink.abort(); // idempotent
        assertThat(out).doesNotExist();
        assertThat(leftovers()).isEmpty();
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void closeWithoutCompleteAborts() throws Exception {
        Path out = dir.resolve("closed.mp4");
        try (FrameSink sink = codec.openVideoWriter(out, spec(1.0, null))) {
            sink.accept(frame(0, W, H, colour(0)));
        }
        assertThat(out).doesNotExist();
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void completeReplacesAnExistingFile() throws Exception {
        Path out = dir.resolve("replace.mp4");
        Files.writeString(out, "old content");
        FrameSink sink = codec.openVideoWriter(out, spec(1.0, null));
        sink.accept(frame(0, W, H, colour(0)));
        assertThat(Files.readString(out)).isEqualTo("old content"); // untouched until complete()
        for (int i = 1; i < 25; i++) {
            sink.accept(frame(i, W, H, colour(i)));
        }
        sink.complete();
        sink.close(); // no-op after complete
        assertThat(out).exists();
        assertThat(Files.size(out)).isGreaterThan(100);
        assertThat(Files.readAllBytes(out)).isNotEqualTo("old content".getBytes(StandardCharsets.UTF_8));
        assertThat(new String(Files.readAllBytes(out), 4, 4, StandardCharsets.ISO_8859_1)).isEqualTo("ftyp");
        assertThat(leftovers()).isEmpty();
    }

    @Test
    void missingDirectoryIsInvalidAndCreatesNothing() {
        Path out = dir.resolve("no/such/dir/out.mp4");
        assertThatThrownBy(() -> codec.openVideoWriter(out, spec(1.0, null)))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(out.toString());
        assertThat(dir.resolve("no")).doesNotExist();
    }

    @Test
    void unwritableDirectoryIsInvalid() throws Exception {
        Path ro = Files.createDirectory(dir.resolve("ro"));
        assumeTrue(ro.toFile().setWritable(false, false) && !Files.isWritable(ro), "cannot make a read-only dir (root?)");
        try {
            Path out = ro.resolve("out.mp4");
            assertThatThrownBy(() -> codec.openVideoWriter(out, spec(1.0, null)))
                    .isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining(out.toString());
        } finally {
            ro.toFile().setWritable(true, false);
        }
        try (Stream<Path> files = Files.list(ro)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void wrongFrameSizeIsRejected() throws Exception {
        Path out = dir.resolve("size.mp4");
        try (FrameSink sink = codec.openVideoWriter(out, spec(1.0, null))) {
            assertThatThrownBy(() -> sink.accept(frame(0, W + 2, H, 0)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("66x48");
            // the sink is still usable after a rejected frame
            assertThatCode(() -> sink.accept(frame(0, W, H, 0))).doesNotThrowAnyException();
        }
        assertThat(out).doesNotExist();
    }

    @Test
    void oddDimensionsAreEncoded() throws Exception {
        Path out = dir.resolve("odd.mp4");
        VideoSpec spec = new VideoSpec(33, 21, FPS, new AudioClip(new float[1600], 16000), null);
        write(out, spec, 5);
        Map<String, Object> v = stream(ffprobe(out), "video");
        assertThat(number(v, "nb_frames")).isEqualTo(5);
    }

    private List<Path> leftovers() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".part")).toList();
        }
    }
}
