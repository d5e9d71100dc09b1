package dev.avatar4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's first command with the {@code preview} model (named explicitly: other tests in this
 * JVM configure the shared default model), and its "no face" error.
 */
class PreviewCliTest {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path PREVIEW = REPO.resolve("models/preview");

    @Test
    void generatesAnMp4FromThePortraitAndTheSpeech(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("hello.mp4");
        Avatar4jCliTest.Result r = Avatar4jCliTest.cli("generate", "--image",
                REPO.resolve("examples/media/portrait.png").toString(), "--audio",
                REPO.resolve("examples/media/hello.wav").toString(), "--out", out.toString(), "--model",
                PREVIEW.toString(), "--seed", "1", "-q");
        assertThat(r.code()).as("exit code; err: %s", r.err()).isZero();
        assertThat(Files.size(out)).isGreaterThan(10_000);
    }

    @Test
    void anImageWithoutAFaceExitsWithCode2AndSaysWhatWasTried(@TempDir Path tmp) throws Exception {
        // a smooth gradient: nothing face-like anywhere
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(256, 256,
                java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 256; y++) {
            for (int x = 0; x < 256; x++) {
                img.setRGB(x, y, (x << 16) | (y << 8) | 96);
            }
        }
        Path png = tmp.resolve("gradient.png");
        javax.imageio.ImageIO.write(img, "png", png.toFile());
        Avatar4jCliTest.Result r = Avatar4jCliTest.cli("generate", "--image", png.toString(), "--audio",
                REPO.resolve("examples/media/hello.wav").toString(), "--out", tmp.resolve("x.mp4").toString(),
                "--model", PREVIEW.toString(), "-q");
        assertThat(r.code()).as("exit code; err: %s", r.err()).isEqualTo(2);
        assertThat(r.err()).contains("no face found", "BlazeFace", "best face score");
        assertThat(tmp.resolve("x.mp4")).doesNotExist();
    }
}
