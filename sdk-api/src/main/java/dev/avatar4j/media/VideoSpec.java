package dev.avatar4j.media;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * What a video sink writes.
 *
 * @param width       frame width in pixels
 * @param height      frame height in pixels
 * @param fps         frame rate; timestamps are exact multiples of {@code 1/fps}
 * @param audio       the decoded input audio, muxed into the video; empty when the speech is
 *                    streamed (from {@code audioFile}, or from {@code audioStream}) during
 *                    generation, so that a long input is never held in memory; its sample rate is
 *                    then that of {@code audioStream}
 * @param audioFile   the original audio file when there is one (muxed at its own quality when the
 *                    sink can read it); may be null
 * @param audioStream opens the audio to mux as a stream at {@code audio().sampleRate()} (for
 *                    example the mix of several speakers' tracks, read chunk by chunk), used when
 *                    {@code audio} is empty and there is no readable {@code audioFile}; the sink
 *                    closes what it opens; may be null
 */
public record VideoSpec(int width, int height, int fps, AudioClip audio, Path audioFile,
                        Supplier<AudioStream> audioStream) {
    /** Validates the spec. */
    public VideoSpec {
        if (width <= 0 || height <= 0 || fps <= 0) {
            throw new IllegalArgumentException("bad video spec " + width + "x" + height + " @ " + fps);
        }
        Objects.requireNonNull(audio, "audio");
    }

    /**
     * A spec without a streamed audio source.
     *
     * @param width     frame width in pixels
     * @param height    frame height in pixels
     * @param fps       frame rate
     * @param audio     the decoded audio (empty when {@code audioFile} is read by the sink)
     * @param audioFile the original audio file, or null
     */
    public VideoSpec(int width, int height, int fps, AudioClip audio, Path audioFile) {
        this(width, height, fps, audio, audioFile, null);
    }
}
