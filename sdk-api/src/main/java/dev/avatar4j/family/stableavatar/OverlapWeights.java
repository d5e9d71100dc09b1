package dev.avatar4j.family.stableavatar;

import java.util.Locale;

/**
 * DWSW blend weights: {@code w_j}, j = 0..O−1, is the weight of the <em>new</em> (later) window
 * on the j-th overlapping latent frame; the previous window's result gets {@code 1 − w_j}. The
 * weights rise from exactly 0 to exactly 1 (docs/REFERENCE.md §1.5, Appendix A block D).
 *
 * <p>The reference stores the weights in a bf16 tensor; we keep them in float32 (the whole Java
 * pipeline is float32).
 */
public final class OverlapWeights {

    private OverlapWeights() {
    }

    /**
     * Linear ramp {@code w_j = j/(O−1)} (the reference CLI default, {@code uniform}).
     *
     * @param overlap O, at least 2
     * @return O weights
     * @throws IllegalArgumentException if overlap &lt; 2
     */
    public static float[] uniform(int overlap) {
        requireOverlap(overlap);
        float[] w = new float[overlap];
        for (int j = 0; j < overlap; j++) {
            w[j] = (float) ((double) j / (overlap - 1)); // python j / (O-1), a float64 division
        }
        return w;
    }

    /**
     * Logarithmic ramp {@code w_j = ln(1 + (e−1)·j/(O−1))} (the paper's scheme, {@code log}),
     * computed like the reference's torch code: float32 {@code linspace(0, 1, O)}, float32
     * {@code log1p(x·(e−1))}, then min–max normalised (which only makes the last weight exactly 1).
     * Agrees with torch to within one float32 ulp (the two log1p implementations differ slightly).
     *
     * @param overlap O, at least 2
     * @return O weights
     * @throws IllegalArgumentException if overlap &lt; 2
     */
    public static float[] log(int overlap) {
        requireOverlap(overlap);
        float eMinus1 = (float) Math.E - 1f; // torch.exp(torch.tensor(1.0)) - 1 in float32
        float[] lin = torchLinspace01(overlap);
        float[] w = new float[overlap];
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < overlap; j++) {
            w[j] = (float) Math.log1p(lin[j] * eMinus1);
            min = Math.min(min, w[j]);
            max = Math.max(max, w[j]);
        }
        float range = max - min;
        for (int j = 0; j < overlap; j++) {
            w[j] = (w[j] - min) / range;
        }
        return w;
    }

    /** torch.linspace(0, 1, n) in float32: the first half counts up from 0, the second half down from 1. */
    private static float[] torchLinspace01(int n) {
        float step = 1f / (float) (n - 1);
        int halfway = n / 2;
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            y[i] = i < halfway ? step * i : 1f - step * (n - 1 - i);
        }
        return y;
    }

    /**
     * Weights by scheme name, as given to {@code --overlapping_weight_scheme}.
     *
     * @param scheme {@code "uniform"} or {@code "log"} (case-insensitive)
     * @param overlap O, at least 2
     * @return O weights
     * @throws IllegalArgumentException for an unknown scheme or overlap &lt; 2
     */
    public static float[] of(String scheme, int overlap) {
        String s = scheme == null ? "" : scheme.strip().toLowerCase(Locale.ROOT);
        return switch (s) {
            case "uniform" -> uniform(overlap);
            case "log" -> log(overlap);
            default -> throw new IllegalArgumentException(
                    "unknown overlap weight scheme '" + scheme + "'; expected 'uniform' or 'log'");
        };
    }

    private static void requireOverlap(int overlap) {
        if (overlap < 2) {
            // The reference divides by O - 1 and fails at O = 1; O = 0 would mean no blend at all.
            throw new IllegalArgumentException("overlap must be >= 2 latent frames to blend windows, got "
                    + overlap);
        }
    }
}
