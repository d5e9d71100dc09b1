package dev.avatar4j.audio;

import java.util.Arrays;

/**
 * {@link Resampler#resample} of input whose length is not known up front: samples are
 * {@link #accept accepted} in chunks of any size as they arrive and an output sample is produced as
 * soon as every input its taps reach is in; {@link #finish()} ends the input and produces the rest,
 * with the taps stopping at the last input sample. The outputs are, bit for bit, those
 * {@link Resampler#resample} gives for the whole input, however it was chunked. It holds only the
 * taps' span of input (about {@code 2·16/cutoff} samples) plus the last chunk. Not thread-safe.
 */
public final class OpenResampler {
    private final int fromRate;
    private final int toRate;
    private final double ratio;
    private final double cutoff;
    private final double halfWidth;
    /** Input samples {@code [bufStart, bufStart + bufLen)}. */
    private float[] buf = new float[256];
    private long bufStart;
    private int bufLen;
    /** Input samples accepted, and output samples produced. */
    private long in;
    private long out;

    /**
     * A resampler from {@code fromRate} to {@code toRate} Hz.
     *
     * @param fromRate input rate, positive
     * @param toRate   output rate, positive
     */
    public OpenResampler(int fromRate, int toRate) {
        if (fromRate <= 0 || toRate <= 0) {
            throw new IllegalArgumentException("sample rates must be positive");
        }
        this.fromRate = fromRate;
        this.toRate = toRate;
        this.ratio = (double) toRate / fromRate;
        this.cutoff = 0.95 * Math.min(1.0, ratio);
        this.halfWidth = 16 / cutoff; // Resampler.HALF_TAPS
    }

    /** The input rate. */
    public int fromRate() {
        return fromRate;
    }

    /**
     * Accepts {@code len} input samples and returns the outputs that became computable.
     *
     * @return the new output samples (possibly none)
     */
    public float[] accept(float[] src, int off, int len) {
        if (fromRate == toRate) {
            in += len;
            out += len;
            return Arrays.copyOfRange(src, off, off + len);
        }
        if (bufLen + len > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, bufLen + len));
        }
        System.arraycopy(src, off, buf, bufLen, len);
        bufLen += len;
        in += len;
        return produce(false);
    }

    /** Ends the input: returns the last outputs (taps clipped at the last input sample) and resets. */
    public float[] finish() {
        float[] rest = fromRate == toRate ? new float[0] : produce(true);
        reset();
        return rest;
    }

    /**
     * Output samples the input accepted so far stands for but that are not produced yet (what
     * {@link #finish()} would return): {@code round(in·to/from) − produced}.
     */
    public long pending() {
        return Resampler.outputLength(in, fromRate, toRate) - out;
    }

    /** Drops the input and starts over (a new, independent stream). */
    public void reset() {
        bufStart = 0;
        bufLen = 0;
        in = 0;
        out = 0;
    }

    private float[] produce(boolean last) {
        long total = last ? Resampler.outputLength(in, fromRate, toRate) : Long.MAX_VALUE;
        float[] res = new float[16];
        int n = 0;
        while (out < total) {
            double center = out / ratio;
            long lo = (long) Math.ceil(center - halfWidth);
            long hi = (long) Math.floor(center + halfWidth);
            if (!last && hi >= in) {
                break; // its taps reach input not yet here
            }
            long from = Math.max(lo, 0);
            long to = Math.min(hi, in - 1);
            if (n == res.length) {
                res = Arrays.copyOf(res, n * 2);
            }
            res[n++] = from > to ? 0f : Resampler.tap(buf, bufStart, from, to, center, cutoff, halfWidth);
            out++;
        }
        // keep the input from the next output's first tap on
        long keepFrom = Math.max(bufStart, Math.min(in, (long) Math.ceil(out / ratio - halfWidth)));
        int drop = (int) (keepFrom - bufStart);
        if (drop > 0) {
            System.arraycopy(buf, drop, buf, 0, bufLen - drop);
            bufLen -= drop;
            bufStart = keepFrom;
        }
        return Arrays.copyOf(res, n);
    }
}
