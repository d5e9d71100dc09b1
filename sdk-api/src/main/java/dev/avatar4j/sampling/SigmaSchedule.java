package dev.avatar4j.sampling;

import java.util.Arrays;

/**
 * The sigma and timestep table of a flow-matching Euler sampler, the one table every flow-matching
 * family denoises with: N + 1 float32 sigmas, descending, the last one 0, and the N float32
 * timesteps the model sees. The families build it the way their references do
 * ({@code family.stableavatar.FlowMatchSchedule}: diffusers 0.30.1
 * {@code FlowMatchEulerDiscreteScheduler}; {@code family.longcat.LongCatSchedule}: the distilled,
 * full and {@code enhance_hf} tables of LongCat-Video-Avatar).
 *
 * <p>One sign convention for the Euler step: {@link #dt(int)} is {@code σ_{i+1} − σ_i}, negative
 * when denoising, and {@link EulerStep} adds {@code dt·v} for a velocity {@code v}. A model that
 * predicts the negated velocity (LongCat's) is stepped with {@code −dt}: {@code x + dt·(−out)} and
 * {@code x + (−dt)·out} are the same float32 number, because negation is exact.
 *
 * <p>Immutable; accessors return copies of arrays.
 */
public final class SigmaSchedule {

    private final float[] sigmas;     // steps + 1 values, trailing 0
    private final float[] timesteps;  // steps values

    private SigmaSchedule(float[] sigmas, float[] timesteps) {
        this.sigmas = sigmas;
        this.timesteps = timesteps;
    }

    /**
     * A table.
     *
     * @param sigmas the N + 1 sigmas, the last one 0 (copied)
     * @param timesteps the N timesteps the model sees, N at least 1 (copied)
     * @return the schedule
     * @throws IllegalArgumentException if the lengths do not match or the last sigma is not 0
     */
    public static SigmaSchedule of(float[] sigmas, float[] timesteps) {
        if (timesteps.length < 1 || sigmas.length != timesteps.length + 1) {
            throw new IllegalArgumentException("need N >= 1 timesteps and N + 1 sigmas, got " + timesteps.length
                    + " and " + sigmas.length);
        }
        if (sigmas[timesteps.length] != 0f) {
            throw new IllegalArgumentException("the last sigma must be 0, got " + sigmas[timesteps.length]);
        }
        return new SigmaSchedule(sigmas.clone(), timesteps.clone());
    }

    /** {@return the number of denoising steps N (model evaluations per guidance branch)} */
    public int steps() {
        return timesteps.length;
    }

    /** {@return a copy of the N + 1 sigmas, float32, descending, the last one 0} */
    public float[] sigmas() {
        return sigmas.clone();
    }

    /** {@return a copy of the N timesteps fed to the model} */
    public float[] timesteps() {
        return timesteps.clone();
    }

    /**
     * One sigma of the table.
     *
     * @param i index in {@code [0, N]}
     * @return σ_i ({@code σ_N = 0})
     */
    public float sigma(int i) {
        return sigmas[i];
    }

    /**
     * One timestep of the table.
     *
     * @param i step index in {@code [0, N)}
     * @return the timestep the model sees at step i
     */
    public float timestep(int i) {
        return timesteps[i];
    }

    /**
     * The Euler step size of step i, {@code σ_{i+1} − σ_i} in float32 (negative).
     *
     * @param i step index in {@code [0, N)}
     * @return the step size for {@link EulerStep}
     * @throws IndexOutOfBoundsException if i is out of range
     */
    public float dt(int i) {
        if (i < 0 || i >= timesteps.length) {
            throw new IndexOutOfBoundsException("step " + i + " outside [0, " + timesteps.length + ")");
        }
        return sigmas[i + 1] - sigmas[i];
    }

    @Override
    public String toString() {
        return "SigmaSchedule[steps=" + steps() + ", sigmas=" + Arrays.toString(sigmas) + "]";
    }
}
