package dev.avatar4j;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * What a finished generation produced.
 *
 * @param output  the file written, if the generation wrote one
 * @param frames  number of frames delivered
 * @param width   frame width
 * @param height  frame height
 * @param fps     frame rate
 * @param steps   denoising steps that ran; 0 for a model without diffusion (the built-in preview
 *                model ignores the requested steps)
 * @param seed    the seed used
 * @param backend the backend that ran the graphs
 * @param elapsed wall time of the generation
 */
public record RenderResult(Optional<Path> output, int frames, int width, int height, int fps, int steps, long seed,
                           String backend, Duration elapsed) {

    /**
     * How long the video plays.
     *
     * @return {@code frames / fps} seconds, rounded to the nanosecond
     */
    public Duration videoDuration() {
        return Duration.ofNanos(Math.round(frames * 1e9 / fps));
    }
}
