package dev.avatar4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.testing.TestMedia;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The older single-graph stableavatar layout, which the SDK still reads (docs/BUNDLE-FORMAT.md): a
 * whole-clip {@code vae-encoder}, one {@code vae-decoder} with a {@code first} input and zero initial
 * caches, and a {@code utf8-bytes} text encoder for custom prompts. {@code models/stableavatar-tiny} is
 * a real-architecture export with the streamed layout, so this path runs on the toy fixture
 * {@code src/test/bundles/stableavatar-legacy-layout} ({@code tools/make_tiny_stableavatar.py}), whose
 * hand-set identity path makes the video resemble the portrait.
 */
class LegacyLayoutRenderTest {
    private static final Path BUNDLE = Path.of("src", "test", "bundles", "stableavatar-legacy-layout");
    private static final Path PORTRAIT = Path.of("..", "examples", "media", "portrait.png");
    private static final int RATE = 16000;
    private static final int SIZE = 64;

    private static AvatarModel model;
    private static RgbImage portrait;
    private static float[] speech;

    @BeforeAll
    static void load() {
        Assumptions.assumeTrue(Files.exists(BUNDLE.resolve("dit.onnx")), "legacy-layout fixture absent");
        model = AvatarModel.builder(BUNDLE).backend("onnx").load();
        portrait = MediaRegistry.global().readImage(PORTRAIT);
        speech = TestMedia.speechLike(2.0, RATE);
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    private static List<byte[]> render(String prompt) {
        List<byte[]> out = new ArrayList<>();
        Avatar a = Avatar.from(portrait).speak(speech, RATE).size(SIZE, SIZE).steps(2).seed(5).model(model)
                .onFrame(f -> out.add(f.image().toRgbArray()));
        (prompt == null ? a : a.prompt(prompt)).render(new TestMedia.RecordingSink());
        return out;
    }

    @Test
    void theSingleGraphDecoderRendersEveryFrameAndTheVideoResemblesThePortrait() {
        List<byte[]> frames = render(null);
        assertThat(frames).hasSize(49); // 2.0 s: T = 13 latents -> 1 + 12 x 4 frames (first = 1, then 4 each)
        byte[] ref = scaled(portrait, SIZE);
        byte[] flipped = upsideDown(ref, SIZE); // the portrait's colours without its layout
        for (int f : new int[] {0, 1, 4, 24, 48}) {
            double mad = meanAbsDiff(frames.get(f), ref);
            double other = meanAbsDiff(frames.get(f), flipped);
            assertThat(mad).as("frame %d: mean |pixel - portrait| (the identity path) vs the upside-down portrait", f)
                    .isLessThan(0.7 * other);
        }
    }

    @Test
    void aCustomPromptRunsTheUtf8BytesTextEncoder() {
        List<byte[]> builtIn = render(null);
        List<byte[]> custom = render("a person talking");
        assertThat(custom).hasSameSizeAs(builtIn);
        double d = 0;
        for (int f = 0; f < builtIn.size(); f++) {
            d = Math.max(d, meanAbsDiff(custom.get(f), builtIn.get(f)));
        }
        assertThat(d).as("the prompt reaches the DiT").isGreaterThan(0);
    }

    /** The (square) portrait scaled to size x size, bilinear. */
    private static byte[] scaled(RgbImage image, int size) {
        assertThat(image.width()).as("square portrait").isEqualTo(image.height());
        BufferedImage dst = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = dst.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.drawImage(image.toBufferedImage(), 0, 0, size, size, null);
        g.dispose();
        return RgbImage.fromBufferedImage(dst).toRgbArray();
    }

    private static byte[] upsideDown(byte[] rgb, int size) {
        byte[] out = new byte[rgb.length];
        int row = 3 * size;
        for (int y = 0; y < size; y++) {
            System.arraycopy(rgb, y * row, out, (size - 1 - y) * row, row);
        }
        return out;
    }

    private static double meanAbsDiff(byte[] a, byte[] b) {
        assertThat(a).hasSameSizeAs(b);
        long s = 0;
        for (int i = 0; i < a.length; i++) {
            s += Math.abs((a[i] & 0xff) - (b[i] & 0xff));
        }
        return (double) s / a.length;
    }
}
