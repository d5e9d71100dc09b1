package dev.avatar4j.family.stableavatar;

import java.util.Locale;

/**
 * How the flow-matching time shift {@code σ' = shift·σ / (1 + (shift − 1)·σ)} is applied when a
 * {@link FlowMatchSchedule} is built.
 */
public enum ShiftMode {

    /**
     * The behaviour of diffusers 0.30.1 {@code FlowMatchEulerDiscreteScheduler}, which StableAvatar
     * pins: the training table is shifted once in the constructor, its ends (σ_max = 1,
     * σ_min = shift(1/trainTimesteps), 0.0049800803 for shift 5) are spaced linearly and the
     * result is shifted <em>again</em>. The lowest non-zero σ for shift 5 is therefore 0.0244,
     * not 0.0050. This is what the released model was run with (docs/REFERENCE.md §1.3).
     */
    DIFFUSERS_0_30_1,

    /**
     * The shift applied once: {@code σ_i = shift·u_i / (1 + (shift − 1)·u_i)} with
     * {@code u = linspace(1, 1/trainTimesteps, N)} in float64, i.e. the <em>unshifted</em> ends
     * of the training table spaced linearly, then shifted a single time. For shift 5, N = 50 the
     * lowest non-zero σ is 0.0049800803. Offered for experiments; it is not what the reference
     * ran.
     */
    SINGLE;

    /**
     * Parses the configuration spelling of a mode.
     *
     * @param text {@code "diffusers-0.30.1"} or {@code "single"} (case-insensitive, surrounding
     *     blanks ignored)
     * @return the mode
     * @throws IllegalArgumentException for any other text, including {@code null}
     */
    public static ShiftMode parse(String text) {
        if (text != null) {
            switch (text.strip().toLowerCase(Locale.ROOT)) {
                case "diffusers-0.30.1":
                    return DIFFUSERS_0_30_1;
                case "single":
                    return SINGLE;
                default:
                    break;
            }
        }
        throw new IllegalArgumentException(
                "unknown shift mode '" + text + "'; expected 'diffusers-0.30.1' or 'single'");
    }
}
