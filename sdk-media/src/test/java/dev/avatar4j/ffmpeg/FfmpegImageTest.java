package dev.avatar4j.ffmpeg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.MediaCodec;
import dev.avatar4j.media.RgbImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ServiceLoader;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FfmpegImageTest {
    private final FfmpegMediaCodec codec = new FfmpegMediaCodec();

    @TempDir
    Path dir;

    /** Four flat quadrants: red, green / blue, white — easy to check after lossy coding and rotation. */
    static BufferedImage quadrants(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                boolean right = x >= w / 2;
                boolean bottom = y >= h / 2;
                img.setRGB(x, y, !bottom ? (right ? 0x00FF00 : 0xFF0000) : (right ? 0xFFFFFF : 0x0000FF));
            }
        }
        return img;
    }

    @Test
    void registeredAsService() {
        assertThat(ServiceLoader.load(MediaCodec.class).stream().map(ServiceLoader.Provider::type))
                .contains(FfmpegMediaCodec.class);
        assertThat(codec.name()).isEqualTo("ffmpeg");
        assertThat(codec.rank()).isEqualTo(10);
        // the SDK's registry finds it and tries it before the JDK codec
        assertThat(dev.avatar4j.io.MediaRegistry.global().codecs().get(0)).isInstanceOf(FfmpegMediaCodec.class);
    }

    @Test
    void decodesPngExactly() throws Exception {
        BufferedImage src = new BufferedImage(37, 23, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 23; y++) {
            for (int x = 0; x < 37; x++) {
                src.setRGB(x, y, (x * 7) << 16 | (y * 11) << 8 | ((x + y) * 3));
            }
        }
        Path f = dir.resolve("a.png");
        ImageIO.write(src, "png", f.toFile());
        RgbImage img = codec.readImage(f);
        assertThat(img.width()).isEqualTo(37);
        assertThat(img.height()).isEqualTo(23);
        for (int y = 0; y < 23; y++) {
            for (int x = 0; x < 37; x++) {
                assertThat(img.rgb(x, y)).as("pixel %d,%d", x, y).isEqualTo(src.getRGB(x, y) & 0xFFFFFF);
            }
        }
    }

    @Test
    void decodesJpegWithinTolerance() throws Exception {
        Path f = dir.resolve("a.jpg");
        ImageIO.write(quadrants(64, 48), "jpg", f.toFile());
        RgbImage img = codec.readImage(f);
        assertThat(img.width()).isEqualTo(64);
        assertThat(img.height()).isEqualTo(48);
        assertColour(img, 16, 12, 0xFF0000, 24);
        assertColour(img, 48, 12, 0x00FF00, 24);
        assertColour(img, 16, 36, 0x0000FF, 24);
        assertColour(img, 48, 36, 0xFFFFFF, 24);
    }

    /**
     * Every EXIF orientation turns the picture upright. Colours of the upright picture's
     * quadrants: top-left, top-right, bottom-left, bottom-right (the source is red, green / blue,
     * white).
     */
    @ParameterizedTest(name = "EXIF orientation {0}")
    @CsvSource({
        "1, FF0000, 00FF00, 0000FF, FFFFFF",
        "2, 00FF00, FF0000, FFFFFF, 0000FF", // mirrored
        "3, FFFFFF, 0000FF, 00FF00, FF0000", // 180
        "4, 0000FF, FFFFFF, FF0000, 00FF00", // flipped
        "5, FF0000, 0000FF, 00FF00, FFFFFF", // transposed
        "6, 0000FF, FF0000, FFFFFF, 00FF00", // 90 clockwise
        "7, FFFFFF, 00FF00, 0000FF, FF0000", // transverse
        "8, 00FF00, FFFFFF, FF0000, 0000FF", // 90 counter-clockwise
    })
    void appliesExifOrientation(int orientation, String tl, String tr, String bl, String br) throws Exception {
        ByteArrayOutputStream jpg = new ByteArrayOutputStream();
        ImageIO.write(quadrants(64, 48), "jpg", jpg);
        Path f = dir.resolve("oriented" + orientation + ".jpg");
        Files.write(f, withExifOrientation(jpg.toByteArray(), orientation));
        RgbImage img = codec.readImage(f);
        boolean swapped = orientation >= 5;
        int w = swapped ? 48 : 64;
        int h = swapped ? 64 : 48;
        assertThat(img.width()).isEqualTo(w);
        assertThat(img.height()).isEqualTo(h);
        assertColour(img, w / 4, h / 4, Integer.parseInt(tl, 16), 24);
        assertColour(img, 3 * w / 4, h / 4, Integer.parseInt(tr, 16), 24);
        assertColour(img, w / 4, 3 * h / 4, Integer.parseInt(bl, 16), 24);
        assertColour(img, 3 * w / 4, 3 * h / 4, Integer.parseInt(br, 16), 24);
    }

    @Test
    void orientationFromDisplayMatrixMatchesFfmpegCli() {
        int one = 1 << 16;
        // the matrix FFmpeg's JPEG decoder exports for EXIF orientation 6, then 8
        assertThat(FfmpegImageReader.orientation(new int[] {0, one, 0, -one, 0, 0, 0, 0, 1 << 30}))
                .isEqualTo(FfmpegImageReader.Orientation.ROTATE_CW);
        assertThat(FfmpegImageReader.orientation(new int[] {0, -one, 0, one, 0, 0, 0, 0, 1 << 30}))
                .isEqualTo(FfmpegImageReader.Orientation.ROTATE_CCW);
        assertThat(FfmpegImageReader.orientation(new int[] {-one, 0, 0, 0, -one, 0, 0, 0, 1 << 30}))
                .isEqualTo(FfmpegImageReader.Orientation.ROTATE_180);
        assertThat(FfmpegImageReader.orientation(new int[] {one, 0, 0, 0, one, 0, 0, 0, 1 << 30}))
                .isEqualTo(FfmpegImageReader.Orientation.NONE);
    }

    @Test
    void truncatedPngIsInvalid() throws Exception {
        BufferedImage noise = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        java.util.Random r = new java.util.Random(1);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                noise.setRGB(x, y, r.nextInt());
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(noise, "png", png);
        byte[] all = png.toByteArray();
        Path f = dir.resolve("truncated.png");
        Files.write(f, java.util.Arrays.copyOf(all, all.length / 2));
        assertThatThrownBy(() -> codec.readImage(f))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(f.toString())
                .hasMessageNotContaining("\n");
    }

    @Test
    void emptyFileIsInvalid() throws Exception {
        Path f = Files.createFile(dir.resolve("empty.png"));
        assertThatThrownBy(() -> codec.readImage(f))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining("empty");
    }

    @Test
    void garbageIsInvalid() throws Exception {
        Path f = dir.resolve("garbage.png");
        Files.write(f, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13});
        assertThatThrownBy(() -> codec.readImage(f))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(f.toString());
    }

    @Test
    void missingFileIsInvalid() {
        Path f = dir.resolve("nope.png");
        assertThatThrownBy(() -> codec.readImage(f))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("not found");
    }

    @Test
    void hugeDeclaredSizeIsRefusedBeforeDecoding() throws Exception {
        Path f = MediaFixtures.pngHeaderOnly(dir.resolve("huge.png"), 20000, 20000);
        assertThatThrownBy(() -> codec.readImage(f))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining("20000x20000");
    }

    @Test
    void tooManyPixelsIsRefused() throws Exception {
        Path f = MediaFixtures.pngHeaderOnly(dir.resolve("wide.png"), 12000, 9000); // 108 Mpx
        assertThatThrownBy(() -> codec.readImage(f))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("12000x9000");
    }

    @Test
    void alphaIsDroppedAndGreyIsExpanded() throws Exception {
        BufferedImage argb = new BufferedImage(4, 4, BufferedImage.TYPE_INT_ARGB);
        argb.setRGB(1, 1, 0x80FF4020);
        Path a = dir.resolve("alpha.png");
        ImageIO.write(argb, "png", a.toFile());
        assertThat(codec.readImage(a).rgb(1, 1)).isEqualTo(0xFF4020);

        BufferedImage grey = new BufferedImage(4, 4, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSample(2, 3, 0, 77);
        Path g = dir.resolve("grey.png");
        ImageIO.write(grey, "png", g.toFile());
        assertThat(codec.readImage(g).rgb(2, 3)).isEqualTo(77 << 16 | 77 << 8 | 77);
    }

    @Test
    void unknownHeaderFallsBackToTheDecoderPixelLimit() throws Exception {
        // PPM is not sniffed: FFmpeg's max_pixels limit refuses it before allocating 324 MB
        Path f = dir.resolve("big.ppm");
        Files.writeString(f, "P6\n12000 9000\n255\n");
        assertThatThrownBy(() -> codec.readImage(f))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(f.toString());
    }

    @Test
    void audioIsNotAnImage() throws Exception {
        Path f = MediaFixtures.writeWav(dir.resolve("tone.wav"), 16000, false, MediaFixtures.sine(440, 0.5, 16000, 0.5));
        assertThatThrownBy(() -> codec.readImage(f))
                .isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(f + " is not an image");
    }

    @Test
    void probeReadsCommonHeaders() throws Exception {
        Path png = dir.resolve("p.png");
        ImageIO.write(quadrants(31, 17), "png", png.toFile());
        Path gif = dir.resolve("p.gif");
        ImageIO.write(quadrants(31, 17), "gif", gif.toFile());
        Path bmp = dir.resolve("p.bmp");
        ImageIO.write(quadrants(31, 17), "bmp", bmp.toFile());
        Path jpg = dir.resolve("p.jpg");
        ImageIO.write(quadrants(31, 17), "jpg", jpg.toFile());
        Path tif = dir.resolve("p.tif");
        ImageIO.write(quadrants(31, 17), "tiff", tif.toFile());
        for (Path p : new Path[] {png, gif, bmp, jpg, tif}) {
            assertThat(ImageHeaderProbe.probe(p)).as(p.toString()).isEqualTo(new ImageHeaderProbe.Size(31, 17));
            RgbImage img = codec.readImage(p);
            assertThat(img.width()).as(p.toString()).isEqualTo(31);
            assertColour(img, 4, 4, 0xFF0000, 40);
        }
        Path txt = Files.writeString(dir.resolve("x.bin"), "hello, this is not an image");
        assertThat(ImageHeaderProbe.probe(txt)).isNull();
    }

    @Test
    void webpThroughTheCli() throws Exception {
        assumeTrue(MediaFixtures.hasTool("ffmpeg"), "ffmpeg CLI not installed");
        Path png = dir.resolve("q.png");
        ImageIO.write(quadrants(40, 30), "png", png.toFile());
        Path webp = dir.resolve("q.webp");
        try {
            MediaFixtures.run("ffmpeg", "-v", "error", "-y", "-i", png.toString(), "-c:v", "libwebp", "-lossless", "1",
                    webp.toString());
        } catch (IOException e) {
            assumeTrue(false, "this ffmpeg CLI has no libwebp encoder");
        }
        assertThat(ImageHeaderProbe.probe(webp)).isEqualTo(new ImageHeaderProbe.Size(40, 30));
        RgbImage img = codec.readImage(webp);
        assertThat(img.width()).isEqualTo(40);
        assertColour(img, 30, 5, 0x00FF00, 8);
    }

    static void assertColour(RgbImage img, int x, int y, int expected, int tolerance) {
        for (int c = 0; c < 3; c++) {
            int want = expected >> (16 - 8 * c) & 0xFF;
            assertThat(img.channel(x, y, c)).as("channel %d of pixel %d,%d (0x%06x)", c, x, y, img.rgb(x, y))
                    .isBetween(want - tolerance, want + tolerance);
        }
    }

    /** Inserts an APP1 Exif segment with the given orientation right after the SOI marker. */
    static byte[] withExifOrientation(byte[] jpeg, int orientation) {
        ByteBuffer tiff = ByteBuffer.allocate(8 + 2 + 12 + 4).order(ByteOrder.LITTLE_ENDIAN);
        tiff.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8);
        tiff.putShort((short) 1).putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation)
                .putShort((short) 0);
        tiff.putInt(0);
        byte[] exif = new byte[6 + tiff.capacity()];
        System.arraycopy("Exif\0\0".getBytes(), 0, exif, 0, 6);
        System.arraycopy(tiff.array(), 0, exif, 6, tiff.capacity());
        ByteBuffer out = ByteBuffer.allocate(jpeg.length + 4 + exif.length).order(ByteOrder.BIG_ENDIAN);
        out.put(jpeg, 0, 2).put((byte) 0xFF).put((byte) 0xE1).putShort((short) (exif.length + 2)).put(exif)
                .put(jpeg, 2, jpeg.length - 2);
        return out.array();
    }
}
