package dev.avatar4j.family.stableavatar;

import java.lang.foreign.MemorySegment;

/**
 * The model side of the denoising loop: the guided velocity of one window at one step. In the
 * engine this runs the batched DiT branches and combines them with the guidance coefficients.
 */
@FunctionalInterface
public interface WindowVelocity {

    /**
     * Computes the guided velocity for a window.
     *
     * @param window the window being advanced
     * @param step step index i in [0, N)
     * @param timestep the model timestep t_i of that step
     * @param x the window's current latents, float32 {@code [C, k, h, w]}, k = window length;
     *     must not be modified
     * @param velocityOut destination of the guided velocity, float32 {@code [C, k, h, w]}
     */
    void velocity(Window window, int step, float timestep, MemorySegment x, MemorySegment velocityOut);
}
