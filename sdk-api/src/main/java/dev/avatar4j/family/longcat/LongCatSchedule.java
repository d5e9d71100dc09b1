package dev.avatar4j.family.longcat;

import dev.avatar4j.sampling.EulerStep;
import java.util.Arrays;

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
 *   <li>{@link #enhanceHighFrequency() enhanceHighFrequency}: the {@code enhance_hf} variant the
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
 * <p>The model's output is negated before the Euler step, {@code x ← x + (σ_{i+1} − σ_i)(−out)}:
 * {@link #eulerScale(int)} returns {@code −(σ_{i+1} − σ_i)} so that
 * {@link EulerStep#apply(java.lang.foreign.MemorySegment, java.lang.foreign.MemorySegment, float, long)}
 * performs exactly that update (a sign flip is exact in float32).
 *
 * <p>Immutable; accessors return copies of arrays.
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

    private final float[] sigmas;     // steps + 1 values, trailing 0
    private final float[] timesteps;  // steps values
    private final double shift;

    private LongCatSchedule(float[] sigmas, float[] timesteps, double shift) {
        this.sigmas = sigmas;
        this.timesteps = timesteps;
        this.shift = shift;
    }

    /**
     * The distilled schedule.
     *
     * @param distilledSteps number of distilled steps n in [1, 1000] (v1.5: 8)
     * @param shift time shift, finite and &gt; 0 (v1.5: 7.0)
     * @return the schedule with n steps
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static LongCatSchedule distilled(int distilledSteps, double shift) {
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
    public static LongCatSchedule full(int steps, double shift) {
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
     * This schedule with the {@code enhance_hf} tail: timesteps &gt; 500 are kept, then
     * 500, 450, …, 50 (float32), and σ = t/1000 in float32 with a terminal 0. The reference only
     * uses it for continuation segments of the non-distilled model.
     *
     * @return the new schedule
     */
    public LongCatSchedule enhanceHighFrequency() {
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
        return new LongCatSchedule(sg, ts, shift);
    }

    private static LongCatSchedule shifted(float[] raw, double shift) {
        float sh = (float) shift;
        float shm1 = (float) (shift - 1);
        float[] sg = new float[raw.length + 1];
        float[] ts = new float[raw.length];
        for (int i = 0; i < raw.length; i++) {
            float s = raw[i];
            sg[i] = sh * s / (1f + shm1 * s);
            ts[i] = sg[i] * (float) TRAIN_TIMESTEPS;
        }
        return new LongCatSchedule(sg, ts, shift);
    }

    private static void requireShift(double shift) {
        if (!(shift > 0) || !Double.isFinite(shift)) {
            throw new IllegalArgumentException("shift must be finite and > 0, got " + shift);
        }
    }

    /** {@return the number of denoising steps (model evaluations per guidance branch)} */
    public int steps() {
        return timesteps.length;
    }

    /** {@return the time shift this schedule was built with} */
    public double shift() {
        return shift;
    }

    /** {@return a copy of the steps + 1 sigmas, float32, descending, the last one 0} */
    public float[] sigmas() {
        return sigmas.clone();
    }

    /** {@return a copy of the timesteps fed to the model, {@code float32(σ_i)·1000}} */
    public float[] timesteps() {
        return timesteps.clone();
    }

    /**
     * One sigma.
     *
     * @param i index in {@code [0, steps]}
     * @return σ_i
     */
    public float sigma(int i) {
        return sigmas[i];
    }

    /**
     * One timestep.
     *
     * @param i step index in {@code [0, steps)}
     * @return the timestep the model sees at step i
     */
    public float timestep(int i) {
        return timesteps[i];
    }

    /**
     * The factor by which the <em>raw</em> model output is multiplied in the Euler step:
     * {@code −(σ_{i+1} − σ_i)}, positive. The reference negates the output and adds
     * {@code (σ_{i+1} − σ_i)·(−out)}; the products are bit-identical.
     *
     * @param i step index in {@code [0, steps)}
     * @return the factor for {@link EulerStep}
     * @throws IndexOutOfBoundsException if i is out of range
     */
    public float eulerScale(int i) {
        if (i < 0 || i >= timesteps.length) {
            throw new IndexOutOfBoundsException("step " + i + " outside [0, " + timesteps.length + ")");
        }
        return -(sigmas[i + 1] - sigmas[i]);
    }

    @Override
    public String toString() {
        return "LongCatSchedule[steps=" + steps() + ", shift=" + shift + ", sigmas=" + Arrays.toString(sigmas) + "]";
    }
}
