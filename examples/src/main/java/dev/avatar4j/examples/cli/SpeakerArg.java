package dev.avatar4j.examples.cli;

import dev.avatar4j.Region;
import java.nio.file.Path;

/**
 * A {@code --speaker} value of {@code generate} and {@code plan}: {@code X,Y,W,H:FILE} (the region
 * as fractions of the frame, then the speech) or just {@code FILE}, which takes the default region
 * of its position ({@link Region#defaultFor}: the whole frame for one person, the left and right
 * halves inset by a 10 % margin for two).
 *
 * @param region the region, or null for the default
 * @param file the speech
 */
record SpeakerArg(Region region, Path file) {

    /**
     * Parses a value. The text before the first colon is a region when it is four comma-separated
     * fields; otherwise the whole value is the file.
     *
     * @param value the option's value
     * @return the speaker
     * @throws IllegalArgumentException when the value is empty or names no file
     * @throws dev.avatar4j.InvalidInputException when the region is malformed or leaves the frame
     */
    static SpeakerArg parse(String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("--speaker wants X,Y,W,H:FILE or FILE (e.g. 0,0,0.5,1:left.wav)");
        }
        int colon = value.indexOf(':');
        if (colon >= 0 && value.substring(0, colon).split(",", -1).length == 4) {
            if (colon == value.length() - 1) {
                throw new IllegalArgumentException("--speaker wants X,Y,W,H:FILE (e.g. 0,0,0.5,1:left.wav), got '"
                        + value + "'");
            }
            return new SpeakerArg(Region.parse(value.substring(0, colon)), Path.of(value.substring(colon + 1)));
        }
        Path file = Path.of(value);
        if (value.matches("\\s*[-+0-9.eE]+(\\s*,\\s*[-+0-9.eE]+){3}\\s*") && !java.nio.file.Files.exists(file)) {
            throw new IllegalArgumentException("--speaker wants X,Y,W,H:FILE or FILE (e.g. 0,0,0.5,1:left.wav), got '"
                    + value + "': a region without a file");
        }
        return new SpeakerArg(null, file);
    }
}
