package dev.avatar4j;

import java.util.Locale;

/**
 * A rectangle of the output frame given as fractions of its width and height: the part of the
 * picture one speaker drives in a multi-person generation ({@link Avatar#speaker(Region, java.nio.file.Path)}).
 * {@code (x, y)} is the top-left corner, {@code (w, h)} the size; the rectangle must lie inside the
 * frame. Fractions make a region independent of the output size.
 *
 * @param x left edge in [0, 1)
 * @param y top edge in [0, 1)
 * @param w width in (0, 1], with {@code x + w ≤ 1}
 * @param h height in (0, 1], with {@code y + h ≤ 1}
 */
public record Region(double x, double y, double w, double h) {

    /**
     * Validates the rectangle.
     *
     * @throws InvalidInputException if it is empty or leaves the frame
     */
    public Region {
        if (!(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 1 + 1e-9 && y + h <= 1 + 1e-9)) {
            throw new InvalidInputException("a region must lie inside the frame with a positive size, got x=" + x
                    + " y=" + y + " w=" + w + " h=" + h + " (fractions of the frame)");
        }
    }

    /** {@return the whole frame} */
    public static Region whole() {
        return new Region(0, 0, 1, 1);
    }

    /** {@return the left half of the frame} */
    public static Region leftHalf() {
        return new Region(0, 0, 0.5, 1);
    }

    /** {@return the right half of the frame} */
    public static Region rightHalf() {
        return new Region(0.5, 0, 0.5, 1);
    }

    /** The reference's margin around its default two-person boxes ({@code face_scale}). */
    static final double DEFAULT_MARGIN = 0.1;

    /**
     * The reference's default box of the first (left) of two persons given without boxes
     * (docs/REFERENCE.md §3 "Multi-person"): the left half inset by a 10 % margin of its size,
     * i.e. x in [0.05, 0.45), y in [0.1, 0.9) of the frame.
     *
     * @return the region
     */
    public static Region leftPerson() {
        return new Region(0.5 * DEFAULT_MARGIN, DEFAULT_MARGIN, 0.5 * (1 - 2 * DEFAULT_MARGIN), 1 - 2 * DEFAULT_MARGIN);
    }

    /**
     * The reference's default box of the second (right) of two persons: the right half inset by a
     * 10 % margin of its size, i.e. x in [0.55, 0.95), y in [0.1, 0.9) of the frame.
     *
     * @return the region
     */
    public static Region rightPerson() {
        return new Region(0.5 + 0.5 * DEFAULT_MARGIN, DEFAULT_MARGIN, 0.5 * (1 - 2 * DEFAULT_MARGIN),
                1 - 2 * DEFAULT_MARGIN);
    }

    /**
     * The default region of person {@code index} of {@code persons} given without a region: the
     * whole frame for one person, {@link #leftPerson()} and {@link #rightPerson()} for two.
     *
     * @param index the person's position (0-based)
     * @param persons how many persons the request has
     * @return the region
     * @throws InvalidInputException for three or more persons, whose regions must be given (the
     *         reference has no default for them either), or when {@code index} is not one of the
     *         {@code persons}
     */
    public static Region defaultFor(int index, int persons) {
        if (index < 0 || index >= persons) {
            throw new InvalidInputException("person " + index + " of " + persons + ": the index must be 0 to "
                    + (persons - 1));
        }
        return switch (persons) {
            case 1 -> whole();
            case 2 -> index == 0 ? leftPerson() : rightPerson();
            default -> throw new InvalidInputException("with " + persons + " persons every region must be given "
                    + "(x,y,w,h): there is a default only for one person (the whole frame) or two (left and right)");
        };
    }

    /**
     * Parses {@code "x,y,w,h"} (fractions, as the CLI's {@code --speaker} takes them).
     *
     * @param text four comma-separated numbers
     * @return the region
     * @throws InvalidInputException if the text is not four numbers or the region is invalid
     */
    public static Region parse(String text) {
        String[] parts = text == null ? new String[0] : text.split(",");
        if (parts.length != 4) {
            throw new InvalidInputException("a region is \"x,y,w,h\" (fractions of the frame), got \"" + text + "\"");
        }
        double[] v = new double[4];
        for (int i = 0; i < 4; i++) {
            try {
                v[i] = Double.parseDouble(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new InvalidInputException("a region is \"x,y,w,h\" (fractions of the frame), got \"" + text
                        + "\"");
            }
        }
        return new Region(v[0], v[1], v[2], v[3]);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "Region[%s,%s,%s,%s]", x, y, w, h);
    }
}
