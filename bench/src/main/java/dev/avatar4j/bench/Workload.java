package dev.avatar4j.bench;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Frame;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.Generation;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicReference;

/** Synthetic inputs and one measured generation. */
final class Workload {
    static final int SAMPLE_RATE = 16_000;

    private Workload() {
    }

    /** A 256x256 portrait-like test image (smooth gradients and a face-coloured disc), deterministic. */
    static RgbImage image(int size) {
        byte[] rgb = new byte[size * size * 3];
        double c = size / 2.0;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double d = Math.hypot(x - c, y - c * 0.9) / (size * 0.32);
                int i = (y * size + x) * 3;
                boolean face = d < 1;
                rgb[i] = (byte) (face ? 224 - 30 * d : 40 + 100.0 * x / size);
                rgb[i + 1] = (byte) (face ? 172 - 20 * d : 60 + 80.0 * y / size);
                rgb[i + 2] = (byte) (face ? 140 - 20 * d : 120);
            }
        }
        return RgbImage.of(size, size, rgb);
    }

    /**
     * Speech-like synthetic audio at 16 kHz: a voiced harmonic series with a wandering pitch and a
     * syllable-rate envelope, plus a little seeded noise. Deterministic for a given length.
     */
    static float[] audio(double seconds) {
        int n = (int) Math.round(seconds * SAMPLE_RATE);
        float[] a = new float[n];
        SplittableRandom rnd = new SplittableRandom(7);
        double phase = 0;
        for (int i = 0; i < n; i++) {
            double t = i / (double) SAMPLE_RATE;
            double f0 = 120 + 30 * Math.sin(2 * Math.PI * 0.7 * t);
            phase += 2 * Math.PI * f0 / SAMPLE_RATE;
            double env = Math.max(0, Math.sin(2 * Math.PI * 3.1 * t)) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 0.23 * t));
            double v = 0;
            for (int h = 1; h <= 6; h++) {
                v += Math.sin(h * phase) / h;
            }
            a[i] = (float) (0.25 * env * v + 0.01 * (rnd.nextDouble() - 0.5));
        }
        return a;
    }

    /**
     * Writes {@link #audio(double)}'s signal as a 16-bit PCM WAV at 16 kHz, one chunk at a time, so
     * that neither the writer nor the generation that reads the file holds the whole clip.
     */
    static Path writeWav(double seconds, Path file) throws java.io.IOException {
        int n = (int) Math.round(seconds * SAMPLE_RATE);
        try (var out = new java.io.BufferedOutputStream(java.nio.file.Files.newOutputStream(file), 1 << 16)) {
            java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(44).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            h.put("RIFF".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).putInt(36 + 2 * n)
                    .put("WAVEfmt ".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1)
                    .putShort((short) 1).putInt(SAMPLE_RATE).putInt(2 * SAMPLE_RATE).putShort((short) 2)
                    .putShort((short) 16).put("data".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).putInt(2 * n);
            out.write(h.array());
            SplittableRandom rnd = new SplittableRandom(7);
            double phase = 0;
            for (int i = 0; i < n; i++) {
                double t = i / (double) SAMPLE_RATE;
                double f0 = 120 + 30 * Math.sin(2 * Math.PI * 0.7 * t);
                phase += 2 * Math.PI * f0 / SAMPLE_RATE;
                double env = Math.max(0, Math.sin(2 * Math.PI * 3.1 * t)) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 0.23 * t));
                double v = 0;
                for (int k = 1; k <= 6; k++) {
                    v += Math.sin(k * phase) / k;
                }
                int q = (int) Math.round(Math.clamp(0.25 * env * v + 0.01 * (rnd.nextDouble() - 0.5), -1.0, 1.0) * 32767);
                out.write(q & 0xff);
                out.write((q >> 8) & 0xff);
            }
        }
        return file;
    }

    /** Where frames go. */
    enum Output { DISCARD, MP4 }

    /** One generation's measurements. */
    record Run(long wallNanos, long firstFrameNanos, int frames, GraphTimer.Snapshot graphs, String digest,
               boolean stoppedEarly, long outsideCpuNanos) {
        double wallSeconds() {
            return wallNanos / 1e9;
        }

        double graphSeconds() {
            return graphs.totalNanos() / 1e9;
        }

        /** Generation wall time ÷ summed graph-run time: the SDK overhead ratio. */
        double overhead() {
            return wallNanos / (double) graphs.totalNanos();
        }

        /**
         * (graph time + CPU the generation thread spent outside graph runs) ÷ graph time: the overhead
         * with the time the generation thread waited for a core (other processes) taken out. Equal to
         * {@link #overhead()} on an idle machine; the robust number on a shared one.
         */
        double cpuOverhead() {
            return (graphs.totalNanos() + outsideCpuNanos) / (double) graphs.totalNanos();
        }
    }

    /**
     * Runs one generation and measures it.
     *
     * @param model   the loaded model (on the {@code timed} backend, so graph time is recorded)
     * @param audio   16 kHz samples
     * @param stopAfterFirstFrame cancel as soon as the first frame arrives (time-to-first-frame runs)
     * @param digest  SHA-256 over every frame's RGB bytes (concurrency identity checks)
     * @param mp4     output file when {@code output} is MP4
     */
    static Run generate(AvatarModel model, RgbImage image, float[] audio, int steps, long seed, int size, Output output,
                        Path mp4, boolean stopAfterFirstFrame, boolean digest) {
        return generate(model, image, () -> audio, steps, seed, size, output, mp4, stopAfterFirstFrame, digest);
    }

    /**
     * As above, with the samples made on demand: the harness then holds no reference to them while
     * the generation runs, so memory runs see only the SDK's own copy.
     */
    static Run generate(AvatarModel model, RgbImage image, java.util.function.Supplier<float[]> audio, int steps,
                        long seed, int size, Output output, Path mp4, boolean stopAfterFirstFrame, boolean digest) {
        return generate(model, Avatar.from(image).speak(audio.get(), SAMPLE_RATE), steps, seed, size, output, mp4,
                stopAfterFirstFrame, digest);
    }

    /** As above, for a request that already has its image and speech (e.g. a file, which the SDK streams). */
    static Run generate(AvatarModel model, Avatar speaking, int steps, long seed, int size, Output output, Path mp4,
                        boolean stopAfterFirstFrame, boolean digest) {
        MessageDigest md = digest ? sha256() : null;
        long[] first = {-1};
        int[] frames = {0};
        AtomicReference<Generation> gen = new AtomicReference<>();
        long[] cpu = {-1, 0, 0, 0}; // generation thread id, CPU at first/last progress, graph CPU at first
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Avatar request = speaking.steps(steps).seed(seed).size(size, size)
                .model(model).frameBuffer(1).onProgress(p -> {
                    long now = mx.getCurrentThreadCpuTime();
                    if (cpu[0] < 0) {
                        cpu[0] = Thread.currentThread().threadId();
                        cpu[1] = now;
                        cpu[3] = GraphTimer.callerCpu(cpu[0]);
                    }
                    cpu[2] = now;
                }).onFrame(f -> {
                    if (first[0] < 0) {
                        first[0] = System.nanoTime();
                    }
                    frames[0]++;
                    if (md != null) {
                        md.update(f.image().pixels());
                    }
                    if (stopAfterFirstFrame) {
                        gen.get().cancel();
                    }
                });
        GraphTimer.Snapshot before = GraphTimer.snapshot();
        long t0 = System.nanoTime();
        Generation g;
        if (output == Output.MP4) {
            g = request.start(mp4);
        } else {
            g = request.start(new DiscardSink());
        }
        gen.set(g);
        boolean stopped = false;
        try {
            g.await();
        } catch (GenerationCancelledException e) {
            if (!stopAfterFirstFrame) {
                throw e;
            }
            stopped = true;
        }
        long wall = System.nanoTime() - t0;
        GraphTimer.Snapshot graphs = GraphTimer.snapshot().minus(before);
        long outsideCpu = cpu[0] < 0 ? 0 : (cpu[2] - cpu[1]) - (GraphTimer.callerCpu(cpu[0]) - cpu[3]);
        return new Run(wall, first[0] < 0 ? -1 : first[0] - t0, frames[0], graphs,
                md == null ? null : HexFormat.of().formatHex(md.digest()), stopped, outsideCpu);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Drops frames (the "generation alone" baseline). */
    static final class DiscardSink implements FrameSink {
        @Override
        public void accept(Frame frame) {
            // measured work ends at the frame hand-off
        }

        @Override
        public void complete() {
        }

        @Override
        public void abort() {
        }
    }
}
