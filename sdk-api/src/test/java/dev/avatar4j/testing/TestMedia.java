package dev.avatar4j.testing;

import dev.avatar4j.Frame;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import javax.sound.sampled.AudioFileFormat;
import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;

/** Test inputs: synthetic images, speech-like audio and a recording sink. */
public final class TestMedia {
    private TestMedia() {
    }

    /** A colourful gradient image. */
    public static RgbImage gradient(int w, int h) {
        byte[] rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                rgb[i] = (byte) (x * 255 / Math.max(1, w - 1));
                rgb[i + 1] = (byte) (y * 255 / Math.max(1, h - 1));
                rgb[i + 2] = (byte) ((x + y) * 127 / Math.max(1, w + h - 2));
            }
        }
        return RgbImage.of(w, h, rgb);
    }

    /** An amplitude-modulated tone: {@code seconds} at {@code rate} Hz. */
    public static float[] speechLike(double seconds, int rate) {
        float[] s = new float[(int) Math.round(seconds * rate)];
        for (int i = 0; i < s.length; i++) {
            double t = (double) i / rate;
            s[i] = (float) (0.4 * Math.sin(2 * Math.PI * 220 * t) * (0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t)));
        }
        return s;
    }

    /** Writes 16-bit PCM WAV. */
    public static Path writeWav(Path file, float[] samples, int rate, int channels) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (float v : samples) {
            short q = (short) Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
            for (int c = 0; c < channels; c++) {
                bytes.write(q & 0xff);
                bytes.write((q >> 8) & 0xff);
            }
        }
        AudioFormat fmt = new AudioFormat(rate, 16, channels, true, false);
        byte[] data = bytes.toByteArray();
        try (AudioInputStream in = new AudioInputStream(new java.io.ByteArrayInputStream(data), fmt,
                data.length / (2L * channels))) {
            AudioSystem.write(in, AudioFileFormat.Type.WAVE, file.toFile());
        }
        return file;
    }

    /** A sink that records frames and how it ended. */
    /**
     * A decoder over {@code s} returning chunks of random sizes from 1 to {@code maxChunk}, as real
     * decoders do (tests of code that must not depend on how a stream splits its samples).
     */
    public static dev.avatar4j.media.AudioStream chunked(float[] s, int maxChunk, java.util.Random r) {
        return new dev.avatar4j.media.AudioStream() {
            int at;

            @Override
            public int read(float[] dst, int off, int len) {
                if (at >= s.length) {
                    return -1;
                }
                int n = Math.min(Math.min(len, 1 + r.nextInt(maxChunk)), s.length - at);
                System.arraycopy(s, at, dst, off, n);
                at += n;
                return n;
            }

            @Override
            public void close() {
            }
        };
    }

    public static final class RecordingSink implements FrameSink {
        public final List<Frame> frames = Collections.synchronizedList(new ArrayList<>());
        public volatile boolean completed;
        public volatile boolean aborted;

        @Override
        public void accept(Frame frame) {
            frames.add(frame);
        }

        @Override
        public void complete() {
            completed = true;
        }

        @Override
        public void abort() {
            if (!completed) {
                aborted = true;
            }
        }
    }
}
