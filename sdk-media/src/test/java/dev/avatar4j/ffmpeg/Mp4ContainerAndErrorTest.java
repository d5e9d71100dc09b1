package dev.avatar4j.ffmpeg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.Frame;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoClip;
import dev.avatar4j.media.VideoSpec;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/** The container follows the extension; a full disk says so; a huge image is decoded scaled down. */
class Mp4ContainerAndErrorTest {
    @TempDir
    Path dir;

    @AfterEach
    void reset() {
        Mp4FrameSink.writeToForTest = null;
    }

    private static void write(FrameSink sink, int w, int h, int frames) {
        for (int k = 0; k < frames; k++) {
            byte[] rgb = new byte[w * h * 3];
            for (int i = 0; i < rgb.length; i++) {
                rgb[i] = (byte) (i * 7 + k * 13);
            }
            sink.accept(new Frame(k, 25, RgbImage.of(w, h, rgb)));
        }
    }

    private static VideoSpec spec(int w, int h) {
        return new VideoSpec(w, h, 25, new AudioClip(MediaFixtures.sine(440, 0.3, 16_000, 1.0), 16_000), null);
    }

    private static String magic(Path p) throws IOException {
        byte[] b = Files.readAllBytes(p);
        return new String(b, 0, Math.min(12, b.length), java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    @Test
    void webmIsWebmWithVp9AndOpus() throws Exception {
        Path out = dir.resolve("x.webm");
        FrameSink sink = new FfmpegMediaCodec().openVideoWriter(out, spec(64, 48));
        write(sink, 64, 48, 10);
        sink.complete();
        byte[] head = Files.readAllBytes(out);
        assertThat(head[0] & 0xFF).as("EBML magic").isEqualTo(0x1A);
        assertThat(new String(head, 0, 64, java.nio.charset.StandardCharsets.ISO_8859_1)).contains("webm");
        try (AvInput in = AvInput.open(out, true, "video")) {
            String codecs = "";
            for (int i = 0; i < in.format().nb_streams(); i++) {
                codecs += org.bytedeco.ffmpeg.global.avcodec.avcodec_get_name(
                        in.format().streams(i).codecpar().codec_id()).getString() + " ";
            }
            assertThat(codecs).contains("vp9").contains("opus");
        }
        VideoClip v = new FfmpegMediaCodec().readVideo(out, 25, 100);
        assertThat(v.frameCount()).isEqualTo(10);
        assertThat(new FfmpegMediaCodec().readAudio(out, 16_000).length()).isGreaterThan(14_400);
    }

    @Test
    void movIsQuickTime() throws Exception {
        Path out = dir.resolve("x.mov");
        FrameSink sink = new FfmpegMediaCodec().openVideoWriter(out, spec(32, 32));
        write(sink, 32, 32, 5);
        sink.complete();
        assertThat(magic(out).substring(4, 8)).isEqualTo("ftyp");
        assertThat(magic(out).substring(8, 10)).isEqualTo("qt");
    }

    @Test
    void anUnknownExtensionIsRefusedNamingTheSupportedOnes() {
        assertThatThrownBy(() -> new FfmpegMediaCodec().openVideoWriter(dir.resolve("x.avi"), spec(32, 32)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining(".avi")
                .hasMessageContaining(".mp4").hasMessageContaining(".webm");
        assertThat(dir.toFile().list()).isEmpty();
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void aFullDiskSaysNoSpaceLeftAndWhichFile() throws Exception {
        Mp4FrameSink.writeToForTest = Path.of("/dev/full");
        Path out = dir.resolve("full.mp4");
        assertThatThrownBy(() -> {
            FrameSink sink = new FfmpegMediaCodec().openVideoWriter(out, spec(320, 240));
            write(sink, 320, 240, 50);
            sink.complete();
        }).isInstanceOf(UncheckedIOException.class).hasMessageContaining("no space left on device")
                .hasMessageContaining(dir.toString()).hasMessageNotContaining("error -28");
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.toList()).as("no partial file").isEmpty();
        }
    }

    @Test
    void aHugeImageIsDecodedScaledDownNatively() throws Exception {
        // 9000 x 9000 pixels that compress to little: a few flat areas
        BufferedImage img = new BufferedImage(9000, 9000, BufferedImage.TYPE_INT_RGB);
        java.awt.Graphics2D g = img.createGraphics();
        g.setColor(java.awt.Color.BLUE);
        g.fillRect(0, 0, 9000, 9000);
        g.setColor(java.awt.Color.YELLOW);
        g.fillRect(0, 0, 4500, 4500);
        g.dispose();
        Path png = dir.resolve("huge.png");
        ImageIO.write(img, "png", png.toFile());
        img = null;
        RgbImage decoded = new FfmpegMediaCodec().readImage(png);
        assertThat((long) decoded.width() * decoded.height()).isLessThanOrEqualTo(FfmpegImageReader.MAX_DECODED_PIXELS);
        assertThat(decoded.width()).isEqualTo(decoded.height()).isGreaterThanOrEqualTo(4000);
        // the content is kept: yellow top-left quarter, blue elsewhere
        int q = decoded.width() / 4;
        assertThat(decoded.channel(q, q, 0)).isGreaterThan(200);
        assertThat(decoded.channel(3 * q, 3 * q, 2)).isGreaterThan(200);
        assertThat(decoded.channel(3 * q, 3 * q, 0)).isLessThan(50);
    }

    @Test
    void boundedSizeKeepsSmallPicturesAndTheAspectOfLargeOnes() {
        assertThat(FfmpegImageReader.boundedSize(4032, 3024, FfmpegImageReader.MAX_DECODED_PIXELS))
                .containsExactly(4032, 3024);
        int[] s = FfmpegImageReader.boundedSize(16000, 4000, FfmpegImageReader.MAX_DECODED_PIXELS);
        assertThat((long) s[0] * s[1]).isLessThanOrEqualTo(FfmpegImageReader.MAX_DECODED_PIXELS);
        assertThat(s[0] / (double) s[1]).isCloseTo(4.0, org.assertj.core.data.Offset.offset(0.01));
    }
}
