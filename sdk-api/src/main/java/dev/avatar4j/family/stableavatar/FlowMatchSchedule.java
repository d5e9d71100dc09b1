package dev.avatar4j.family.stableavatar;

import dev.avatar4j.sampling.SigmaSchedule;

/**
 * The sigma and timestep tables of a flow-matching Euler sampler, reproducing diffusers 0.30.1
 * {@code FlowMatchEulerDiscreteScheduler.set_timesteps} number for number (docs/REFERENCE.md
 * §1.3, Appendix A block A).
 *
 * <p>The reference keeps σ in float32 and feeds the model the float32 product {@code σ_i·1000}
 * as its timestep; the table holds exactly those float32 values. The intermediate linspace and
 * second shift are computed in float64 before the cast, as numpy does in the reference.
 *
 * <p>It builds the family's {@link SigmaSchedule}, the table (and Euler step convention) that the
 * flow-matching families share.
 */
public final class FlowMatchSchedule {

    private FlowMatchSchedule() {
    }

    /**
     * Builds the schedule.
     *
     * @param steps number of denoising steps N, at least 1
     * @param shift time shift, finite and &gt; 0 (StableAvatar: 5.0)
     * @param mode how the shift is applied (StableAvatar: {@link ShiftMode#DIFFUSERS_0_30_1})
     * @param trainTimesteps length of the training table, at least 1 (StableAvatar: 1000)
     * @return the schedule
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static SigmaSchedule create(int steps, double shift, ShiftMode mode, int trainTimesteps) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        if (!(shift > 0) || !Double.isFinite(shift)) {
            throw new IllegalArgumentException("shift must be finite and > 0, got " + shift);
        }
        if (mode == null) {
            throw new IllegalArgumentException("shift mode must not be null");
        }
        if (trainTimesteps < 1) {
            throw new IllegalArgumentException("trainTimesteps must be >= 1, got " + trainTimesteps);
        }
        double sigmaMax;
        double sigmaMin;
        if (mode == ShiftMode.DIFFUSERS_0_30_1) {
            // diffusers' constructor shifts the float32 training table (k/1000, k = 1000..1) in
            // float32 arithmetic and keeps its two ends as sigma_max / sigma_min.
            sigmaMax = shiftedTrainSigma(trainTimesteps, trainTimesteps, shift);
            sigmaMin = shiftedTrainSigma(1, trainTimesteps, shift);
        } else {
            sigmaMax = 1.0;
            sigmaMin = 1.0 / trainTimesteps;
        }
        // set_timesteps: np.linspace(sigma_max * T, sigma_min * T, N) in float64, / T, shift.
        double[] t = linspace(sigmaMax * trainTimesteps, sigmaMin * trainTimesteps, steps);
        float[] sig = new float[steps + 1];
        float[] ts = new float[steps];
        for (int i = 0; i < steps; i++) {
            double u = t[i] / trainTimesteps;
            double s = shift * u / (1 + (shift - 1) * u);
            sig[i] = (float) s;
            // torch: sigmas (float32 tensor) * num_train_timesteps, a float32 multiply.
            ts[i] = sig[i] * (float) trainTimesteps;
        }
        sig[steps] = 0f; // diffusers appends a terminal zero
        return SigmaSchedule.of(sig, ts);
    }

    /** One entry of the shifted float32 training table, σ(k/T) for k in 1..T, in float32 as torch does. */
    private static float shiftedTrainSigma(int k, int trainTimesteps, double shift) {
        float s = (float) k / (float) trainTimesteps;
        float sh = (float) shift;
        return sh * s / (1f + (float) (shift - 1) * s);
    }

    /** numpy.linspace(start, stop, n) in float64: start + i·step, last value exactly stop. */
    private static double[] linspace(double start, double stop, int n) {
        double[] y = new double[n];
        if (n == 1) {
            y[0] = start;
            return y;
        }
        double step = (stop - start) / (n - 1);
        for (int i = 0; i < n; i++) {
            y[i] = i * step + start;
        }
        y[n - 1] = stop;
        return y;
    }
}
