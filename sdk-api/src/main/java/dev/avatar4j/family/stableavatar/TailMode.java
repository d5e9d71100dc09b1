package dev.avatar4j.family.stableavatar;

/** How the audio of the last (shorter) DWSW window is sliced; see {@link AudioWindowSlicer}. */
public enum TailMode {

    /**
     * The reference: the last window takes the audio from its start to the end of the file. The
     * adapter still splits it into 21 latent slots as if it covered a full window, so its audio is
     * time-compressed relative to its k &lt; 21 latents (about 81/(4(k−1)+1) times).
     */
    REFERENCE,

    /**
     * Our fix: the last window takes a full window's duration ({@code sliceFrames} frames) from its
     * start; the part past the end of the audio is zero-padded by the caller. Its tokens then keep
     * the real rate of about 2 per video frame and line up with its latents.
     */
    CORRECTED
}
