package dev.avatar4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Media through a {@link MediaRegistry} holding only the built-in {@link JdkMediaCodec}. */
class JdkMediaCodecTest {
    static final int RATE = 16000;

    @TempDir
    Path tmp;

    final MediaRegistry media = new MediaRegistry(List.of(new JdkMediaCodec()));

    @Test
    void theRegistryOnlyHasTheJdkCodec() {
        assertThat(media.codecs()).extracting(c -> c.name()).containsExactly("jdk");
        assertThat(new MediaRegistry(List.of()).codecs()).as("the JDK codec is only added by global()").isEmpty();
    }

    // ---------------------------------------------------------------- images

    private static BufferedImage noise(int w, int h, long seed) {
        Random r = new Random(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, r.nextInt(1 << 24));
            }
        }
        return img;
    }

    private static BufferedImage smooth(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int r = x * 255 / (w - 1);
                int g = y * 255 / (h - 1);
                int b = 128;
                img.setRGB(x, y, r << 16 | g << 8 | b);
            }
        }
        return img;
    }

    @Test
    void pngReadsBackExactly() throws IOException {
        BufferedImage img = noise(37, 23, 1);
        Path f = tmp.resolve("face.png");
        assertThat(ImageIO.write(img, "png", f.toFile())).isTrue();
        RgbImage read = media.readImage(f);
        assertThat(read.width()).isEqualTo(37);
        assertThat(read.height()).isEqualTo(23);
        for (int y = 0; y < 23; y++) {
            for (int x = 0; x < 37; x++) {
                assertThat(read.rgb(x, y)).as("(%d,%d)", x, y).isEqualTo(img.getRGB(x, y) & 0xffffff);
            }
        }
    }

    @Test
    void pngWithAlphaDropsTheAlpha() throws IOException {
        BufferedImage img = new BufferedImage(4, 3, BufferedImage.TYPE_INT_ARGB);
        img.setRGB(1, 1, 0x80123456);
        img.setRGB(2, 2, 0xff00ff00);
        Path f = tmp.resolve("alpha.png");
        ImageIO.write(img, "png", f.toFile());
        RgbImage read = media.readImage(f);
        assertThat(read.rgb(1, 1)).isEqualTo(0x123456);
        assertThat(read.rgb(2, 2)).isEqualTo(0x00ff00);
    }

    @Test
    void jpegReadsBackWithinTolerance() throws IOException {
        BufferedImage img = smooth(64, 48);
        Path f = tmp.resolve("face.jpg");
        assertThat(ImageIO.write(img, "jpeg", f.toFile())).isTrue();
        RgbImage read = media.readImage(f);
        assertThat(read.width()).isEqualTo(64);
        assertThat(read.height()).isEqualTo(48);
        long sumErr = 0;
        int maxErr = 0;
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 64; x++) {
                int want = img.getRGB(x, y);
                for (int c = 0; c < 3; c++) {
                    int e = Math.abs(read.channel(x, y, c) - ((want >> (16 - 8 * c)) & 0xff));
                    sumErr += e;
                    maxErr = Math.max(maxErr, e);
                }
            }
        }
        assertThat((double) sumErr / (64 * 48 * 3)).isLessThan(3.0);
        assertThat(maxErr).isLessThanOrEqualTo(24);
    }

    @Test
    void truncatedPngIsInvalidInput() throws IOException {
        Path good = tmp.resolve("good.png");
        ImageIO.write(noise(40, 40, 2), "png", good.toFile());
        byte[] bytes = Files.readAllBytes(good);
        for (int keep : new int[] {bytes.length / 2, 40, 12}) {
            Path f = Files.write(tmp.resolve("cut" + keep + ".png"), Arrays.copyOf(bytes, keep));
            assertThatThrownBy(() -> media.readImage(f)).as("%d bytes", keep).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining(f.toString());
        }
    }

    @Test
    void randomBytesAreInvalidInput() throws IOException {
        byte[] junk = new byte[4096];
        new Random(3).nextBytes(junk);
        junk[0] = (byte) 0x7f; // not a WBMP type-0 header
        Path f = Files.write(tmp.resolve("face.png"), junk);
        assertThatThrownBy(() -> media.readImage(f)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("unsupported format")
                .hasMessageContaining("sdk-media");
    }

    /** A PNG of only a signature, an IHDR (valid CRC) and IEND: no pixel data at all. */
    static byte[] pngHeaderOnly(int w, int h) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(out);
        d.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0)
                .put((byte) 0).put((byte) 0);
        chunk(d, "IHDR", ihdr.array());
        chunk(d, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(DataOutputStream d, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        d.writeInt(data.length);
        d.write(t);
        d.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        d.writeInt((int) crc.getValue());
    }

    @Test
    void decompressionBombIsRefusedFromTheHeader() throws IOException {
        for (int[] size : new int[][] {{20000, 20000}, {16385, 16}, {10001, 10000}}) {
            Path f = Files.write(tmp.resolve("bomb.png"), pngHeaderOnly(size[0], size[1]));
            long start = System.nanoTime();
            assertThatThrownBy(() -> media.readImage(f)).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining(size[0] + "x" + size[1]).hasMessageContaining("too large")
                    .hasMessageContaining(f.toString());
            assertThat((System.nanoTime() - start) / 1e9).as("refused before decoding").isLessThan(1.0);
        }
    }

    @Test
    void imagePathProblemsNameThePath() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("images"));
        assertThatThrownBy(() -> media.readImage(dir)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("directory").hasMessageContaining(dir.toString());
        Path missing = tmp.resolve("missing.png");
        assertThatThrownBy(() -> media.readImage(missing)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("not found").hasMessageContaining(missing.toString());
        Path empty = Files.createFile(tmp.resolve("empty.png"));
        assertThatThrownBy(() -> media.readImage(empty)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("empty").hasMessageContaining(empty.toString());
        assertThatThrownBy(() -> media.readImage(null)).isInstanceOf(InvalidInputException.class);
    }

    // ---------------------------------------------------------------- audio

    /** Little-endian RIFF/WAVE; format tag 1 (PCM) or 3 (IEEE float). */
    static byte[] wav(int formatTag, int channels, int rate, int bits, byte[] data) {
        int blockAlign = channels * bits / 8;
        ByteBuffer b = ByteBuffer.allocate(44 + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + data.length).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(16).putShort((short) formatTag).putShort((short) channels).putInt(rate)
                .putInt(rate * blockAlign).putShort((short) blockAlign).putShort((short) bits);
        b.put("data".getBytes()).putInt(data.length).put(data);
        return b.array();
    }

    /** Interleaved samples of a 440 Hz sine: channel c has amplitude {@code amps[c]}. */
    static double[][] sine(int rate, int frames, double... amps) {
        double[][] s = new double[frames][amps.length];
        for (int i = 0; i < frames; i++) {
            double v = Math.sin(2 * Math.PI * 440 * i / rate);
            for (int c = 0; c < amps.length; c++) {
                s[i][c] = amps[c] * v;
            }
        }
        return s;
    }

    static byte[] encode(double[][] s, int bits, boolean floating) {
        ByteBuffer b = ByteBuffer.allocate(s.length * s[0].length * bits / 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double[] frame : s) {
            for (double v : frame) {
                if (floating) {
                    b.putFloat((float) v);
                } else if (bits == 8) {
                    b.put((byte) (Math.round(v * 127) + 128));
                } else if (bits == 16) {
                    b.putShort((short) Math.round(v * 32767));
                } else if (bits == 24) {
                    int q = (int) Math.round(v * 8388607);
                    b.put((byte) q).put((byte) (q >> 8)).put((byte) (q >> 16));
                } else {
                    b.putInt((int) Math.round(v * 2147483647.0));
                }
            }
        }
        return b.array();
    }

    static double rms(float[] s, int from, int to) {
        double acc = 0;
        for (int i = from; i < to; i++) {
            acc += s[i] * s[i];
        }
        return Math.sqrt(acc / (to - from));
    }

    private void assertDecoded(Path f, int rate, int frames, double amplitude) {
        AudioClip clip = media.readAudio(f, RATE);
        assertThat(clip.sampleRate()).isEqualTo(RATE);
        long expected = Math.round((double) frames * RATE / rate);
        assertThat((long) clip.length()).isBetween(expected - 1, expected + 1);
        float[] s = clip.samples();
        assertThat(rms(s, 200, s.length - 200)).as("level").isCloseTo(amplitude / Math.sqrt(2), within(0.01 * amplitude));
    }

    @Test
    void pcm16StereoAt44100IsDownmixedAndResampled() throws IOException {
        int frames = 44100 / 2 + 7;
        // left 0.6, right 0.2 (same phase) → mono 0.4
        Path f = Files.write(tmp.resolve("s16.wav"), wav(1, 2, 44100, 16, encode(sine(44100, frames, 0.6, 0.2), 16, false)));
        assertDecoded(f, 44100, frames, 0.4);
    }

    @Test
    void pcm8UnsignedMono() throws IOException {
        int frames = 8000;
        Path f = Files.write(tmp.resolve("u8.wav"), wav(1, 1, 22050, 8, encode(sine(22050, frames, 0.5), 8, false)));
        assertDecoded(f, 22050, frames, 0.5);
    }

    @Test
    void pcm24Mono() throws IOException {
        int frames = 24000;
        Path f = Files.write(tmp.resolve("s24.wav"), wav(1, 1, 48000, 24, encode(sine(48000, frames, -0.7), 24, false)));
        assertDecoded(f, 48000, frames, 0.7);
    }

    @Test
    void pcm32Stereo() throws IOException {
        int frames = 16000;
        Path f = Files.write(tmp.resolve("s32.wav"), wav(1, 2, 32000, 32, encode(sine(32000, frames, 0.3, 0.3), 32, false)));
        assertDecoded(f, 32000, frames, 0.3);
    }

    @Test
    void float32Mono() throws IOException {
        int frames = 11025;
        Path f = Files.write(tmp.resolve("f32.wav"), wav(3, 1, 11025, 32, encode(sine(11025, frames, 0.25), 32, true)));
        assertDecoded(f, 11025, frames, 0.25);
    }

    /** Issue 22 item 10: what is wrong with a sample is said as it is in the file, before resampling. */
    @Test
    void badFloatSamplesAreInvalidInputNamedAsTheyAre() throws IOException {
        Object[][] cases = {
            {Float.POSITIVE_INFINITY, "non-finite sample (+Inf)"},
            {Float.NEGATIVE_INFINITY, "non-finite sample (-Inf)"},
            {Float.NaN, "non-finite sample (NaN)"},
            {1e30f, "out-of-range sample (1.0E30"},
            {-65f, "out-of-range sample (-65.0"},
        };
        for (Object[] c : cases) {
            ByteBuffer b = ByteBuffer.allocate(4 * 2 * 4410).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 2 * 4410; i++) {
                b.putFloat(i == 2001 ? (float) c[0] : 0.1f);
            }
            Path f = Files.write(tmp.resolve("bad.wav"), wav(3, 2, 44100, 32, b.array()));
            assertThatThrownBy(() -> media.readAudio(f, RATE)).as(c[1].toString()).isInstanceOf(InvalidInputException.class)
                    .hasMessageContaining(c[1].toString()).hasMessageContaining("index 2001");
            assertThatThrownBy(() -> {
                try (AudioSource src = media.openAudioSource(f, RATE)) {
                    float[] buf = new float[4096];
                    for (long at = 0; at < src.length(); at += buf.length) {
                        src.read(at, buf, 0, (int) Math.min(buf.length, src.length() - at));
                    }
                }
            }).as("streamed " + c[1]).isInstanceOf(InvalidInputException.class).hasMessageContaining(c[1].toString());
        }
        // the edge of the accepted range, and samples given in memory
        assertThat(media.resample(new AudioClip(new float[] {AudioSamples.MAX_ABS, -AudioSamples.MAX_ABS}, RATE), RATE)
                .samples()).hasSize(2);
        assertThatThrownBy(() -> media.resample(new AudioClip(new float[] {0, 1e30f}, RATE), RATE))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("out-of-range sample (1.0E30");
    }

    @Test
    void sixteenKilohertzMonoIsPassedThroughExactly() throws IOException {
        double[][] s = sine(RATE, 1000, 0.5);
        Path f = Files.write(tmp.resolve("m16.wav"), wav(1, 1, RATE, 16, encode(s, 16, false)));
        float[] out = media.readAudio(f, RATE).samples();
        assertThat(out).hasSize(1000);
        for (int i = 0; i < 1000; i++) {
            assertThat((double) out[i]).isCloseTo(Math.round(s[i][0] * 32767) / 32768.0, within(1e-7));
        }
    }

    @Test
    void fullScalePcmStaysWithinMinusOneToOne() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort(Short.MIN_VALUE)
                .putShort(Short.MAX_VALUE);
        Path f = Files.write(tmp.resolve("full.wav"), wav(1, 1, RATE, 16, b.array()));
        float[] out = media.readAudio(f, RATE).samples();
        assertThat(out).containsExactly(-1f, 32767f / 32768f);
    }

    @Test
    void zeroSampleWavHasNoAudioSamples() throws IOException {
        Path f = Files.write(tmp.resolve("silent.wav"), wav(1, 1, RATE, 16, new byte[0]));
        assertThatThrownBy(() -> media.readAudio(f, RATE)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("no audio samples").hasMessageContaining(f.toString());
    }

    @Test
    void mp3NamedGarbageIsUnsupportedAndPointsToSdkMedia() throws IOException {
        byte[] junk = new byte[2048];
        new Random(4).nextBytes(junk);
        System.arraycopy("ID3".getBytes(), 0, junk, 0, 3);
        Path f = Files.write(tmp.resolve("speech.mp3"), junk);
        assertThatThrownBy(() -> media.readAudio(f, RATE)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("unsupported format")
                .hasMessageContaining("sdk-media");
    }

    @Test
    void audioPathProblemsNameThePath() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("sounds"));
        assertThatThrownBy(() -> media.readAudio(dir, RATE)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("directory").hasMessageContaining(dir.toString());
        Path missing = tmp.resolve("missing.wav");
        assertThatThrownBy(() -> media.readAudio(missing, RATE)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("not found").hasMessageContaining(missing.toString());
        Path empty = Files.createFile(tmp.resolve("empty.wav"));
        assertThatThrownBy(() -> media.readAudio(empty, RATE)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("empty").hasMessageContaining(empty.toString());
    }

    @Test
    void truncatedWavHeaderIsInvalidInput() throws IOException {
        byte[] full = wav(1, 1, RATE, 16, encode(sine(RATE, 100, 0.5), 16, false));
        Path f = Files.write(tmp.resolve("cut.wav"), Arrays.copyOf(full, 30));
        assertThatThrownBy(() -> media.readAudio(f, RATE)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(f.toString());
    }

    @Test
    void nonFiniteFloatSamplesAreRefused() throws IOException {
        double[][] s = sine(RATE, 100, 0.5);
        s[50][0] = Double.NaN;
        Path f = Files.write(tmp.resolve("nan.wav"), wav(3, 1, RATE, 32, encode(s, 32, true)));
        assertThatThrownBy(() -> media.readAudio(f, RATE)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("non-finite").hasMessageContaining(f.toString());
    }

    @Test
    void absurdSampleRateIsInvalidInput() throws IOException {
        Path f = Files.write(tmp.resolve("slow.wav"), wav(1, 1, 1, 8, new byte[200_000]));
        assertThatThrownBy(() -> media.readAudio(f, RATE)).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining(f.toString());
    }

    @Test
    void jdkCodecCannotWriteVideo() {
        assertThatThrownBy(() -> media.openVideoWriter(tmp.resolve("out.mp4"), null))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("sdk-media");
    }
}
