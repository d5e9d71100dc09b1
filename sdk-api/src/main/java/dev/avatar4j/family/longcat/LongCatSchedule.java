package dev.avatar4j.family.longcat;

import dev.avatar4j.sampling.SigmaSchedule;


/**
 * The sigma and timestep tables of LongCat-Video-Avatar's flow-matching Euler sampler
 * (docs/REFERENCE.md §3 "Sampling schedule", Appendix A block I).
 *
 * <p>Three shapes are produced, all ending in a terminal σ = 0:
 * <ul>
 *   <li>{@link #distilled(int, double) distilled}: the 8-NFE schedule of the DMD-distilled v1.5
 *       model. With {@code n} distilled steps and 1000 training steps the table indices are
 *       {@code idx_k = 1000 − k·(1000 / n)} (875, 750, …, 0 for n = 8); the raw sigmas are
 *       {@code 1 − idx/999} read from {@code flip(linspace(0, 1, 1000))}, reversed, i.e.
 *       [1, 0.874875, …, 0.124124].</li>
 *   <li>{@link #full(int, double) full}: {@code linspace(1, 0.001, N)}, the non-distilled schedule
 *       (reference default N = 50).</li>
 *   <li>{@link #enhanceHighFrequency(SigmaSchedule) enhanceHighFrequency}: the {@code enhance_hf} variant the
 *       reference uses for continuation segments without distillation: the timesteps above 500 are
 *       kept and ten uniform steps 500, 450, …, 50 follow; σ = t/1000.</li>
 * </ul>
 *
 * <p>The scheduler's {@code set_timesteps(sigmas=…)} then applies the time shift
 * {@code σ' = shift·σ / (1 + (shift − 1)·σ)} to a float32 numpy array, so each operation rounds to
 * float32; this class does the same (compute_vectors.py shifts in float64 and casts, which differs
 * by at most one ulp). Timesteps are {@code float32(σ')·1000} in float32. The raw tables are the
 * correctly rounded float32 values of the exact rationals (numpy's float32 linspace); PyTorch's
 * CPU linspace, which the reference calls, can differ from them by one ulp depending on its SIMD
 * width (checked with PyTorch 1.13: index 749 of linspace(0, 1, 1000) is 0.7497498 instead of
 * 0.7497497), a difference of at most 6e-8 in σ.
 *
 * <p>Each table is a {@link SigmaSchedule}, the one table of the flow-matching families, with its
 * one sign convention: {@link SigmaSchedule#dt(int)} = {@code σ_{i+1} − σ_i}, negative. The model's
 * output is negated before the Euler step, {@code x ← x + (σ_{i+1} − σ_i)(−out)}; the engine steps
 * the raw output with {@code −dt}, the same float32 number (a sign flip is exact).
 */
public final class LongCatSchedule {

    /** The reference's training table length ({@code num_timesteps}). */
    public static final int TRAIN_TIMESTEPS = 1000;
    /** Distilled steps of LongCat-Video-Avatar 1.5 ({@code num_distill_sample_steps}). */
    public static final int DISTILLED_STEPS_V15 = 8;
    /** Time shift of the v1.5 scheduler config (third-party copy, docs/REFERENCE.md §6). */
    public static final double DEFAULT_SHIFT = 7.0;
    /** Timestep from which {@code enhance_hf} replaces the schedule by uniform steps. */
    public static final float ENHANCE_HF_START = 500f;
    /** Number of uniform {@code enhance_hf} tail steps. */
    public static final int ENHANCE_HF_TAIL_STEPS = 10;

    private LongCatSchedule() {
    }

    /**
     * The distilled schedule.
     *
     * @param distilledSteps number of distilled steps n in [1, 1000] (v1.5: 8)
     * @param shift time shift, finite and &gt; 0 (v1.5: 7.0)
     * @return the schedule with n steps
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static SigmaSchedule distilled(int distilledSteps, double shift) {
        if (distilledSteps < 1 || distilledSteps > TRAIN_TIMESTEPS) {
            throw new IllegalArgumentException(
                    "distilled steps must be in [1, " + TRAIN_TIMESTEPS + "], got " + distilledSteps);
        }
        requireShift(shift);
        int stride = TRAIN_TIMESTEPS / distilledSteps;
        float[] raw = new float[distilledSteps];
        for (int k = 1; k <= distilledSteps; k++) {
            int idx = TRAIN_TIMESTEPS - k * stride;
            // flip(linspace(0, 1, 1000))[idx] = linspace[999 − idx] = (999 − idx)/999; the list is
            // reversed afterwards, so entry n − k holds the k-th index.
            int pos = TRAIN_TIMESTEPS - 1 - idx;
            raw[distilledSteps - k] = (float) ((double) pos / (TRAIN_TIMESTEPS - 1));
        }
        return shifted(raw, shift);
    }

    /**
     * The non-distilled schedule {@code linspace(1, 0.001, N)}, shifted.
     *
     * @param steps number of steps N, at least 1 (reference default 50)
     * @param shift time shift, finite and &gt; 0
     * @return the schedule with N steps
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static SigmaSchedule full(int steps, double shift) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        requireShift(shift);
        float[] raw = new float[steps];
        for (int i = 0; i < steps; i++) {
            // numpy.linspace in float64, cast to float32; a single step is [start]
            raw[i] = steps == 1 ? 1f : (float) (1.0 + i * ((0.001 - 1.0) / (steps - 1)));
        }
        if (steps > 1) {
            raw[steps - 1] = 0.001f;
        }
        return shifted(raw, shift);
    }

    /**
     * A schedule with the {@code enhance_hf} tail: its timesteps &gt; 500 are kept, then
     * 500, 450, …, 50 (float32), and σ = t/1000 in float32 with a terminal 0. The reference only
     * uses it for continuation segments of the non-distilled model.
     *
     * @param schedule the schedule of the first segment ({@link #full(int, double)})
     * @return the new schedule
     */
    public static SigmaSchedule enhanceHighFrequency(SigmaSchedule schedule) {
        float[] timesteps = schedule.timesteps();
        int kept = 0;
        for (float t : timesteps) {
            if (t > ENHANCE_HF_START) {
                kept++;
            }
        }
        float[] ts = new float[kept + ENHANCE_HF_TAIL_STEPS];
        int j = 0;
        for (float t : timesteps) {
            if (t > ENHANCE_HF_START) {
                ts[j++] = t;
            }
        }
        // np.linspace(500, 0, 10, dtype=float32, endpoint=False): 500 − 50·i, exact
        for (int i = 0; i < ENHANCE_HF_TAIL_STEPS; i++) {
            ts[j++] = (float) (ENHANCE_HF_START - i * (ENHANCE_HF_START / ENHANCE_HF_TAIL_STEPS));
        }
        float[] sg = new float[ts.length + 1];
        for (int i = 0; i < ts.length; i++) {
            sg[i] = ts[i] / (float) TRAIN_TIMESTEPS;
        }
        return SigmaSchedule.of(sg, ts);
    }

    private static SigmaSchedule shifted(float[] raw, double shift) {
        float sh = (float) shift;
        float shm1 = (float) (shift - 1);
        float[] sg = new float[raw.length + 1];
        float[] ts = new float[raw.length];
        for (int i = 0; i < raw.length; i++) {
            float s = raw[i];
            sg[i] = sh * s / (1f + shm1 * s);
            ts[i] = sg[i] * (float) TRAIN_TIMESTEPS;
        }
        return SigmaSchedule.of(sg, ts);
    }

    private static void requireShift(double shift) {
        if (!(shift > 0) || !Double.isFinite(shift)) {
            throw new IllegalArgumentException("shift must be finite and > 0, got " + shift);
        }
    }
}
