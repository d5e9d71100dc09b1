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
    public AudioClip {
        Objects.requireNonNull(samples, "samples");
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sampleRate must be positive, got " + sampleRate);
        }
    }

    public int length() {
        return samples.length;
    }

    public Duration duration() {
        return Duration.ofNanos(Math.round(samples.length * 1e9 / sampleRate));
    }
}
