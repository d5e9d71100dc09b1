package dev.avatar4j;

import java.time.Duration;
import java.util.Optional;

/**
 * A snapshot of a generation's progress.
 *
 * @param stage       what the generation is doing
 * @param framesDone  frames delivered so far
 * @param framesTotal frames the video will have
 * @param workDone    units of model work done (denoising forward passes plus decoded latent frames)
 * @param workTotal   units of model work in the whole generation
 * @param elapsed     time since the generation started
 */
public record Progress(Stage stage, int framesDone, int framesTotal, long workDone, long workTotal, Duration elapsed) {

    /** Phases of a generation. */
    public enum Stage {
        /** Decoding inputs, encoding the image, preparing conditioning. */
        PREPARING,
        /** Running the denoiser. */
        DENOISING,
        /** Decoding latents to frames. */
        DECODING,
        /** All frames delivered; finishing the output. */
        FINISHING,
        /** Finished successfully. */
        DONE
    }

    /**
     * How much of the work is done, for a progress bar.
     *
     * @return the fraction of the work done, in [0, 1]; 0 while the total is not yet known
     */
    public double fraction() {
        return workTotal <= 0 ? 0 : Math.min(1.0, (double) workDone / workTotal);
    }

    /**
     * The estimated time left, extrapolated from the rate so far.
     *
     * @return the estimate, or empty until some work is done and the total is known
     */
    public Optional<Duration> eta() {
        if (workDone <= 0 || workTotal <= 0) {
            return Optional.empty();
        }
        long nanosLeft = (long) (elapsed.toNanos() * ((double) (workTotal - workDone) / workDone));
        return Optional.of(Duration.ofNanos(Math.max(0, nanosLeft)));
    }

    @Override
    public String toString() {
        return String.format("%s %d/%d frames, %.0f%%", stage, framesDone, framesTotal, fraction() * 100);
    }
}
