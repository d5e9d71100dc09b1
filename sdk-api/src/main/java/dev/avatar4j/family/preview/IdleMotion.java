package dev.avatar4j.family.preview;

import java.util.SplittableRandom;

/**
 * Small, slow, seeded head motion so that the portrait does not look frozen: roll and a drift in
 * x and y, each a sum of three sinusoids with random (seeded) frequencies between 0.07 and 0.4 Hz
 * and random phases, plus a slight nod that follows the speech (the head dips a little with loud
 * syllables). Amplitudes are in units of the inter-ocular distance so they scale with the face.
 */
final class IdleMotion {
    /** Peak roll in radians (1°). */
    static final double ROLL = Math.toRadians(1.0);
    /** Peak drift, in inter-ocular distances. */
    static final double DRIFT = 0.02;
    /** Nod with full mouth opening, in inter-ocular distances. */
    static final double NOD = 0.015;

    private final double[][] params; // [channel][freq0, phase0, amp0, freq1, …]

    private IdleMotion(double[][] params) {
        this.params = params;
    }

    /** The motion for {@code seed}. */
    static IdleMotion seeded(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 7);
        double[][] p = new double[3][9];
        for (int c = 0; c < 3; c++) {
            double[] amps = {0.55, 0.3, 0.15};
            for (int k = 0; k < 3; k++) {
                p[c][3 * k] = 0.07 + rnd.nextDouble() * 0.33;
                p[c][3 * k + 1] = rnd.nextDouble() * 2 * Math.PI;
                p[c][3 * k + 2] = amps[k];
            }
        }
        return new IdleMotion(p);
    }

    /**
     * The pose at time {@code t}: {@code {roll radians, dx, dy}} with dx, dy in inter-ocular
     * distances; {@code speech} (the smoothed mouth opening, 0 … 1) adds the nod.
     */
    double[] pose(double t, double speech) {
        return new double[] {ROLL * channel(0, t), DRIFT * channel(1, t), DRIFT * channel(2, t) + NOD * speech};
    }

    private double channel(int c, double t) {
        double[] p = params[c];
        double v = 0;
        for (int k = 0; k < 3; k++) {
            v += p[3 * k + 2] * Math.sin(2 * Math.PI * p[3 * k] * t + p[3 * k + 1]);
        }
        return v;
    }
}
