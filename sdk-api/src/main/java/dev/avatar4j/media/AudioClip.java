package dev.avatar4j.media;

import java.time.Duration;
import java.util.Objects;

/**
 * Decoded mono audio as float32 samples in [-1, 1].
 *
 * @param samples    the samples; not copied — treat as read-only
 * @param sampleRate samples per second
 */
public record AudioClip(float[] samples, int sampleRate) {
    /**
     * Checks the arguments; the array is kept as is, not copied.
     *
     * @param samples    the samples; not null
     * @param sampleRate samples per second, positive
     * @throws NullPointerException if {@code samples} is null
     * @throws IllegalArgumentException if {@code sampleRate} is not positive
     */
    public AudioClip {
        Objects.requireNonNull(samples, "samples");
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sampleRate must be positive, got " + sampleRate);
        }
    }

    /**
     * The number of samples.
     *
     * @return {@code samples().length}
     */
    public int length() {
        return samples.length;
    }

    /**
     * How long the clip plays.
     *
     * @return {@code length() / sampleRate()} seconds, rounded to the nanosecond
     */
    public Duration duration() {
        return Duration.ofNanos(Math.round(samples.length * 1e9 / sampleRate));
    }
}
