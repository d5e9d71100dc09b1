package dev.avatar4j.family.latentsync;

import java.util.Arrays;

/**
 * The timestep and ᾱ tables of a deterministic DDIM sampler (eta 0), reproducing diffusers 0.32.2
 * {@code DDIMScheduler} with LatentSync's {@code configs/scheduler_config.json}
 * (docs/REFERENCE.md §2 "Sampler", Appendix A block G): "scaled_linear" betas, "leading"
 * timestep spacing with {@code steps_offset}, {@code set_alpha_to_one = false}.
 *
 * <p>Numerics follow the reference's torch CPU float32 code: the betas come from a float32
 * {@code linspace} of the square roots, squared in float32; ᾱ is a cumulative product of the float32
 * alphas accumulated in double and rounded to float32 per entry, as torch's CPU {@code cumprod} does
 * (golden values: {@code tools/golden/ddim_golden.py}). torch's vectorised CPU {@code linspace}
 * rounds some betas differently in the last bit from the scalar formula used here, so ᾱ agrees with
 * the reference to within 2.5e-7 relative (about two float32 ulps), not bit for bit.
 *
 * <p>Instances are immutable; accessors return copies of arrays.
 */
public final class DdimSchedule {

    /** LatentSync's scheduler: 1000 training steps, betas 0.00085 → 0.012, steps_offset 1. */
    public static final int LATENTSYNC_TRAIN_TIMESTEPS = 1000;

    private final int trainTimesteps;
    private final float[] alphasCumprod;   // trainTimesteps values
    private final float finalAlphaCumprod;
    private final int[] timesteps;          // steps values, descending
    private final int stepRatio;

    private DdimSchedule(int trainTimesteps, float[] alphasCumprod, float finalAlphaCumprod,
                         int[] timesteps, int stepRatio) {
        this.trainTimesteps = trainTimesteps;
        this.alphasCumprod = alphasCumprod;
        this.finalAlphaCumprod = finalAlphaCumprod;
        this.timesteps = timesteps;
        this.stepRatio = stepRatio;
    }

    /**
     * LatentSync 1.5/1.6's DDIM configuration with the given number of inference steps
     * (reference default 20: t = 951, 901, …, 51, 1).
     *
     * @param steps number of denoising steps, 1 to 1000
     * @return the schedule
     * @throws IllegalArgumentException if steps is out of range
     */
    public static DdimSchedule latentSync(int steps) {
        return create(steps, 0.00085, 0.012, LATENTSYNC_TRAIN_TIMESTEPS, 1, false);
    }

    /**
     * A DDIM schedule with "scaled_linear" betas and "leading" spacing.
     *
     * @param steps number of inference steps N, 1 to trainTimesteps
     * @param betaStart first beta, in (0, 1)
     * @param betaEnd last beta, in [betaStart, 1)
     * @param trainTimesteps length of the training table, at least 2
     * @param stepsOffset added to every timestep ("leading" spacing), 0 ≤ offset, and the largest
     *                    timestep must stay below trainTimesteps
     * @param setAlphaToOne whether ᾱ before the first training step is 1 (true) or ᾱ_0 (false)
     * @return the schedule
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static DdimSchedule create(int steps, double betaStart, double betaEnd, int trainTimesteps,
                                      int stepsOffset, boolean setAlphaToOne) {
        if (trainTimesteps < 2) {
            throw new IllegalArgumentException("trainTimesteps must be >= 2, got " + trainTimesteps);
        }
        if (steps < 1 || steps > trainTimesteps) {
            throw new IllegalArgumentException("steps must be in [1, " + trainTimesteps + "], got " + steps);
        }
        if (!(betaStart > 0) || !(betaEnd >= betaStart) || !(betaEnd < 1)) {
            throw new IllegalArgumentException("need 0 < betaStart <= betaEnd < 1, got "
                    + betaStart + ", " + betaEnd);
        }
        if (stepsOffset < 0) {
            throw new IllegalArgumentException("stepsOffset must be >= 0, got " + stepsOffset);
        }
        float[] betas = scaledLinearBetas(betaStart, betaEnd, trainTimesteps);
        float[] ac = new float[trainTimesteps];
        double acc = 1.0;
        for (int i = 0; i < trainTimesteps; i++) {
            float alpha = 1f - betas[i];
            acc *= alpha;
            ac[i] = (float) acc;
        }
        int ratio = trainTimesteps / steps;
        int[] ts = new int[steps];
        for (int i = 0; i < steps; i++) {
            ts[i] = (steps - 1 - i) * ratio + stepsOffset;
        }
        if (ts[0] >= trainTimesteps) {
            throw new IllegalArgumentException("largest timestep " + ts[0] + " is outside the "
                    + trainTimesteps + "-step training table (stepsOffset too large)");
        }
        return new DdimSchedule(trainTimesteps, ac, setAlphaToOne ? 1f : ac[0], ts, ratio);
    }

    /**
     * torch.linspace(sqrt(start), sqrt(end), n, float32) ** 2 with the scalar form of torch's CPU
     * kernel: a float32 step, {@code start + step·i} for the first half and {@code end − step·(n−1−i)}
     * for the rest (the vectorised kernel differs from this in the last bit for some entries).
     */
    static float[] scaledLinearBetas(double betaStart, double betaEnd, int n) {
        float start = (float) Math.sqrt(betaStart);
        float end = (float) Math.sqrt(betaEnd);
        float step = (end - start) / (float) (n - 1);
        int halfway = n / 2;
        float[] b = new float[n];
        for (int i = 0; i < n; i++) {
            float v = i < halfway ? start + step * i : end - step * (n - 1 - i);
            b[i] = v * v;
        }
        return b;
    }

    /** @return number of inference steps */
    public int steps() {
        return timesteps.length;
    }

    /** @return the model timesteps, descending (copy) */
    public int[] timesteps() {
        return timesteps.clone();
    }

    /**
     * @param step step index in [0, steps)
     * @return the model timestep of that step
     */
    public int timestep(int step) {
        return timesteps[step];
    }

    /**
     * ᾱ of the current timestep of a step.
     *
     * @param step step index in [0, steps)
     * @return ᾱ_t
     */
    public float alphaBar(int step) {
        return alphasCumprod[timesteps[step]];
    }

    /**
     * ᾱ the step moves to: ᾱ at {@code t − trainTimesteps/steps}, or the final ᾱ (ᾱ_0 for LatentSync)
     * when that is negative.
     *
     * @param step step index in [0, steps)
     * @return ᾱ_prev
     */
    public float alphaBarPrev(int step) {
        int prev = timesteps[step] - stepRatio;
        return prev >= 0 ? alphasCumprod[prev] : finalAlphaCumprod;
    }

    /** @return the whole float32 ᾱ training table (copy) */
    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    /** @return length of the training table */
    public int trainTimesteps() {
        return trainTimesteps;
    }

    @Override
    public String toString() {
        return "DdimSchedule" + Arrays.toString(timesteps);
    }
}
