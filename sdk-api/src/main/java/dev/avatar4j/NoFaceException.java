package dev.avatar4j;

/**
 * The reference image shows no face the model's face detector can find, so nothing can be
 * animated. The message names the detector, the size of the image it searched, the scales and
 * rotations it tried and the best score it saw, so that the caller can tell a near miss (a
 * small, turned or partly hidden face: crop closer to the face and retry) from an image without a
 * face at all. Thrown by {@link Generation} like every {@link InvalidInputException}; the CLI maps it
 * to exit code 2.
 */
public class NoFaceException extends InvalidInputException {
    private static final long serialVersionUID = 1L;

    /** The highest face score the detector saw, in [0, 1] (part of the serialized form). */
    private final double bestScore;

    /**
     * Creates the exception.
     *
     * @param message   what was searched and how (detector, input size, scales, rotations)
     * @param bestScore the highest face score seen anywhere in the search, in [0, 1]
     */
    public NoFaceException(String message, double bestScore) {
        super(message);
        this.bestScore = bestScore;
    }

    /**
     * How close the search came to a face: a near miss scores just below the detector's threshold,
     * an image without a face near 0.
     *
     * @return the highest face score the detector saw anywhere in the image, in [0, 1]
     */
    public double bestScore() {
        return bestScore;
    }
}
