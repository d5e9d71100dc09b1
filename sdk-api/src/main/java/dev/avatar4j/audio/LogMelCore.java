package dev.avatar4j.audio;

import org.jtransforms.fft.DoubleFFT_1D;

/**
 * The part both Whisper log-mel front ends share: from an already padded float64 signal, the
 * periodic-Hann STFT (400 points, hop 160), the power spectrum, the mel filter bank and
 * {@code log10(max(·, 1e-10))}. {@link WhisperLogMel} and {@link WhisperLogMelWholeFile} differ only
 * in how they pad the signal and how they lay out and normalise the result.
 *
 * <p>Speed (the BENCHMARKS.md front-end rows compare it with numpy): the filter bank is stored
 * sparse, each filter as its contiguous run of non-zero weights (a triangle spans a few of the 201
 * bins, so this is about 2 multiply-adds per bin and frame instead of {@code melBins}); the FFT runs
 * in place on one reused buffer; nothing is allocated per frame. Skipping zero weights does not
 * change a bit of the result: each skipped term is {@code 0 × power = +0}, and adding +0 leaves a
 * sum unchanged.
 *
 * <p>Immutable and thread-safe; {@link #logMel} allocates its own small FFT buffers per call.
 */
final class LogMelCore {

    static final int N_FFT = 400;
    static final int HOP = 160;
    static final int BINS = N_FFT / 2 + 1;
    /** {@code log10} of the power floor {@code 1e-10}, the value of a silent frame. */
    private static final double SILENT_LOG = Math.log10(1e-10);

    private final int melBins;
    private final int[] first;    // first non-zero bin of each filter
    private final int[] start;    // index of that bin's weight in weights
    private final int[] end;      // start + number of weights
    private final double[] weights;
    private final double[] window;

    /**
     * @param filters {@code [melBins][201]} dense filter bank
     */
    LogMelCore(double[][] filters) {
        this.melBins = filters.length;
        this.first = new int[melBins];
        this.start = new int[melBins];
        this.end = new int[melBins];
        int total = 0;
        int[] last = new int[melBins];
        for (int m = 0; m < melBins; m++) {
            double[] w = filters[m];
            int lo = 0;
            while (lo < BINS && w[lo] == 0) {
                lo++;
            }
            int hi = BINS;
            while (hi > lo && w[hi - 1] == 0) {
                hi--;
            }
            first[m] = lo;
            last[m] = hi;
            total += hi - lo;
        }
        this.weights = new double[total];
        int at = 0;
        for (int m = 0; m < melBins; m++) {
            start[m] = at;
            System.arraycopy(filters[m], first[m], weights, at, last[m] - first[m]);
            at += last[m] - first[m];
            end[m] = at;
        }
        this.window = new double[N_FFT];
        for (int i = 0; i < N_FFT; i++) {
            window[i] = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / N_FFT);
        }
    }

    int melBins() {
        return melBins;
    }

    /** Non-zero weights of the whole bank (for tests: the sparse form must be much smaller). */
    int nonZeroWeights() {
        return weights.length;
    }

    /**
     * Frames {@code 0 … frames−1} of {@code x}, frame {@code f} being {@code x[f·160, f·160 + 400)}:
     * writes {@code log10(max(Σ_k w[m][k]·|X_f[k]|², 1e-10))} to {@code log[m·stride + f]}.
     *
     * @param x      padded signal, at least {@code (frames − 1)·160 + 400} samples
     * @param frames frames to compute
     * @param log    destination, mel-major with row length {@code stride ≥ frames}
     * @param stride row length of {@code log}
     * @return the maximum of the values written ({@code −∞} for no frames)
     */
    double logMel(double[] x, int frames, double[] log, int stride) {
        return logMel(x, frames, log, stride, () -> { });
    }

    /** Frames between two calls of the checkpoint of {@link #logMel(double[], int, double[], int, Runnable)}: 10 s of audio, a few ms of work. */
    static final int CHECKPOINT_FRAMES = 1000;

    /**
     * {@link #logMel(double[], int, double[], int)}, calling {@code checkpoint} before every
     * {@value #CHECKPOINT_FRAMES} frames (it may throw to abandon the work, e.g. on cancellation).
     */
    double logMel(double[] x, int frames, double[] log, int stride, Runnable checkpoint) {
        DoubleFFT_1D fft = new DoubleFFT_1D(N_FFT);
        double[] buf = new double[N_FFT];
        double[] power = new double[BINS];
        double max = Double.NEGATIVE_INFINITY;
        for (int f = 0; f < frames; f++) {
            if (f % CHECKPOINT_FRAMES == 0) {
                checkpoint.run();
            }
            int s = f * HOP;
            boolean silent = true;
            for (int i = 0; i < N_FFT; i++) {
                double v = x[s + i];
                buf[i] = v * window[i];
                silent &= v == 0;
            }
            if (silent) {
                // the FFT of zeros is zeros, every mel sum 0, clamped to 1e-10
                for (int m = 0; m < melBins; m++) {
                    log[m * stride + f] = SILENT_LOG;
                }
                max = Math.max(max, SILENT_LOG);
                continue;
            }
            fft.realForward(buf);
            // packed layout for even n: [Re0, Re(n/2), Re1, Im1, Re2, Im2, ...]
            power[0] = buf[0] * buf[0];
            power[BINS - 1] = buf[1] * buf[1];
            for (int k = 1; k < BINS - 1; k++) {
                double re = buf[2 * k];
                double im = buf[2 * k + 1];
                power[k] = re * re + im * im;
            }
            for (int m = 0; m < melBins; m++) {
                double acc = 0;
                int k = first[m];
                for (int j = start[m], e = end[m]; j < e; j++, k++) {
                    acc += weights[j] * power[k];
                }
                double l = Math.log10(Math.max(acc, 1e-10));
                log[m * stride + f] = l;
                if (l > max) {
                    max = l;
                }
            }
        }
        return max;
    }
}
