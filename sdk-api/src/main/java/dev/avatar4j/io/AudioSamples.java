package dev.avatar4j.io;

import dev.avatar4j.InvalidInputException;

/**
 * The range audio samples must lie in, checked where samples enter the SDK (given by the caller,
 * or decoded from a file before any resampling, so that the value reported is the one in the input).
 * Full scale is ±1; float audio may exceed it a little, but a sample beyond ±{@value #MAX_ABS}
 * (36 dB over full scale) means corrupt or unnormalised data and is refused, not clipped: an
 * encoder given 1e30 fails with an opaque error, and clipping would silently turn it into noise.
 */
public final class AudioSamples {
    /** The largest magnitude accepted for a sample. */
    public static final float MAX_ABS = 64f;

    private AudioSamples() {
    }

    /**
     * Checks {@code n} samples of {@code a} from {@code from}; {@code position} is the index of the
     * first in the whole audio.
     *
     * @throws InvalidInputException naming the audio, the sample, its index and what is wrong with it
     */
    public static void check(float[] a, int from, int n, long position, String name) {
        for (int i = 0; i < n; i++) {
            float v = a[from + i];
            if (!(Math.abs(v) <= MAX_ABS)) {
                throw invalid(v, position + i, name);
            }
        }
    }

    static InvalidInputException invalid(float v, long index, String name) {
        String what = Float.isNaN(v) ? "a non-finite sample (NaN)"
                : Float.isInfinite(v) ? "a non-finite sample (" + (v > 0 ? "+Inf" : "-Inf") + ")"
                : "an out-of-range sample (" + v + "; samples must lie within ±" + (int) MAX_ABS + ", full scale is ±1)";
        return new InvalidInputException(name + " contains " + what + " at index " + index);
    }
}
