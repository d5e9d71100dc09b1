package dev.avatar4j.family.stableavatar;

/**
 * Progress hook of the denoising loop, called after window {@code window} has been advanced by
 * step {@code step} and written to the step's result.
 */
@FunctionalInterface
public interface StepListener {

    /** A listener that ignores every event. */
    StepListener NONE = (window, step) -> { };

    /**
     * Called once per (window, step), on the denoising thread.
     *
     * @param window the window just finished
     * @param step the step index i in [0, N)
     */
    void windowDone(Window window, int step);
}
