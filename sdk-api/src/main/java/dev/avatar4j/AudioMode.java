package dev.avatar4j;

/**
 * How the tracks of several speakers are laid out in time ({@link Avatar#audioMode(AudioMode)}).
 * The video's audio is the sum of the laid-out tracks.
 */
public enum AudioMode {
    /** All tracks start together and overlap; shorter ones end in silence (the reference's "para"). */
    PARALLEL,
    /**
     * Turn-taking: each track starts when the previous one ends, and every speaker is silent
     * outside their own turn (the reference's "add"); pauses inside a track stay where they are.
     */
    SEQUENTIAL
}
