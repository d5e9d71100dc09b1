package dev.avatar4j.family.stableavatar;

import java.lang.foreign.MemorySegment;

/**
 * Supplies the initial (pure-noise) latents of one latent frame on demand, so that a streaming
 * denoiser never materialises the whole timeline. In the engine this derives the frame's noise
 * from (seed, frame index) with a counter-based generator; parity tests inject recorded noise.
 */
@FunctionalInterface
public interface InitialLatents {

    /**
     * Writes the initial latents of one frame.
     *
     * <p>Called at most once per frame, in increasing frame order, on the denoising thread. The
     * destination is zero-filled on entry; it is only valid during the call.
     *
     * @param frame latent frame index in [0, T)
     * @param dst destination, float32 {@code [C, h·w]} (C·h·w floats)
     */
    void fill(int frame, MemorySegment dst);
}
