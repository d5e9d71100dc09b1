package dev.avatar4j.audio;

/**
 * Band-limited resampling of mono audio (windowed-sinc interpolation, Kaiser window, cut-off at
 * 0.95 × the lower Nyquist frequency). Used by the JDK-only media path; {@code sdk-media} uses
 * FFmpeg's resampler instead.
 */
public final class Resampler {
    private static final int HALF_TAPS = 16; // zero crossings each side: ~-80 dB stop band with beta 8
    private static final double BETA = 8.0;
    private static final int TABLE = 8192;
    /** Kaiser window sampled on [0, 1] (it is symmetric); interpolated linearly per tap. */
    private static final double[] KAISER = kaiserTable();

    private Resampler() {
    }

    /** Resamples {@code in} from {@code fromRate} to {@code toRate} Hz. Output length = round(n·to/from). */
    public static float[] resample(float[] in, int fromRate, int toRate) {
        if (fromRate <= 0 || toRate <= 0) {
            throw new IllegalArgumentException("sample rates must be positive");
        }
        if (fromRate == toRate) {
            return in.clone();
        }
        double exact = Math.floor((double) in.length * toRate / fromRate + 0.5);
        if (exact > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("resampling " + in.length + " samples from " + fromRate + " to " + toRate
                    + " Hz gives more samples than an array holds");
        }
        int outLen = (int) exact;
        float[] out = new float[outLen];
        double ratio = (double) toRate / fromRate;
        double cutoff = 0.95 * Math.min(1.0, ratio); // relative to the input Nyquist frequency
        double halfWidth = HALF_TAPS / cutoff;        // in input samples
        for (int j = 0; j < outLen; j++) {
            double center = j / ratio;
            int lo = (int) Math.ceil(center - halfWidth);
            int hi = (int) Math.floor(center + halfWidth);
            double acc = 0;
            double norm = 0;
            for (int k = Math.max(lo, 0); k <= Math.min(hi, in.length - 1); k++) {
                double x = k - center;
                double w = kaiser(Math.abs(x) / halfWidth) * sinc(x * cutoff) * cutoff;
                acc += w * in[k];
                norm += w;
            }
            // normalising by the tap sum keeps the DC gain exactly 1, also at the edges
            out[j] = norm == 0 ? 0f : (float) (acc / norm);
        }
        return out;
    }

    private static double sinc(double x) {
        if (Math.abs(x) < 1e-12) {
            return 1.0;
        }
        double px = Math.PI * x;
        return Math.sin(px) / px;
    }

    private static double kaiser(double t) {
        if (t >= 1) {
            return 0;
        }
        double pos = t * TABLE;
        int i = (int) pos;
        double f = pos - i;
        return KAISER[i] * (1 - f) + KAISER[i + 1] * f;
    }

    private static double[] kaiserTable() {
        double[] table = new double[TABLE + 2];
        double i0Beta = besselI0(BETA);
        for (int i = 0; i <= TABLE; i++) {
            double t = (double) i / TABLE;
            table[i] = besselI0(BETA * Math.sqrt(Math.max(0, 1 - t * t))) / i0Beta;
        }
        return table;
    }

    private static double besselI0(double x) {
        double sum = 1;
        double term = 1;
        double half = x / 2;
        for (int k = 1; k < 50; k++) {
            term *= (half / k) * (half / k);
            sum += term;
            if (term < 1e-12 * sum) {
                break;
            }
        }
        return sum;
    }

    /** Averages interleaved channels to mono. */
    public static float[] downmix(float[] interleaved, int channels) {
        if (channels == 1) {
            return interleaved;
        }
        float[] out = new float[interleaved.length / channels];
        for (int i = 0; i < out.length; i++) {
            double s = 0;
            for (int c = 0; c < channels; c++) {
                s += interleaved[i * channels + c];
            }
            out[i] = (float) (s / channels);
        }
        return out;
    }
}
