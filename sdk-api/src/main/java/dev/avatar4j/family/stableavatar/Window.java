package dev.avatar4j.family.stableavatar;

/**
 * One sliding window over the latent timeline: latent frames {@code [start, end)}.
 *
 * @param index position of the window in its plan, from 0
 * @param start first latent frame (inclusive)
 * @param end last latent frame (exclusive)
 */
public record Window(int index, int start, int end) {

    /**
     * Validates the range.
     *
     * @throws IllegalArgumentException if the range is empty or negative
     */
    public Window {
        if (index < 0 || start < 0 || end <= start) {
            throw new IllegalArgumentException(
                    "invalid window #" + index + " [" + start + ", " + end + ")");
        }
    }

    /** {@return the number of latent frames, {@code end − start}} */
    public int length() {
        return end - start;
    }

    /**
     * Whether the window covers a latent frame.
     *
     * @param t latent frame index
     * @return whether frame t lies in this window
     */
    public boolean contains(int t) {
        return t >= start && t < end;
    }
}
