package dev.avatar4j.io;

import dev.avatar4j.media.AudioClip;
import java.util.Objects;

/**
 * One person of a multi-speaker generation: an audio track and the region of the frame it drives, as
 * fractions of the frame ({@code x, y} top-left, {@code w, h} size, all in [0, 1]). A latent pixel
 * belongs to the region when its centre {@code ((j + 0.5)/w_lat, (i + 0.5)/h_lat)} lies in
 * {@code [x, x + w) × [y, y + h)}.
 *
 * <p>The track is an {@link AudioSource}: a speaker's speech streamed from its file is read by range
 * as the engine needs it, never held whole, whatever its length.
 *
 * @param audio the speaker's track at the model's sample rate (empty or all zeros for a silent person)
 * @param x left edge
 * @param y top edge
 * @param w width
 * @param h height
 */
public record Speaker(AudioSource audio, double x, double y, double w, double h) {

    /** Validates the region. */
    public Speaker {
        Objects.requireNonNull(audio, "audio");
        if (!(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 1 + 1e-9 && y + h <= 1 + 1e-9)) {
            throw new IllegalArgumentException("region must lie inside the frame with positive size, got "
                    + x + "," + y + "," + w + "," + h);
        }
    }

    /**
     * A speaker over an in-memory track.
     *
     * @param audio the track
     * @param x left edge
     * @param y top edge
     * @param w width
     * @param h height
     */
    public Speaker(AudioClip audio, double x, double y, double w, double h) {
        this(AudioSource.of(audio), x, y, w, h);
    }

    /**
     * A speaker driving the whole frame.
     *
     * @param audio the track
     * @return the speaker
     */
    public static Speaker wholeFrame(AudioClip audio) {
        return new Speaker(audio, 0, 0, 1, 1);
    }

    /**
     * A speaker driving the whole frame.
     *
     * @param audio the track
     * @return the speaker
     */
    public static Speaker wholeFrame(AudioSource audio) {
        return new Speaker(audio, 0, 0, 1, 1);
    }

    /**
     * The same region with another track.
     *
     * @param track the new track
     * @return the speaker
     */
    public Speaker withAudio(AudioSource track) {
        return new Speaker(track, x, y, w, h);
    }

    /**
     * The region as a mask on the latent grid.
     *
     * @param lh latent height
     * @param lw latent width
     * @return {@code lh·lw} floats, 1 inside the region, 0 outside
     */
    public float[] mask(int lh, int lw) {
        float[] m = new float[lh * lw];
        for (int i = 0; i < lh; i++) {
            double cy = (i + 0.5) / lh;
            for (int j = 0; j < lw; j++) {
                double cx = (j + 0.5) / lw;
                if (x <= cx && cx < x + w && y <= cy && cy < y + h) {
                    m[i * lw + j] = 1f;
                }
            }
        }
        return m;
    }
}
