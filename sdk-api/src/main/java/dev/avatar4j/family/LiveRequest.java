package dev.avatar4j.family;

import dev.avatar4j.media.RgbImage;
import java.util.Objects;

/**
 * A live session as its engine runs it: the reference image, the frame size and seed, and the
 * speech as it is pushed ({@link LiveFeed}). The job never ends by itself: the engine renders a
 * frame each time {@link LiveFeed#awaitFrame} says one is due, until the session is closed. An
 * engine that can run it returns itself for this type from {@link FamilyEngine#runs}.
 *
 * @param image  the reference portrait
 * @param width  output width (multiple of 16)
 * @param height output height (multiple of 16)
 * @param seed   seeds the idle motion (blinks, head)
 * @param feed   the pushed speech and the frame clock
 */
public record LiveRequest(RgbImage image, int width, int height, long seed, LiveFeed feed) implements FamilyJob {
    /** Checks the request. */
    public LiveRequest {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(feed, "feed");
        if (image.width() < GenerationRequest.MIN_IMAGE_SIDE || image.height() < GenerationRequest.MIN_IMAGE_SIDE) {
            throw new dev.avatar4j.InvalidInputException("image is " + image.width() + "x" + image.height()
                    + " pixels, too small to show a face: give a portrait of at least "
                    + GenerationRequest.MIN_IMAGE_SIDE + "x" + GenerationRequest.MIN_IMAGE_SIDE);
        }
    }

    /** 0: a live session has no sampler steps. */
    @Override
    public int steps() {
        return 0;
    }
}
