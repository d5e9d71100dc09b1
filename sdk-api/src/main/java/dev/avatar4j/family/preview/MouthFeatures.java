package dev.avatar4j.family.preview;

import dev.avatar4j.io.AudioSource;
import dev.avatar4j.media.AudioClip;

/**
 * Turns speech into per-frame mouth targets from energy and spectrum (no learned weights): for
 * each video frame a Hann-windowed 50 ms slice centred on the frame is analysed for its level
 * (RMS in dB) and its spectrum (1024-point FFT: spectral centroid and the share of energy above
 * 3 kHz).
 * <ul>
 *   <li>opening follows the level relative to the clip's own speech level (its 95th percentile),
 *       over a {@link #RANGE_DB} dB range, reduced for fricatives (hiss-dominated slices: "s",
 *       "f", "sh" are said with nearly closed jaws) and gated by voice activity, so the mouth stays
 *       shut in pauses and under background noise;</li>
 *   <li>width rises with the centroid (front vowels such as "ee" are bright and spread), rounding
 *       with a low centroid ("oo", "o").</li>
 * </ul>
 * The targets are raw; {@link MouthTrack} smooths them.
 */
final class MouthFeatures {
    static final int FFT = 1024;
    /** Level range mapped to opening 0 … 1, below the clip's speech level. */
    static final double RANGE_DB = 30;
    /** Curve from relative level to opening (above 1: quieter syllables open less). */
    static final double GAMMA = 1.6;
    private static final double WINDOW_SEC = 0.05;

    private MouthFeatures() {
    }

    /** Per-frame analysis: level, centroid and high-band share. */
    record Frame(double levelDb, double centroidHz, double highShare) {
    }

    /** Analyses {@code frames} frames at {@code fps} of {@code samples} at {@code rate} Hz. */
    static Frame[] analyse(float[] samples, int rate, int frames, int fps) {
        return analyse(AudioSource.of(new AudioClip(samples, rate)), rate, frames, fps, () -> { });
    }

    /**
     * {@link #analyse(float[], int, int, int)} of a source, read slice by slice as the frames
     * advance (a streamed file is never held whole). {@code checkpoint} runs before every frame
     * (a cancellation point: it throws to stop; one frame is well under a millisecond of work).
     */
    static Frame[] analyse(AudioSource samples, int rate, int frames, int fps, Runnable checkpoint) {
        Analyser analyser = new Analyser(rate);
        Frame[] out = new Frame[frames];
        float[] slice = new float[analyser.window()];
        for (int f = 0; f < frames; f++) {
            checkpoint.run();
            samples.read(analyser.sliceStart(f, fps), slice, 0, slice.length); // zero outside the audio
            out[f] = analyser.analyse(slice);
        }
        return out;
    }

    /**
     * The analysis of one frame's slice, with its scratch arrays (one per stream of frames; not
     * thread-safe). Frame {@code f}'s slice is the {@link #window()} samples from
     * {@link #sliceStart(int, int)}: centred on the frame.
     */
    static final class Analyser {
        private final int rate;
        private final int win;
        private final double[] hann;
        private final double[] re = new double[FFT];
        private final double[] im = new double[FFT];

        Analyser(int rate) {
            this.rate = rate;
            this.win = Math.min(FFT, (int) Math.round(WINDOW_SEC * rate));
            this.hann = new double[win];
            for (int i = 0; i < win; i++) {
                hann[i] = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / (win - 1));
            }
        }

        /** Samples in a slice. */
        int window() {
            return win;
        }

        /** The first sample of frame {@code f}'s slice at {@code fps} (negative near the start: zeros there). */
        long sliceStart(long f, int fps) {
            long centre = Math.round((f + 0.5) * rate / fps);
            return centre - win / 2;
        }

        /** Level, centroid and high-band share of a slice of {@link #window()} samples. */
        Frame analyse(float[] slice) {
            double hz = (double) rate / FFT;
            double sumSq = 0;
            java.util.Arrays.fill(re, 0);
            java.util.Arrays.fill(im, 0);
            for (int i = 0; i < win; i++) {
                double x = slice[i];
                sumSq += x * x;
                re[i] = x * hann[i];
            }
            double levelDb = 10 * Math.log10(sumSq / win + 1e-10);
            fft(re, im);
            double total = 0;
            double weighted = 0;
            double high = 0;
            for (int k = 1; k < FFT / 2; k++) {
                double freq = k * hz;
                if (freq < 80) {
                    continue;
                }
                double p = re[k] * re[k] + im[k] * im[k];
                total += p;
                weighted += p * freq;
                if (freq >= 3000) {
                    high += p;
                }
            }
            return total <= 1e-12 ? new Frame(levelDb, 0, 0) : new Frame(levelDb, weighted / total, high / total);
        }
    }

    /** Mouth targets from the analysis and per-frame speech probabilities. */
    static MouthShape[] targets(Frame[] frames, float[] speech) {
        double[] levels = new double[frames.length];
        for (int i = 0; i < frames.length; i++) {
            levels[i] = frames[i].levelDb();
        }
        double ref = percentile(levels, 0.95);
        MouthShape[] out = new MouthShape[frames.length];
        for (int i = 0; i < frames.length; i++) {
            out[i] = target(frames[i], speech[i], ref);
        }
        return out;
    }

    /**
     * The mouth target of one analysed frame, given its speech probability and the speech level
     * {@code refDb} the opening is relative to.
     */
    static MouthShape target(Frame f, double speech, double refDb) {
        double gate = smoothstep(0.25, 0.6, speech);
        double open = Math.pow(Math.clamp((f.levelDb() - (refDb - RANGE_DB)) / RANGE_DB, 0, 1), GAMMA);
        open *= 1 - 0.65 * smoothstep(0.35, 0.7, f.highShare());
        open *= gate;
        double width = Math.clamp((f.centroidHz() - 1400) / 1400, -1, 1) * gate;
        double round = Math.clamp((850 - f.centroidHz()) / 450, 0, 1) * smoothstep(0.1, 0.35, open);
        return new MouthShape(open, width, round);
    }

    /** The {@code q} quantile (nearest rank) of {@code v}; −100 when empty. */
    static double percentile(double[] v, double q) {
        if (v.length == 0) {
            return -100;
        }
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.floor(q * s.length))];
    }

    static double smoothstep(double e0, double e1, double x) {
        double t = Math.clamp((x - e0) / (e1 - e0), 0, 1);
        return t * t * (3 - 2 * t);
    }

    /** In-place iterative radix-2 FFT; the length must be a power of two. */
    static void fft(double[] re, double[] im) {
        int n = re.length;
        for (int i = 1, j = 0; i < n; i++) {
            int bit = n >> 1;
            for (; (j & bit) != 0; bit >>= 1) {
                j ^= bit;
            }
            j ^= bit;
            if (i < j) {
                double t = re[i];
                re[i] = re[j];
                re[j] = t;
                t = im[i];
                im[i] = im[j];
                im[j] = t;
            }
        }
        for (int len = 2; len <= n; len <<= 1) {
            double ang = -2 * Math.PI / len;
            double wr = Math.cos(ang);
            double wi = Math.sin(ang);
            for (int i = 0; i < n; i += len) {
                double cr = 1;
                double ci = 0;
                for (int k = 0; k < len / 2; k++) {
                    int a = i + k;
                    int b = a + len / 2;
                    double xr = re[b] * cr - im[b] * ci;
                    double xi = re[b] * ci + im[b] * cr;
                    re[b] = re[a] - xr;
                    im[b] = im[a] - xi;
                    re[a] += xr;
                    im[a] += xi;
                    double nr = cr * wr - ci * wi;
                    ci = cr * wi + ci * wr;
                    cr = nr;
                }
            }
        }
    }
}
