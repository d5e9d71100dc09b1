package dev.avatar4j.testing;

/**
 * The deterministic test signals of {@code tools/longcat_golden.py} ({@code signal()}), evaluated
 * with the same formulas and operation order in float64 and rounded to float32.
 */
public final class TestSignals {

    private TestSignals() {
    }

    /**
     * One signal.
     *
     * @param kind {@code tone}, {@code mix}, {@code bursts} or {@code silence}
     * @param rate sample rate in Hz
     * @param seconds duration
     * @return the float32 samples
     */
    public static float[] signal(String kind, int rate, double seconds) {
        int n = (int) Math.rint(rate * seconds);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double t = (double) i / rate;
            double v = switch (kind) {
                case "tone" -> 0.5 * Math.sin(2 * Math.PI * 1000.0 * t);
                case "mix" -> (0.30 * Math.sin(2 * Math.PI * 220.0 * t)
                        + 0.15 * Math.sin(2 * Math.PI * 3150.0 * t + 0.5)
                        + 0.05 * ((((long) i * 7919) % 1000) / 500.0 - 1.0))
                        * (0.6 + 0.4 * Math.sin(2 * Math.PI * 1.5 * t));
                case "bursts" -> ((t % 1.0) < 0.5 ? 0.8 : 0.001) * Math.sin(2 * Math.PI * 600.0 * t);
                case "silence" -> 0.0;
                default -> throw new IllegalArgumentException(kind);
            };
            x[i] = (float) v;
        }
        return x;
    }
}
