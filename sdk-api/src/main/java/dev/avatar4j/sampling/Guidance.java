package dev.avatar4j.sampling;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Guidance as data: the guided velocity is a fixed linear combination
 * {@code v̂ = Σ_b c_b · v_b} of the predictions of a few DiT branches that are batched into one
 * forward pass (docs/ARCHITECTURE.md §3.1b). The engine decides what each branch drops; this class only
 * knows the coefficients and the combination.
 *
 * <p>The reference evaluates the nested form {@code v_u + s_a(v_a − v_u) + s_t(v_c − v_a)} in
 * bf16; we use the algebraically equal coefficient form in float32, which is one multiply-add per
 * branch and the same code for every guidance rule.
 *
 * <p>Immutable.
 */
public final class Guidance {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final float[] coefficients;

    private Guidance(float[] coefficients) {
        this.coefficients = coefficients;
    }

    /**
     * StableAvatar's released three-branch rule (docs/REFERENCE.md §1.4). Branch order as in the
     * reference batch: 0 = negative text with the audio adapter output gated to zero (v_u),
     * 1 = negative text with audio (v_a), 2 = positive text with audio (v_c). Coefficients
     * {@code [1 − s_a, s_a − s_t, s_t]}; for 3/5 that is {@code −4 v_u + 2 v_a + 3 v_c}.
     *
     * @param textScale s_t ({@code --sample_text_guide_scale}, inference.sh 3.0)
     * @param audioScale s_a ({@code --sample_audio_guide_scale}, inference.sh 5.0)
     * @return the guidance
     * @throws IllegalArgumentException if a scale is not finite
     */
    public static Guidance textAudio(double textScale, double audioScale) {
        requireFinite(textScale, "textScale");
        requireFinite(audioScale, "audioScale");
        return new Guidance(new float[] {
            (float) (1 - audioScale), (float) (audioScale - textScale), (float) textScale});
    }

    /**
     * Plain classifier-free guidance {@code v_u + s(v_c − v_u)}: branches [uncond, cond] with
     * coefficients {@code [1 − s, s]}.
     *
     * @param scale guidance scale s
     * @return the guidance
     * @throws IllegalArgumentException if the scale is not finite
     */
    public static Guidance cfg(double scale) {
        requireFinite(scale, "scale");
        return new Guidance(new float[] {(float) (1 - scale), (float) scale});
    }

    /**
     * No guidance: a single branch whose prediction is used as is.
     *
     * @return the guidance
     */
    public static Guidance none() {
        return new Guidance(new float[] {1f});
    }

    /**
     * An arbitrary branch combination, for rules not covered by the factories (for example a
     * future Audio Native Guidance once its equation is known).
     *
     * @param coefficients one finite coefficient per branch, at least one
     * @return the guidance
     * @throws IllegalArgumentException if no coefficient is given or one is not finite
     */
    public static Guidance of(float... coefficients) {
        if (coefficients == null || coefficients.length == 0) {
            throw new IllegalArgumentException("guidance needs at least one branch");
        }
        for (int b = 0; b < coefficients.length; b++) {
            requireFinite(coefficients[b], "coefficient " + b);
        }
        return new Guidance(coefficients.clone());
    }

    private static void requireFinite(double v, String what) {
        if (!Double.isFinite(v)) {
            throw new IllegalArgumentException(what + " must be finite, got " + v);
        }
    }

    /** {@return the number of branches the DiT must evaluate (the batch size of one forward)} */
    public int branches() {
        return coefficients.length;
    }

    /**
     * The weight of one branch's prediction in the guided velocity.
     *
     * @param b branch index
     * @return the coefficient of branch b
     */
    public float coefficient(int b) {
        return coefficients[b];
    }

    /**
     * Combines branch predictions: {@code out[i] = Σ_b c_b · batched[b·n + i]}, summed in branch
     * order in float32.
     *
     * <p>{@code out} may be the first branch of {@code batched} itself (same address): every
     * element is read from all branches before it is written.
     *
     * @param batched branch-major float32 predictions, {@code branches()·n} values
     * @param elementsPerBranch n, the number of floats in one branch
     * @param out destination of n floats
     * @throws IllegalArgumentException if a segment is too small or n is negative
     */
    public void combine(MemorySegment batched, long elementsPerBranch, MemorySegment out) {
        long n = elementsPerBranch;
        if (n < 0) {
            throw new IllegalArgumentException("elementsPerBranch must be >= 0, got " + n);
        }
        int branches = coefficients.length;
        if (batched.byteSize() < branches * n * Float.BYTES) {
            throw new IllegalArgumentException("batched holds " + batched.byteSize() + " bytes, need "
                    + branches * n * Float.BYTES + " for " + branches + " branches of " + n + " floats");
        }
        if (out.byteSize() < n * Float.BYTES) {
            throw new IllegalArgumentException(
                    "out holds " + out.byteSize() + " bytes, need " + n * Float.BYTES);
        }
        // One pass over all branches per element (rather than one pass per branch) so that out
        // may alias branch 0 and the sum order is fixed: ((c0·v0 + c1·v1) + c2·v2) + ...
        if (branches == 3) {
            combine3(batched, n, out);
            return;
        }
        for (long i = 0; i < n; i++) {
            float acc = coefficients[0] * batched.getAtIndex(F32, i);
            for (int b = 1; b < branches; b++) {
                acc += coefficients[b] * batched.getAtIndex(F32, b * n + i);
            }
            out.setAtIndex(F32, i, acc);
        }
    }

    /**
     * Floats per block of the three-branch combination: 3 × 4 KB of scratch stays in L1 (1024 was
     * about 25 % faster than 4096 in a side-by-side run; 512 no faster).
     */
    private static final int BLOCK = 1024;

    /**
     * The common three-branch case, same arithmetic as the general path. Blocks of the three
     * branches are copied to heap arrays and combined there at one shared index: segment loops
     * whose operands sit at different offsets (and may alias) are not vectorised by C2, a plain
     * {@code o[i] = c0·a[i] + c1·b[i] + c2·c[i]} is. Java never fuses into an FMA, so the vector
     * lanes compute exactly the scalar float32 operations.
     */
    private void combine3(MemorySegment batched, long n, MemorySegment out) {
        float c0 = coefficients[0];
        float c1 = coefficients[1];
        float c2 = coefficients[2];
        int block = (int) Math.min(BLOCK, n);
        float[] a = new float[block];
        float[] b = new float[block];
        float[] c = new float[block];
        for (long start = 0; start < n; start += block) {
            int len = (int) Math.min(block, n - start);
            MemorySegment.copy(batched, F32, start * Float.BYTES, a, 0, len);
            MemorySegment.copy(batched, F32, (n + start) * Float.BYTES, b, 0, len);
            MemorySegment.copy(batched, F32, (2 * n + start) * Float.BYTES, c, 0, len);
            for (int i = 0; i < len; i++) {
                float acc = c0 * a[i];
                acc += c1 * b[i];
                acc += c2 * c[i];
                a[i] = acc;
            }
            MemorySegment.copy(a, 0, out, F32, start * Float.BYTES, len);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Guidance g && Arrays.equals(coefficients, g.coefficients);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(coefficients);
    }

    @Override
    public String toString() {
        return "Guidance" + Arrays.toString(coefficients);
    }
}
