package dev.avatar4j.ffmpeg;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;

/** Test inputs made at test time: WAV files, sines, PNG headers, and the FFmpeg command-line tools. */
final class MediaFixtures {
    private MediaFixtures() {
    }

    /** {@code seconds} of a sine at {@code freq} Hz and amplitude {@code amp}, at {@code rate}. */
    static float[] sine(double freq, double amp, int rate, double seconds) {
        float[] s = new float[(int) Math.round(rate * seconds)];
        for (int i = 0; i < s.length; i++) {
            s[i] = (float) (amp * Math.sin(2 * Math.PI * freq * i / rate));
        }
        return s;
    }

    /** Writes a WAV; {@code channels} are the planes (same length); 16-bit PCM or 32-bit float. */
    static Path writeWav(Path file, int rate, boolean float32, float[]... channels) throws IOException {
        int nch = channels.length;
        int frames = nch == 0 ? 0 : channels[0].length;
        int bytesPerSample = float32 ? 4 : 2;
        int dataBytes = frames * nch * bytesPerSample;
        ByteBuffer b = ByteBuffer.allocate(44 + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + dataBytes).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(16).putShort((short) (float32 ? 3 : 1)).putShort((short) Math.max(nch, 1))
                .putInt(rate).putInt(rate * Math.max(nch, 1) * bytesPerSample)
                .putShort((short) (Math.max(nch, 1) * bytesPerSample)).putShort((short) (bytesPerSample * 8));
        b.put("data".getBytes()).putInt(dataBytes);
        for (int i = 0; i < frames; i++) {
            for (float[] c : channels) {
                if (float32) {
                    b.putFloat(c[i]);
                } else {
                    b.putShort((short) Math.max(-32768, Math.min(32767, Math.round(c[i] * 32767f))));
                }
            }
        }
        Files.write(file, b.array());
        return file;
    }

    /** A PNG with a valid IHDR (and CRC) declaring {@code w x h} RGB pixels, but no image data. */
    static Path pngHeaderOnly(Path file, int w, int h) throws IOException {
        ByteBuffer ihdr = ByteBuffer.allocate(17).order(ByteOrder.BIG_ENDIAN);
        ihdr.put("IHDR".getBytes()).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0)
                .put((byte) 0);
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        ByteBuffer png = ByteBuffer.allocate(8 + 4 + 17 + 4 + 12).order(ByteOrder.BIG_ENDIAN);
        png.putLong(0x89504E470D0A1A0AL).putInt(13).put(ihdr.array()).putInt((int) crc.getValue());
        CRC32 endCrc = new CRC32();
        endCrc.update("IEND".getBytes());
        png.putInt(0).put("IEND".getBytes()).putInt((int) endCrc.getValue());
        Files.write(file, png.array());
        return file;
    }

    /** True when {@code tool -version} runs. */
    static boolean hasTool(String tool) {
        try {
            Process p = new ProcessBuilder(tool, "-version").redirectErrorStream(true).start();
            p.getInputStream().transferTo(java.io.OutputStream.nullOutputStream());
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Runs a command; returns its standard output; fails on a non-zero exit. */
    static byte[] run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(cmd)).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out;
        try (InputStream in = p.getInputStream()) {
            out = in.readAllBytes();
        }
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("command failed: " + String.join(" ", cmd));
        }
        return out;
    }

    /** Positive-going zero crossings per second over {@code [from, to)}: the frequency of a sine. */
    static double zeroCrossingFrequency(float[] s, int rate, int from, int to) {
        List<Double> crossings = new ArrayList<>();
        for (int i = from + 1; i < to; i++) {
            if (s[i - 1] < 0 && s[i] >= 0) {
                crossings.add(i - 1 + (double) -s[i - 1] / (s[i] - s[i - 1])); // interpolated
            }
        }
        if (crossings.size() < 2) {
            return 0;
        }
        double span = crossings.get(crossings.size() - 1) - crossings.get(0);
        return (crossings.size() - 1) * rate / span;
    }

    /** Amplitude of a sine from its RMS over {@code [from, to)}. */
    static double sineAmplitude(float[] s, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += (double) s[i] * s[i];
        }
        return Math.sqrt(sum / (to - from)) * Math.sqrt(2);
    }

    /** Goertzel power of {@code freq} in {@code s[from, to)}, normalised by the signal energy. */
    static double goertzelShare(float[] s, int rate, double freq, int from, int to) {
        double w = 2 * Math.PI * freq / rate;
        double coeff = 2 * Math.cos(w);
        double s1 = 0;
        double s2 = 0;
        double energy = 0;
        for (int i = from; i < to; i++) {
            double s0 = s[i] + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
            energy += (double) s[i] * s[i];
        }
        double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
        int n = to - from;
        return power / (energy * n / 2); // 1.0 for a pure sine at freq with whole periods
    }
}
