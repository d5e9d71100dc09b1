package dev.avatar4j.family;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Initial noise for one latent frame at a time, so that the whole noise tensor never has to
 * exist: frame {@code t} depends only on (seed, t). Tests inject a recorded tensor instead.
 */
@FunctionalInterface
public interface NoiseSource {

    /** Fills {@code dst} ({@code floats} float32 values) with the noise of latent frame {@code frameIndex}. */
    void fill(int frameIndex, MemorySegment dst, long floats);

    /**
     * Standard-normal noise from a counter-based generator: SplitMix64 over (seed, frame, index)
     * feeding a Box–Muller transform. Reproducible across runs, platforms and thread counts,
     * independent of the order frames are requested in.
     */
    static NoiseSource seeded(long seed) {
        return (frameIndex, dst, floats) -> {
            long base = mix(seed ^ mix(0x9E3779B97F4A7C15L * (frameIndex + 1L)));
            for (long i = 0; i < floats; i += 2) {
                long r1 = mix(base + 2 * i + 1);
                long r2 = mix(base + 2 * i + 2);
                // 53-bit uniforms in (0, 1]; u1 > 0 keeps the log finite
                double u1 = ((r1 >>> 11) + 1) * 0x1.0p-53;
                double u2 = (r2 >>> 11) * 0x1.0p-53;
                double radius = Math.sqrt(-2.0 * Math.log(u1));
                double angle = 2.0 * Math.PI * u2;
                dst.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (radius * Math.cos(angle)));
                if (i + 1 < floats) {
                    dst.setAtIndex(ValueLayout.JAVA_FLOAT, i + 1, (float) (radius * Math.sin(angle)));
                }
            }
        };
    }

    /** SplitMix64 finaliser (Steele, Lea, Flood 2014). */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
