package dev.avatar4j.family;

import dev.avatar4j.media.RgbImage;
import java.util.Objects;

/**
 * A live session as its engine runs it: the reference image, the frame size, the sampler settings
 * of a diffusion family (steps, seed, prompt, guidance; the preview family uses the seed only), and
 * the speech as it is pushed ({@link LiveFeed}). The job never ends by itself: the engine renders a
 * frame each time {@link LiveFeed#awaitFrame} says one is due, until the session is closed. An
 * engine that can run it returns itself for this type from {@link FamilyEngine#runs}.
 *
 * @param image  the reference portrait
 * @param width  output width (multiple of 16)
 * @param height output height (multiple of 16)
 * @param steps  denoising steps of a diffusion family
 * @param seed   seeds the idle motion (blinks, head), or a diffusion family's noise
 * @param prompt the text prompt of a diffusion family, or null for the bundle's default
 * @param textGuidance  text guidance scale, or NaN for the bundle's default
 * @param audioGuidance audio guidance scale, or NaN for the bundle's default
 * @param feed   the pushed speech and the frame clock
 * @param lowLatency a diffusion family's low-latency mode ({@link dev.avatar4j.LiveOptions#lowLatency(boolean)})
 * @param fps    the session's frame rate: the engine's {@link FamilyEngine#fps()}, or another rate
 *               for an engine that {@link FamilyEngine#rendersAnyFps() renders at any rate}
 */
public record LiveRequest(RgbImage image, int width, int height, int steps, long seed, String prompt,
                          double textGuidance, double audioGuidance, LiveFeed feed, boolean lowLatency,
                          int fps)
        implements FamilyJob {
    /** Checks the request. */
    public LiveRequest {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(feed, "feed");
        if (fps < 1) {
            throw new IllegalArgumentException("fps must be positive, got " + fps);
        }
        if (image.width() < GenerationRequest.MIN_IMAGE_SIDE || image.height() < GenerationRequest.MIN_IMAGE_SIDE) {
            throw new dev.avatar4j.InvalidInputException("image is " + image.width() + "x" + image.height()
                    + " pixels, too small to show a face: give a portrait of at least "
                    + GenerationRequest.MIN_IMAGE_SIDE + "x" + GenerationRequest.MIN_IMAGE_SIDE);
        }
    }

    /**
     * A request with the bundle's sampler defaults (the preview family's form).
     *
     * @param image  the reference portrait
     * @param width  output width
     * @param height output height
     * @param seed   seeds the idle motion
     * @param feed   the pushed speech and the frame clock
     * @param fps    the session's frame rate
     */
    public LiveRequest(RgbImage image, int width, int height, long seed, LiveFeed feed, int fps) {
        this(image, width, height, 0, seed, null, Double.NaN, Double.NaN, feed, false, fps);
    }
}
