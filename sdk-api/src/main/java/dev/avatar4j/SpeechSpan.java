package dev.avatar4j;

import java.time.Duration;

/**
 * The part of the speech pushed into a {@link LiveSession} that one frame shows: samples
 * {@code [start, end)} counted from the first sample pushed, at the model's {@link #sampleRate()}
 * (whatever rate the speech was pushed at; samples an {@link LiveSession#interrupt()} dropped are
 * counted too, so positions always match what was pushed). Consecutive speaking frames have
 * consecutive spans: every pushed sample that is shown is shown by exactly one frame, in order.
 * A player that wants picture and sound in sync plays the samples of a frame's span while the
 * frame is on screen.
 *
 * @param start      first sample shown, at least 0
 * @param end        one past the last sample shown, greater than {@code start}
 * @param sampleRate the rate the positions count at (the model's), positive
 */
public record SpeechSpan(long start, long end, int sampleRate) {
    /**
     * Checks the span.
     *
     * @throws IllegalArgumentException if {@code start < 0}, {@code end <= start} or the rate is not positive
     */
    public SpeechSpan {
        if (start < 0 || end <= start || sampleRate <= 0) {
            throw new IllegalArgumentException("bad speech span [" + start + ", " + end + ") @ " + sampleRate + " Hz");
        }
    }

    /**
     * Samples in the span.
     *
     * @return {@code end - start}
     */
    public long length() {
        return end - start;
    }

    /**
     * Where the span starts in the pushed speech.
     *
     * @return {@code start / sampleRate} seconds, to the nanosecond
     */
    public Duration startTime() {
        return Duration.ofNanos(Math.round(start * 1e9 / sampleRate));
    }

    /**
     * Where the span ends in the pushed speech.
     *
     * @return {@code end / sampleRate} seconds, to the nanosecond
     */
    public Duration endTime() {
        return Duration.ofNanos(Math.round(end * 1e9 / sampleRate));
    }

    /**
     * The span's first sample at another rate (the rate you pushed at, say): {@code floor(start · rate / sampleRate)}.
     * Spans converted this way stay consecutive.
     *
     * @param rate the other rate, positive
     * @return the position at {@code rate}
     */
    public long startAt(int rate) {
        checkRate(rate);
        return Math.floorDiv(start * (long) rate, sampleRate);
    }

    /**
     * The span's end at another rate, as {@link #startAt(int)} converts.
     *
     * @param rate the other rate, positive
     * @return the end position at {@code rate}
     */
    public long endAt(int rate) {
        checkRate(rate);
        return Math.floorDiv(end * (long) rate, sampleRate);
    }

    private static void checkRate(int rate) {
        if (rate <= 0) {
            throw new IllegalArgumentException("the rate must be positive, got " + rate);
        }
    }
}
