package dev.avatar4j.family.stableavatar;

import dev.avatar4j.sampling.SigmaSchedule;
import dev.avatar4j.sampling.EulerStep;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * StableAvatar's DWSW denoising loop in its original lock-step order (docs/REFERENCE.md §1.5):
 * at every step i, every window is advanced once, in order, over one timeline as long as the video.
 *
 * <pre>
 * for i in 0..N−1:
 *   fused = zeros
 *   for each window [s, e) in order:
 *     x = latents[s:e]                      (the previous step's fused result)
 *     x = x + (σ_{i+1} − σ_i) · v̂(x, t_i)
 *     if window index != 0 and i != 0:      (never for window 0, never at step 0)
 *       x[j] = w_j·x[j] + (1 − w_j)·fused[s + j]   for j in 0..O−1
 *     fused[s:e] = x                        (the later window overwrites the overlap)
 *   latents = fused
 * </pre>
 *
 * The overlap partner {@code fused[s + j]} is the previous window's result of the <em>same</em>
 * step ({@code s + j = prevEnd − O + j} because consecutive windows overlap by exactly O). At step 0
 * the blend is skipped, so there the later window simply overwrites the overlap: a reference quirk
 * kept on purpose. Blending acts on the updated latents, never on velocities.
 *
 * <p>All arithmetic is float32 (the reference runs bf16). This class is the correctness baseline
 * for the streaming wavefront order that replaces it.
 */
public final class LockstepDenoiser {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final WindowPlan plan;
    private final float[] weights;
    private final SigmaSchedule schedule;
    private final int channels;
    private final long hw;

    /**
     * Prepares a denoiser; it holds no per-run state and may be reused.
     *
     * @param plan the window layout
     * @param overlapWeights weights of the new window, {@code plan.overlap()} values (see
     *     {@link OverlapWeights})
     * @param schedule the sigma/timestep schedule; its step count is the number of steps run
     * @param channels latent channels C
     * @param hw latent pixels per frame, h·w
     * @throws IllegalArgumentException if the weights do not match the overlap or a size is &lt; 1
     */
    public LockstepDenoiser(WindowPlan plan, float[] overlapWeights, SigmaSchedule schedule,
                            int channels, long hw) {
        if (overlapWeights.length != plan.overlap()) {
            throw new IllegalArgumentException("got " + overlapWeights.length
                    + " overlap weights for an overlap of " + plan.overlap());
        }
        if (channels < 1 || hw < 1) {
            throw new IllegalArgumentException("channels and hw must be >= 1, got " + channels + ", " + hw);
        }
        this.plan = plan;
        this.weights = overlapWeights.clone();
        this.schedule = schedule;
        this.channels = channels;
        this.hw = hw;
    }

    /**
     * Denoises without progress reporting.
     *
     * @param latents the initial noise on entry, the final latents on return; T frames of C·h·w
     * @param model the guided velocity
     * @see #denoise(LatentTimeline, WindowVelocity, StepListener)
     */
    public void denoise(LatentTimeline latents, WindowVelocity model) {
        denoise(latents, model, StepListener.NONE);
    }

    /**
     * Runs all steps over all windows.
     *
     * @param latents the initial noise on entry, the final latents on return; T frames of C·h·w
     * @param model the guided velocity
     * @param listener called after every (window, step)
     * @throws IllegalArgumentException if the timeline's shape does not match the plan
     */
    public void denoise(LatentTimeline latents, WindowVelocity model, StepListener listener) {
        if (latents.frames() != plan.latentFrames() || latents.frameFloats() != channels * hw) {
            throw new IllegalArgumentException("timeline " + latents.frames() + "x" + latents.frameFloats()
                    + " does not match plan T=" + plan.latentFrames() + ", C*h*w=" + channels * hw);
        }
        List<Window> windows = plan.windows();
        int maxLength = windows.stream().mapToInt(Window::length).max().orElseThrow();
        long windowFloats = (long) maxLength * channels * hw;
        try (Arena arena = Arena.ofConfined();
             LatentTimeline fused = new LatentTimeline(latents.frames(), latents.frameFloats())) {
            MemorySegment xBuf = arena.allocate(windowFloats * Float.BYTES, Float.BYTES);
            MemorySegment vBuf = arena.allocate(windowFloats * Float.BYTES, Float.BYTES);
            for (int i = 0; i < schedule.steps(); i++) {
                float dt = schedule.dt(i);
                float t = schedule.timestep(i);
                for (Window w : windows) {
                    int k = w.length();
                    long n = (long) k * channels * hw;
                    MemorySegment x = xBuf.asSlice(0, n * Float.BYTES);
                    MemorySegment v = vBuf.asSlice(0, n * Float.BYTES);
                    latents.gather(w.start(), w.end(), channels, x);
                    model.velocity(w, i, t, x.asReadOnly(), v);
                    EulerStep.apply(x, v, dt, n);
                    if (w.index() != 0 && i != 0) {
                        blend(x, k, fused, w.start());
                    }
                    fused.scatter(w.start(), w.end(), channels, x);
                    listener.windowDone(w, i);
                }
                // Every frame is covered by some window, so fused holds the whole step's result.
                latents.copyFrom(fused);
            }
        }
    }

    /** x[c, j, :] = w_j·x[c, j, :] + (1 − w_j)·fused[start + j][c, :] for the first O frames. */
    private void blend(MemorySegment x, int k, LatentTimeline fused, int start) {
        for (int j = 0; j < weights.length; j++) {
            float wNew = weights[j];
            float wOld = 1f - wNew;
            MemorySegment prev = fused.frame(start + j);
            for (int c = 0; c < channels; c++) {
                long xBase = ((long) c * k + j) * hw;
                long pBase = c * hw;
                for (long p = 0; p < hw; p++) {
                    float blended = x.getAtIndex(F32, xBase + p) * wNew + prev.getAtIndex(F32, pBase + p) * wOld;
                    x.setAtIndex(F32, xBase + p, blended);
                }
            }
        }
    }
}
