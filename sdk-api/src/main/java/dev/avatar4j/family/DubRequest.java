package dev.avatar4j.family;

import dev.avatar4j.NoFace;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.VideoStream;
import java.util.Objects;

/**
 * A resolved dubbing job as the {@code latentsync} engine sees it: the video to re-sync, the new
 * speech decoded at the model's rate, every parameter set.
 *
 * @param video    opens the video; called once per pass over it, every stream must give the same frames
 * @param speech   the new speech at the model's sample rate, mono, not empty
 * @param steps    DDIM steps (1..1000)
 * @param guidance guidance scale (1 = no guidance), or NaN for the bundle's default
 * @param noFace   what to do with frames without a face
 * @param seed     seed of the shared noise frame and of the VAE posterior samples
 * @param posteriorMean {@code true}: the faces' VAE latents are the posterior mean; {@code false}: a
 *                 sample {@code mean + std · noise} (the reference's) where the bundle's encoder
 *                 returns the posterior's {@code std} (else the mean)
 */
public record DubRequest(VideoSource video, AudioClip speech, int steps, double guidance, NoFace noFace,
                         long seed, boolean posteriorMean) implements FamilyJob {

    /**
     * A request that samples the posterior where the bundle allows it ({@code posteriorMean} false).
     *
     * @param video    opens the video
     * @param speech   the new speech
     * @param steps    DDIM steps
     * @param guidance guidance scale or NaN
     * @param noFace   the no-face policy
     * @param seed     the seed
     */
    public DubRequest(VideoSource video, AudioClip speech, int steps, double guidance, NoFace noFace, long seed) {
        this(video, speech, steps, guidance, noFace, seed, false);
    }

    /** Checks the components. */
    public DubRequest {
        Objects.requireNonNull(video, "video");
        Objects.requireNonNull(speech, "speech");
        Objects.requireNonNull(noFace, "noFace");
    }

    /** Opens the video to dub as a stream, decoded on demand. */
    @FunctionalInterface
    public interface VideoSource {
        /**
         * Opens the video upright at {@code fps}, at most {@code maxFrames} frames.
         *
         * @param fps       the engine's frame rate
         * @param maxFrames the frames the speech needs
         * @return the stream, which the caller closes
         */
        VideoStream open(int fps, int maxFrames);
    }

    /** 0: the output keeps the video's size, known at the first frame. */
    @Override
    public int width() {
        return 0;
    }

    /** 0: the output keeps the video's size, known at the first frame. */
    @Override
    public int height() {
        return 0;
    }
}
