package dev.avatar4j;

/** What dubbing ({@link Dub}) does with video frames in which no face is found. */
public enum NoFace {
    /** Stop with an {@link InvalidInputException} naming the first frame without a face (the reference's behaviour). */
    FAIL,
    /** Copy such frames to the output unchanged. */
    PASSTHROUGH,
    /** Dub such frames with the face position of the nearest earlier frame that has one (of the first face before any). */
    HOLD
}
