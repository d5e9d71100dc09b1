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
 * @param quality     the video quality on a CRF-like scale: {@value #MIN_QUALITY} (best, largest
 *                    file) to {@value #MAX_QUALITY} (smallest file), {@value #DEFAULT_QUALITY} by
 *                    default; the FFmpeg sink caps the H.264 quantiser at this value (libopenh264),
 *                    or uses it as the CRF (libx264) or scaled to VP9's 0–63 CRF (WebM). 0 means
 *                    the default
 * @param bitrate     the video bit rate the encoder aims at, in bit/s, or 0 to let {@code quality}
 *                    alone decide
 */
public record VideoSpec(int width, int height, int fps, AudioClip audio, Path audioFile,
                        Supplier<AudioStream> audioStream, int quality, long bitrate) {
    /** The best quality. */
    public static final int MIN_QUALITY = 1;
    /** The lowest quality (smallest file). */
    public static final int MAX_QUALITY = 51;
    /**
     * The default quality: pixels the model did not touch stay within about 1.5 dB PSNR of a plain
     * 4:2:0 round trip of the input (docs/CLI.md, "Video output and quality").
     */
    public static final int DEFAULT_QUALITY = 16;

    /** Validates the spec. */
    public VideoSpec {
        if (width <= 0 || height <= 0 || fps <= 0) {
            throw new IllegalArgumentException("bad video spec " + width + "x" + height + " @ " + fps);
        }
        Objects.requireNonNull(audio, "audio");
        if (quality != 0 && (quality < MIN_QUALITY || quality > MAX_QUALITY)) {
            throw new IllegalArgumentException("quality must be " + MIN_QUALITY + ".." + MAX_QUALITY + " (or 0 for "
                    + DEFAULT_QUALITY + "), got " + quality);
        }
        if (bitrate < 0) {
            throw new IllegalArgumentException("bitrate must be >= 0 (0: automatic), got " + bitrate);
        }
    }

    /**
     * A spec with the default encoding.
     *
     * @param width       frame width in pixels
     * @param height      frame height in pixels
     * @param fps         frame rate
     * @param audio       the decoded audio (empty when streamed)
     * @param audioFile   the original audio file, or null
     * @param audioStream opens the audio to mux as a stream, or null
     */
    public VideoSpec(int width, int height, int fps, AudioClip audio, Path audioFile,
                     Supplier<AudioStream> audioStream) {
        this(width, height, fps, audio, audioFile, audioStream, 0, 0);
    }

    /**
     * This spec with another encoding.
     *
     * @param quality see {@link #quality()}; 0 for the default
     * @param bitrate see {@link #bitrate()}; 0 for automatic
     * @return the new spec
     */
    public VideoSpec withEncoding(int quality, long bitrate) {
        return new VideoSpec(width, height, fps, audio, audioFile, audioStream, quality, bitrate);
    }

    /**
     * The quality to encode at.
     *
     * @return {@link #quality()}, or {@link #DEFAULT_QUALITY} when it is 0
     */
    public int effectiveQuality() {
        return quality == 0 ? DEFAULT_QUALITY : quality;
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
