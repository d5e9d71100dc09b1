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
            long lo = (long) Math.ceil(center - halfWidth);
            long hi = (long) Math.floor(center + halfWidth);
            out[j] = tap(in, 0, Math.max(lo, 0), Math.min(hi, in.length - 1), center, cutoff, halfWidth);
        }
        return out;
    }

    /**
     * Output length of {@link #resample} for {@code n} input samples: {@code round(n·to/from)}.
     *
     * @param n        input samples
     * @param fromRate input rate
     * @param toRate   output rate
     * @return the number of output samples
     */
    public static long outputLength(long n, int fromRate, int toRate) {
        return fromRate == toRate ? n : (long) Math.floor((double) n * toRate / fromRate + 0.5);
    }

    /**
     * One output sample: the taps over input samples {@code [from, to]} (inclusive), which
     * {@code buf} holds from index {@code bufStart} on.
     */
    static float tap(float[] buf, long bufStart, long from, long to, double center, double cutoff,
                             double halfWidth) {
        double acc = 0;
        double norm = 0;
        for (long k = from; k <= to; k++) {
            double x = k - center;
            double w = kaiser(Math.abs(x) / halfWidth) * sinc(x * cutoff) * cutoff;
            acc += w * buf[(int) (k - bufStart)];
            norm += w;
        }
        // normalising by the tap sum keeps the DC gain exactly 1, also at the edges
        return norm == 0 ? 0f : (float) (acc / norm);
    }

    /**
     * {@link #resample} as a stream: reads the input front to back and returns exactly the
     * samples {@code resample} returns for the whole input, bit for bit, holding only the taps'
     * span of input (about {@code 2·16/cutoff} samples) plus one read chunk. The input's length
     * must be known up front (the last output samples' taps stop at the last input sample).
     */
    public static final class Incremental implements dev.avatar4j.media.AudioStream {
        private static final int CHUNK = 8192;
        private final dev.avatar4j.media.AudioStream in;
        private final long inLength;
        private final long outLength;
        private final double ratio;
        private final double cutoff;
        private final double halfWidth;
        private float[] buf;
        /** The buffer holds input samples {@code [bufStart, bufEnd)}. */
        private long bufStart;
        private long bufEnd;
        private long next;

        /**
         * @param in       the input at {@code fromRate}, mono, exactly {@code inLength} samples
         * @param inLength the number of input samples
         * @param fromRate input rate
         * @param toRate   output rate
         */
        public Incremental(dev.avatar4j.media.AudioStream in, long inLength, int fromRate, int toRate) {
            if (fromRate <= 0 || toRate <= 0 || inLength < 0) {
                throw new IllegalArgumentException("bad resampling " + inLength + " samples " + fromRate + " -> "
                        + toRate);
            }
            this.in = java.util.Objects.requireNonNull(in, "in");
            this.inLength = inLength;
            this.outLength = Resampler.outputLength(inLength, fromRate, toRate);
            this.ratio = (double) toRate / fromRate;
            this.cutoff = 0.95 * Math.min(1.0, ratio);
            this.halfWidth = HALF_TAPS / cutoff;
            this.buf = new float[(int) Math.ceil(2 * halfWidth) + 2 + CHUNK];
        }

        /** The number of output samples. */
        public long outputLength() {
            return outLength;
        }

        /** The input buffer's capacity in floats (tests: it stays the taps' span plus a chunk). */
        int bufferLength() {
            return buf.length;
        }

        @Override
        public int read(float[] dst, int off, int len) {
            java.util.Objects.checkFromIndexSize(off, len, dst.length);
            if (len == 0) {
                return 0;
            }
            if (next >= outLength) {
                return -1;
            }
            if (ratio == 1.0) { // equal rates: the input itself, as resample returns it
                int n = in.read(dst, off, (int) Math.min(len, outLength - next));
                if (n < 0) {
                    throw new dev.avatar4j.InvalidInputException("audio ended after " + next + " of its "
                            + inLength + " samples");
                }
                next += n;
                return n;
            }
            int n = 0;
            while (n < len && next < outLength) {
                double center = next / ratio;
                long lo = (long) Math.ceil(center - halfWidth);
                long hi = (long) Math.floor(center + halfWidth);
                long from = Math.max(lo, 0);
                long to = Math.min(hi, inLength - 1);
                ensure(from, to);
                dst[off + n++] = tap(buf, bufStart, from, to, center, cutoff, halfWidth);
                next++;
            }
            return n;
        }

        /**
         * Makes the buffer hold input {@code [from, to]}; {@code from} never decreases. Samples
         * before {@code from} are dropped only when the buffer is full (once per chunk).
         */
        private void ensure(long from, long to) {
            while (bufEnd <= to) {
                if (bufEnd - bufStart == buf.length) {
                    long drop = Math.min(from, bufEnd) - bufStart;
                    if (drop > 0) {
                        System.arraycopy(buf, (int) drop, buf, 0, (int) (bufEnd - bufStart - drop));
                        bufStart += drop;
                    } else {
                        buf = java.util.Arrays.copyOf(buf, buf.length * 2);
                    }
                }
                int used = (int) (bufEnd - bufStart);
                int n = in.read(buf, used, (int) Math.min(buf.length - used, inLength - bufEnd));
                if (n < 0) {
                    throw new dev.avatar4j.InvalidInputException("audio ended after " + bufEnd + " of its "
                            + inLength + " samples while resampling");
                }
                bufEnd += n;
            }
        }

        @Override
        public void close() {
            in.close();
        }
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
