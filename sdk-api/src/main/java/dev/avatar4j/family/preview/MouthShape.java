package dev.avatar4j.family.preview;

/**
 * Mouth parameters of one video frame.
 *
 * @param open  jaw/lip opening, 0 = closed … 1 = wide open
 * @param width lip stretch, −1 = narrow … 0 = neutral … 1 = wide (a smile-like spread)
 * @param round lip rounding, 0 = none … 1 = fully rounded ("oo")
 */
record MouthShape(double open, double width, double round) {
    static final MouthShape CLOSED = new MouthShape(0, 0, 0);

    MouthShape {
        open = Math.clamp(open, 0, 1);
        width = Math.clamp(width, -1, 1);
        round = Math.clamp(round, 0, 1);
    }
}
