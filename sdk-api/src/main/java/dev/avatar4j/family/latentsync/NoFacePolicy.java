package dev.avatar4j.family.latentsync;

import java.util.Locale;

/**
 * What dubbing does with a frame in which the {@link FaceLocator} finds no usable face. The
 * reference stops with "Face not detected"; that is {@link #FAIL}.
 */
enum NoFacePolicy {
    /** Stop, naming the first frame without a face. */
    FAIL,
    /** Leave the frame as it is (its mouth is not re-generated). */
    PASSTHROUGH,
    /** Use the nearest earlier face (or, before the first face, the first one found). */
    HOLD;

    /**
     * Parses the CLI spelling ({@code fail}, {@code passthrough}, {@code hold}).
     *
     * @throws IllegalArgumentException for anything else
     */
    static NoFacePolicy parse(String s) {
        if (s != null) {
            for (NoFacePolicy p : values()) {
                if (p.name().toLowerCase(Locale.ROOT).equals(s.trim().toLowerCase(Locale.ROOT))) {
                    return p;
                }
            }
        }
        throw new IllegalArgumentException("no-face policy must be fail, passthrough or hold, got " + s);
    }
}
