package dev.avatar4j.examples.cli;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.javacv.FFmpegFrameRecorder;

/**
 * Input files for {@link InputMatrixTest}, all made at test time: WAV files of any format tag,
 * bit depth, rate and channel count (written byte by byte, so that broken ones can be made too),
 * compressed audio encoded with the FFmpeg that {@code sdk-media} bundles, and images whose
 * header is patched.
 */
final class InputMatrix {
    private InputMatrix() {
    }

    /** WAV format tags. */
    static final int PCM = 1;
    static final int IEEE_FLOAT = 3;

    /** {@code seconds} of speech-like sound (a 220 Hz tone, amplitude-modulated at 3 Hz) at {@code rate}. */
    static float[] speech(double seconds, int rate) {
        float[] s = new float[(int) Math.round(seconds * rate)];
        for (int i = 0; i < s.length; i++) {
            double t = (double) i / rate;
            s[i] = (float) (0.4 * Math.sin(2 * Math.PI * 220 * t) * (0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t)));
        }
        return s;
    }

    /**
     * Writes a WAV with the given format chunk fields and raw sample bytes.
     *
     * @param tag the format tag (1 PCM, 3 IEEE float, anything else)
     */
    static Path wav(Path file, int tag, int channels, int rate, int bits, byte[] data) throws IOException {
        int blockAlign = Math.max(1, channels * bits / 8);
        ByteBuffer b = ByteBuffer.allocate(44 + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + data.length).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(16).putShort((short) tag).putShort((short) channels).putInt(rate)
                .putInt(rate * blockAlign).putShort((short) blockAlign).putShort((short) bits);
        b.put("data".getBytes()).putInt(data.length).put(data);
        Files.write(file, b.array());
        return file;
    }

    /** A 16-bit PCM WAV; every channel carries {@code samples}. */
    static Path wav16(Path file, float[] samples, int rate, int channels) throws IOException {
        ByteBuffer d = ByteBuffer.allocate(samples.length * channels * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : samples) {
            for (int c = 0; c < channels; c++) {
                d.putShort((short) Math.max(-32768, Math.min(32767, Math.round(v * 32767f))));
            }
        }
        return wav(file, PCM, channels, rate, 16, d.array());
    }

    /** A mono 32-bit float WAV. */
    static Path wavFloat(Path file, float[] samples, int rate) throws IOException {
        ByteBuffer d = ByteBuffer.allocate(samples.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : samples) {
            d.putFloat(v);
        }
        return wav(file, IEEE_FLOAT, 1, rate, 32, d.array());
    }

    /** A mono 32-bit float WAV of speech with {@code poison} at sample 1000. */
    static Path wavFloatWith(Path file, float poison) throws IOException {
        float[] s = speech(0.6, 16000);
        s[1000] = poison;
        return wavFloat(file, s, 16000);
    }

    /**
     * Encodes mono {@code samples} with FFmpeg.
     *
     * @param format    the container ({@code mp3}, {@code mp4}, {@code wav})
     * @param codec     the {@code AV_CODEC_ID_*} of the audio codec
     * @param sampleFormat the {@code AV_SAMPLE_FMT_*} the encoder takes, or -1 for the recorder's choice
     * @param faststart for MP4: the index before the samples (else after them, FFmpeg's default)
     */
    static Path encode(Path file, String format, int codec, int sampleFormat, float[] samples, int rate,
                       boolean faststart) throws IOException {
        try (FFmpegFrameRecorder rec = new FFmpegFrameRecorder(file.toFile(), 1)) {
            rec.setFormat(format);
            rec.setAudioCodec(codec);
            rec.setSampleRate(rate);
            if (sampleFormat >= 0) {
                rec.setSampleFormat(sampleFormat);
            }
            if (faststart) {
                rec.setOption("movflags", "+faststart");
            }
            rec.start();
            rec.recordSamples(rate, 1, FloatBuffer.wrap(samples));
            rec.stop();
        } catch (FFmpegFrameRecorder.Exception e) {
            throw new IOException("cannot encode " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    static Path mp3(Path file, double seconds) throws IOException {
        return mp3(file, seconds, 16000);
    }

    static Path mp3(Path file, double seconds, int rate) throws IOException {
        return encode(file, "mp3", avcodec.AV_CODEC_ID_MP3, -1, speech(seconds, rate), rate, false);
    }

    static Path m4a(Path file, double seconds, boolean faststart) throws IOException {
        return encode(file, "mp4", avcodec.AV_CODEC_ID_AAC, -1, speech(seconds, 44100), 44100, faststart);
    }

    /** Writes the first {@code fraction} of {@code from}'s bytes to {@code to}. */
    static Path cut(Path from, Path to, double fraction) throws IOException {
        byte[] all = Files.readAllBytes(from);
        Files.write(to, Arrays.copyOf(all, (int) (all.length * fraction)));
        return to;
    }

    /** {@code from} with {@code count} random bytes written over it from {@code at} on. */
    static Path damage(Path from, Path to, int at, int count) throws IOException {
        byte[] all = Files.readAllBytes(from);
        Random r = new Random(at * 31L + count);
        for (int i = at; i < Math.min(all.length, at + count); i++) {
            all[i] = (byte) r.nextInt(256);
        }
        Files.write(to, all);
        return to;
    }

    /** Where the two bytes {@code a b} first occur in {@code file}. */
    static int indexOf(Path file, int a, int b) throws IOException {
        byte[] all = Files.readAllBytes(file);
        for (int i = 0; i + 1 < all.length; i++) {
            if ((all[i] & 0xFF) == a && (all[i + 1] & 0xFF) == b) {
                return i;
            }
        }
        throw new IOException(String.format("no %02X %02X in %s", a, b, file));
    }

    /** A gradient portrait as PNG or JPEG (ImageIO format name). */
    static Path image(Path file, String format, int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (x * 255 / Math.max(1, w - 1)) << 16 | (y * 255 / Math.max(1, h - 1)) << 8 | 0x60);
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, bytes)) {
            throw new IOException("no ImageIO writer for " + format);
        }
        Files.write(file, bytes.toByteArray());
        return file;
    }

    /**
     * A real {@code w x h} PNG whose IHDR (CRC recomputed) then declares {@code declared x declared}:
     * a valid-looking header over far fewer pixels than it claims.
     */
    static Path pngDeclaring(Path file, int declared) throws IOException {
        image(file, "png", 32, 32);
        byte[] png = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(png).order(ByteOrder.BIG_ENDIAN);
        // signature (8), IHDR length (4), "IHDR" at 12, width at 16, height at 20, CRC at 29
        if (b.getInt(12) != 0x49484452) {
            throw new IOException("no IHDR first in " + file);
        }
        b.putInt(16, declared).putInt(20, declared);
        CRC32 crc = new CRC32();
        crc.update(png, 12, 17);
        b.putInt(29, (int) crc.getValue());
        Files.write(file, png);
        return file;
    }

    /** A real JPEG whose frame header (SOF0) then declares {@code declared x declared}. */
    static Path jpegDeclaring(Path file, int declared) throws IOException {
        image(file, "jpg", 32, 32);
        byte[] jpg = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(jpg).order(ByteOrder.BIG_ENDIAN);
        int at = 2;
        while (at + 4 < jpg.length) {
            int marker = b.getShort(at) & 0xFFFF;
            int length = b.getShort(at + 2) & 0xFFFF;
            if (marker == 0xFFC0) {
                // length (2), precision (1), height (2), width (2)
                b.putShort(at + 5, (short) declared).putShort(at + 7, (short) declared);
                Files.write(file, jpg);
                return file;
            }
            at += 2 + length;
        }
        throw new IOException("no SOF0 in " + file);
    }
}
