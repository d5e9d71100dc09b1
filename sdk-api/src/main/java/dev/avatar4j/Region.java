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

    /** {@return the left half of the frame (the reference's default for the first of two persons)} */
    public static Region leftHalf() {
        return new Region(0, 0, 0.5, 1);
    }

    /** {@return the right half of the frame (the reference's default for the second of two persons)} */
    public static Region rightHalf() {
        return new Region(0.5, 0, 0.5, 1);
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
