package dev.avatar4j.audio;

/**
 * The Whisper log-mel spectrogram as HF {@code WhisperFeatureExtractor} computes it with its
 * defaults (docs/REFERENCE.md §4.1), one 30 s chunk at a time:
 * <ol>
 *   <li>the chunk's waveform is zero-padded (or truncated) to 480 000 samples (30 s at 16 kHz);</li>
 *   <li>reflect padding of 200 samples on both sides, periodic Hann window of 400, hop 160,
 *       power spectrum {@code |rfft|²} over 201 bins, last frame dropped → 3000 frames;</li>
 *   <li>Slaney-scale, Slaney-normalised mel filters over 0–8000 Hz ({@code librosa.filters.mel});</li>
 *   <li>{@code L = log10(max(mel, 1e-10))}, {@code L = max(L, max(L) − 8)} with the maximum over
 *       the whole chunk, then {@code (L + 4)/4}.</li>
 * </ol>
 * LongCat (v1.5) feeds 480 000-sample slices of the loudness-normalised speech through it, so each
 * chunk is normalised by its own maximum and a partial last chunk ends in zero-waveform padding
 * whose value is {@code (max − 8 + 4)/4}.
 *
 * <p>Arithmetic is float64 (the FFT is JTransforms'), the result float32. The HF numpy path keeps
 * the complex spectrum in complex64 and its torch path runs in float32, so the reference itself
 * varies at the 1e-6 level.
 *
 * <p>The STFT, the (sparse) filter bank and the logarithm are {@link LogMelCore}'s, shared with
 * {@link WhisperLogMelWholeFile}.
 *
 * <p>Thread-safe: the filter bank is immutable; each call allocates its own FFT buffers.
 */
public final class WhisperLogMel {

    /** Sample rate of the input in Hz. */
    public static final int SAMPLE_RATE = 16_000;
    /** FFT size and window length. */
    public static final int N_FFT = 400;
    /** Hop between frames in samples. */
    public static final int HOP = 160;
    /** Samples of one 30 s chunk. */
    public static final int CHUNK_SAMPLES = 480_000;
    /** Frames of one chunk. */
    public static final int CHUNK_FRAMES = CHUNK_SAMPLES / HOP;

    private static final int BINS = LogMelCore.BINS;

    private final LogMelCore core;

    /**
     * Creates the extractor.
     *
     * @param melBins number of mel bins: 128 for Whisper large-v3, 80 for earlier models
     */
    public WhisperLogMel(int melBins) {
        if (melBins < 1 || melBins > 512) {
            throw new IllegalArgumentException("melBins must be in [1, 512], got " + melBins);
        }
        this.core = new LogMelCore(melFilterBank(melBins));
    }

    /** {@return the number of mel bins} */
    public int melBins() {
        return core.melBins();
    }

    /**
     * The number of 30 s chunks LongCat makes of a signal: {@code ceil(samples / 480000)}.
     *
     * @param samples signal length
     * @return chunk count (0 for an empty signal)
     */
    public static int chunkCount(long samples) {
        if (samples < 0) {
            throw new IllegalArgumentException("samples must be >= 0, got " + samples);
        }
        return (int) ((samples + CHUNK_SAMPLES - 1) / CHUNK_SAMPLES);
    }

    /**
     * The Slaney mel filter bank (Slaney scale and area normalisation, 0–8000 Hz, 201 FFT bins at
     * 40 Hz spacing), equal to {@code librosa.filters.mel(sr=16000, n_fft=400, n_mels=melBins)}.
     *
     * @param melBins number of filters
     * @return {@code [melBins][201]} weights
     */
    public static double[][] melFilterBank(int melBins) {
        double[] fftFreqs = new double[BINS];
        for (int k = 0; k < BINS; k++) {
            // np.linspace(0, 8000, 201)
            fftFreqs[k] = k == BINS - 1 ? SAMPLE_RATE / 2.0 : k * ((SAMPLE_RATE / 2.0) / (BINS - 1));
        }
        double melMin = hzToMel(0.0);
        double melMax = hzToMel(SAMPLE_RATE / 2.0);
        double[] hz = new double[melBins + 2];
        double step = (melMax - melMin) / (melBins + 1);
        for (int i = 0; i < melBins + 2; i++) {
            double m = i == melBins + 1 ? melMax : melMin + i * step;
            hz[i] = melToHz(m);
        }
        double[][] w = new double[melBins][BINS];
        for (int i = 0; i < melBins; i++) {
            double lowerWidth = hz[i + 1] - hz[i];
            double upperWidth = hz[i + 2] - hz[i + 1];
            double enorm = 2.0 / (hz[i + 2] - hz[i]);
            for (int k = 0; k < BINS; k++) {
                double lower = -(hz[i] - fftFreqs[k]) / lowerWidth;
                double upper = (hz[i + 2] - fftFreqs[k]) / upperWidth;
                w[i][k] = Math.max(0, Math.min(lower, upper)) * enorm;
            }
        }
        return w;
    }

    private static final double LOGSTEP = Math.log(6.4) / 27.0;

    private static double hzToMel(double f) {
        return f >= 1000.0 ? 15.0 + Math.log(f / 1000.0) / LOGSTEP : 3.0 * f / 200.0;
    }

    private static double melToHz(double m) {
        return m >= 15.0 ? 1000.0 * Math.exp(LOGSTEP * (m - 15.0)) : 200.0 * m / 3.0;
    }

    /**
     * The log-mel features of one chunk: samples {@code [offset, offset + 480000)} of the signal,
     * zero beyond its end.
     *
     * @param samples 16 kHz mono signal
     * @param offset first sample of the chunk, in {@code [0, samples.length]}
     * @return {@code [melBins][3000]} row-major (mel-major) float32 features
     */
    public float[] chunk(float[] samples, int offset) {
        if (offset < 0 || offset > samples.length) {
            throw new IllegalArgumentException("offset " + offset + " outside [0, " + samples.length + "]");
        }
        int valid = Math.min(CHUNK_SAMPLES, samples.length - offset);
        double[] x = new double[CHUNK_SAMPLES + N_FFT];  // reflect-padded chunk
        int pad = N_FFT / 2;
        for (int i = 0; i < valid; i++) {
            x[pad + i] = samples[offset + i];
        }
        for (int j = 1; j <= pad; j++) {
            x[pad - j] = x[pad + j];                                      // x[-j] = x[j]
            x[pad + CHUNK_SAMPLES - 1 + j] = x[pad + CHUNK_SAMPLES - 1 - j]; // x[N-1+j] = x[N-1-j]
        }
        double[] mel = new double[core.melBins() * CHUNK_FRAMES];
        double max = core.logMel(x, CHUNK_FRAMES, mel, CHUNK_FRAMES);
        double floor = max - 8.0;
        float[] out = new float[mel.length];
        for (int i = 0; i < mel.length; i++) {
            out[i] = (float) ((Math.max(mel[i], floor) + 4.0) / 4.0);
        }
        return out;
    }
}
