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
 * @param activity    what the generation is doing right now, in words, for a status line (for
 *                    example {@code "encoding audio, window 2/7"}, {@code "denoising window 3/7, step 12/30"},
 *                    {@code "decoding"}, {@code "muxing"}); engines that say nothing more get the stage's
 *                    name in lower case
 */
public record Progress(Stage stage, int framesDone, int framesTotal, long workDone, long workTotal, Duration elapsed,
                       String activity) {

    /** Checks the components; a null or blank {@code activity} becomes the stage's name in lower case. */
    public Progress {
        java.util.Objects.requireNonNull(stage, "stage");
        java.util.Objects.requireNonNull(elapsed, "elapsed");
        if (activity == null || activity.isBlank()) {
            activity = stage.name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * A snapshot whose {@link #activity()} is the stage's name in lower case.
     *
     * @param stage       what the generation is doing; not null
     * @param framesDone  frames delivered so far
     * @param framesTotal frames the video will have
     * @param workDone    units of model work done
     * @param workTotal   units of model work in the whole generation (0 while not yet known)
     * @param elapsed     time since the generation started; not null
     * @throws NullPointerException if {@code stage} or {@code elapsed} is null
     */
    public Progress(Stage stage, int framesDone, int framesTotal, long workDone, long workTotal, Duration elapsed) {
        this(stage, framesDone, framesTotal, workDone, workTotal, elapsed, null);
    }

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
     * Estimated time left from the average rate since the generation started; empty until some
     * work is done. The first unit of work carries the set-up (image and audio encoding, the first
     * graph run's warm-up), so early estimates are pessimistic; a display that wants a steady ETA
     * measures the rate between snapshots itself (as the CLI's progress bar does).
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
        return String.format("%s %d/%d frames, %.0f%% (%s)", stage, framesDone, framesTotal, fraction() * 100,
                activity);
    }
}
