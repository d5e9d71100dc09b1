package dev.avatar4j.audio;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The Whisper log-mel spectrogram with openai-whisper's {@code log_mel_spectrogram} semantics as
 * LatentSync uses it (docs/REFERENCE.md §2 "Audio features", §4.1), unlike {@link WhisperLogMel}
 * (HF, one 30 s chunk at a time):
 * <ol>
 *   <li>the STFT runs over the <em>whole</em> file: reflect padding of 200 samples on both sides,
 *       periodic Hann of 400, hop 160, {@code |X|²}, last frame dropped → {@code floor(N/160)} frames;</li>
 *   <li>80 Slaney mel filters ({@link WhisperLogMel#melFilterBank}), {@code log10(max(·, 1e-10))},
 *       {@code max(L, max(L) − 8)} with the maximum over the <em>whole file</em>, {@code (L + 4)/4};</li>
 *   <li>{@link #segments} cuts that into 3000-frame (30 s) segments and pads the last with
 *       <em>0 in the normalised domain</em> (not with silence).</li>
 * </ol>
 * Arithmetic is float64 with JTransforms' FFT, the result float32; the reference computes in
 * float32 torch, so values agree to about 1e-5.
 *
 * <p>The STFT, the (sparse) filter bank and the logarithm are {@link LogMelCore}'s, shared with
 * {@link WhisperLogMel}.
 *
 * <p>Thread-safe.
 */
public final class WhisperLogMelWholeFile {

    /** Mel bins of Whisper tiny/small (LatentSync's encoders). */
    public static final int MEL_BINS = 80;
    /** Frames of one encoder segment (30 s). */
    public static final int SEGMENT_FRAMES = WhisperLogMel.CHUNK_FRAMES;

    private static final int N_FFT = WhisperLogMel.N_FFT;
    private static final int HOP = WhisperLogMel.HOP;

    private final LogMelCore core = new LogMelCore(WhisperLogMel.melFilterBank(MEL_BINS));

    /** Creates the extractor. */
    public WhisperLogMelWholeFile() {
    }

    /**
     * Frames of a signal: {@code floor(samples/160)}.
     *
     * @param samples signal length
     * @return the frame count
     */
    public static int frames(int samples) {
        return samples / HOP;
    }

    /**
     * The log-mel of a whole 16 kHz signal.
     *
     * @param samples the signal, more than 200 samples (reflect padding needs them)
     * @return {@code [80][frames(samples.length)]}, mel-major
     * @throws IllegalArgumentException if the signal is too short
     */
    public float[][] compute(float[] samples) {
        return compute(samples, () -> { });
    }

    /**
     * {@link #compute(float[])}, calling {@code checkpoint} every few milliseconds of work (every 10 s
     * of audio), so that a long file's pass can be cancelled: the checkpoint throws to abandon it.
     *
     * @param samples    the signal, more than 200 samples
     * @param checkpoint run between pieces of the work; what it throws ends the computation
     * @return {@code [80][frames(samples.length)]}, mel-major
     * @throws IllegalArgumentException if the signal is too short
     */
    public float[][] compute(float[] samples, Runnable checkpoint) {
        int n = samples.length;
        if (n <= N_FFT / 2) {
            throw new IllegalArgumentException("need more than " + N_FFT / 2 + " samples, got " + n);
        }
        int frames = frames(n);
        int pad = N_FFT / 2;
        double[] x = new double[n + 2 * pad];
        for (int i = 0; i < n; i++) {
            x[pad + i] = samples[i];
        }
        for (int j = 1; j <= pad; j++) {
            x[pad - j] = samples[j];
            x[pad + n - 1 + j] = samples[n - 1 - j];
        }
        double[] log = new double[MEL_BINS * frames];
        double floor = core.logMel(x, frames, log, frames, checkpoint) - 8.0;
        float[][] out = new float[MEL_BINS][frames];
        for (int m = 0; m < MEL_BINS; m++) {
            float[] row = out[m];
            int base = m * frames;
            for (int f = 0; f < frames; f++) {
                row[f] = (float) ((Math.max(log[base + f], floor) + 4.0) / 4.0);
            }
        }
        return out;
    }

    /**
     * One encoder input.
     *
     * @param mel         {@code [80][3000]} mel-major, padded with 0 after {@code validFrames}
     * @param validFrames frames of the file in this segment (the encoder keeps
     *                    {@code validFrames/2} of its 1500 output rows)
     */
    public record Segment(float[][] mel, int validFrames) {
    }

    /**
     * Cuts a whole-file log-mel into 3000-frame segments, the last padded with 0.
     *
     * @param mel {@code [80][frames]} from {@link #compute}
     * @return the segments, at least one
     */
    public static List<Segment> segments(float[][] mel) {
        int frames = mel[0].length;
        List<Segment> out = new ArrayList<>();
        for (int start = 0; start < frames || out.isEmpty(); start += SEGMENT_FRAMES) {
            int valid = Math.min(SEGMENT_FRAMES, frames - start);
            float[][] seg = new float[mel.length][SEGMENT_FRAMES];
            for (int m = 0; m < mel.length; m++) {
                System.arraycopy(mel[m], start, seg[m], 0, valid);
                Arrays.fill(seg[m], valid, SEGMENT_FRAMES, 0f);
            }
            out.add(new Segment(seg, valid));
        }
        return out;
    }
}
