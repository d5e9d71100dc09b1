package dev.avatar4j.family.preview;

import java.util.SplittableRandom;

/**
 * When the avatar blinks: seeded, so the same seed gives the same blinks. Gaps between blinks
 * are drawn from a shifted exponential (at least {@link #MIN_GAP_SEC}, mean about
 * {@link #MIN_GAP_SEC} + {@link #MEAN_EXTRA_SEC} s, close to the adult resting rate of 15–20 a
 * minute); a blink closes in 80 ms, stays shut 40 ms and opens in 150 ms (lids open more slowly
 * than they close).
 */
final class BlinkSchedule {
    static final double MIN_GAP_SEC = 1.6;
    static final double MEAN_EXTRA_SEC = 2.0;
    static final double CLOSE_SEC = 0.08;
    static final double HOLD_SEC = 0.04;
    static final double OPEN_SEC = 0.15;

    private final double[] starts;

    private BlinkSchedule(double[] starts) {
        this.starts = starts;
    }

    /** Blinks over {@code durationSec} seconds, from {@code seed}. */
    static BlinkSchedule seeded(long seed, double durationSec) {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
        java.util.List<Double> s = new java.util.ArrayList<>();
        double t = 0.4 + rnd.nextDouble() * 1.2; // the first blink comes early
        while (t < durationSec) {
            s.add(t);
            t += MIN_GAP_SEC + CLOSE_SEC + HOLD_SEC + OPEN_SEC - MEAN_EXTRA_SEC * Math.log(1 - rnd.nextDouble());
        }
        return new BlinkSchedule(s.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /**
     * The blinks of {@link #seeded(long, double)} for an open-ended time line (a live session):
     * the same starts for the same seed, drawn as time advances, holding only the latest.
     */
    static Stream stream(long seed) {
        return new Stream(seed);
    }

    /** See {@link #stream(long)}; asked for nondecreasing times. Not thread-safe. */
    static final class Stream {
        private final SplittableRandom rnd;
        private double last = Double.NEGATIVE_INFINITY;
        private double next;

        private Stream(long seed) {
            rnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
            next = 0.4 + rnd.nextDouble() * 1.2;
        }

        /** Lid closure at time {@code t} (0 = open, 1 = shut); blinks never overlap (gaps exceed a blink). */
        double closure(double t) {
            while (next <= t) {
                last = next;
                next += MIN_GAP_SEC + CLOSE_SEC + HOLD_SEC + OPEN_SEC - MEAN_EXTRA_SEC * Math.log(1 - rnd.nextDouble());
            }
            return new BlinkSchedule(new double[] {last}).closure(t);
        }
    }

    /** Start times of the blinks, in seconds. */
    double[] starts() {
        return starts.clone();
    }

    /** Lid closure at time {@code t}: 0 = open, 1 = shut. */
    double closure(double t) {
        double c = 0;
        for (double s : starts) {
            double x = t - s;
            if (x < 0 || x > CLOSE_SEC + HOLD_SEC + OPEN_SEC) {
                continue;
            }
            double v;
            if (x < CLOSE_SEC) {
                v = MouthFeatures.smoothstep(0, CLOSE_SEC, x);
            } else if (x < CLOSE_SEC + HOLD_SEC) {
                v = 1;
            } else {
                v = 1 - MouthFeatures.smoothstep(CLOSE_SEC + HOLD_SEC, CLOSE_SEC + HOLD_SEC + OPEN_SEC, x);
            }
            c = Math.max(c, v);
        }
        return c;
    }
}
