package dev.avatar4j.family.latentsync;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The deterministic DDIM update (eta 0, ε-prediction, no sample clipping) of diffusers
 * {@code DDIMScheduler.step}, elementwise in float32, in place:
 * {@code x0 = (x − √(1−ᾱ_t)·ε)/√ᾱ_t}, then {@code x ← √ᾱ_prev·x0 + √(1−ᾱ_prev)·ε}.
 *
 * <p>The operation order and float32 rounding are the reference's: given the same ᾱ values a step
 * agrees with torch to the last bit (checked against {@code tools/golden/ddim_golden.py}).
 */
public final class DdimStep {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private DdimStep() {
    }

    /**
     * Applies one step of a schedule.
     *
     * @param x noisy sample, float32, updated in place
     * @param eps predicted noise (after guidance), float32
     * @param schedule the schedule
     * @param step step index in [0, schedule.steps())
     * @param n number of floats
     */
    public static void apply(MemorySegment x, MemorySegment eps, DdimSchedule schedule, int step, long n) {
        apply(x, eps, schedule.alphaBar(step), schedule.alphaBarPrev(step), n);
    }

    /**
     * Applies the update with explicit ᾱ values.
     *
     * @param x noisy sample, float32, updated in place
     * @param eps predicted noise, float32
     * @param alphaBar ᾱ_t, in (0, 1]
     * @param alphaBarPrev ᾱ_prev, in (0, 1]
     * @param n number of floats
     * @throws IllegalArgumentException if an ᾱ is out of range or n is negative
     * @throws IndexOutOfBoundsException if a segment holds fewer than n floats
     */
    public static void apply(MemorySegment x, MemorySegment eps, float alphaBar, float alphaBarPrev, long n) {
        if (!(alphaBar > 0f && alphaBar <= 1f) || !(alphaBarPrev > 0f && alphaBarPrev <= 1f)) {
            throw new IllegalArgumentException("alpha-bar values must be in (0, 1], got "
                    + alphaBar + ", " + alphaBarPrev);
        }
        if (n < 0) {
            throw new IllegalArgumentException("negative length");
        }
        MemorySegment xs = x.asSlice(0, n * Float.BYTES);
        MemorySegment es = eps.asSlice(0, n * Float.BYTES);
        float sqrtA = (float) Math.sqrt(alphaBar);
        float sqrtB = (float) Math.sqrt(1f - alphaBar);
        float sqrtAPrev = (float) Math.sqrt(alphaBarPrev);
        float sqrtBPrev = (float) Math.sqrt(1f - alphaBarPrev);
        for (long i = 0; i < n; i++) {
            float e = es.getAtIndex(F32, i);
            float x0 = (xs.getAtIndex(F32, i) - sqrtB * e) / sqrtA;
            float direction = sqrtBPrev * e;
            xs.setAtIndex(F32, i, sqrtAPrev * x0 + direction);
        }
    }
}
