package dev.avatar4j.media;

import java.nio.file.Path;
import java.util.Objects;

/**
 * What a video sink writes.
 *
 * @param width     frame width in pixels
 * @param height    frame height in pixels
 * @param fps       frame rate; timestamps are exact multiples of {@code 1/fps}
 * @param audio     the decoded input audio, muxed into the video; empty when the speech is
 *                  streamed from {@code audioFile} during generation (a long file is never held
 *                  in memory), so a sink must then read {@code audioFile} itself
 * @param audioFile the original audio file when there is one (muxed at its own quality when the
 *                  sink can read it); may be null
 */
public record VideoSpec(int width, int height, int fps, AudioClip audio, Path audioFile) {
    public VideoSpec {
        if (width <= 0 || height <= 0 || fps <= 0) {
            throw new IllegalArgumentException("bad video spec " + width + "x" + height + " @ " + fps);
        }
        Objects.requireNonNull(audio, "audio");
    }
}
