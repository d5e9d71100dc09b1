package dev.avatar4j.family.stableavatar;

import java.lang.foreign.MemorySegment;

/**
 * Receives latent frames as soon as they are final, i.e. once the last window covering the frame
 * has finished the last denoising step. In the engine this feeds the streaming VAE decoder.
 */
@FunctionalInterface
public interface FinalFrameSink {

    /**
     * Takes one final latent frame.
     *
     * <p>Called exactly once per frame, in increasing frame order, on the denoising thread. The
     * segment is a read-only view of a pooled buffer that is reused as soon as the call returns:
     * copy what must outlive the call.
     *
     * @param frame latent frame index in [0, T)
     * @param latents the frame's final latents, float32 {@code [C, h·w]}
     */
    void onFinal(int frame, MemorySegment latents);
}
