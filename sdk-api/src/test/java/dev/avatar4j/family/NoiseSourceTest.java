package dev.avatar4j.family;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The seeded noise is a pure function of (seed, frame, index) and standard normal. */
class NoiseSourceTest {

    static float[] frame(NoiseSource n, int index, int floats) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) floats * 4 + 4, 4);
            seg.setAtIndex(ValueLayout.JAVA_FLOAT, floats, Float.NaN); // sentinel just past the end
            n.fill(index, seg, floats);
            assertThat(seg.getAtIndex(ValueLayout.JAVA_FLOAT, floats)).as("writes nothing past the end").isNaN();
            return seg.asSlice(0, (long) floats * 4).toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    @Test
    void sameSeedAndFrameGiveIdenticalValuesRegardlessOfCallOrder() {
        int frames = 12;
        int size = 1000;
        float[][] inOrder = new float[frames][];
        NoiseSource a = NoiseSource.seeded(42);
        for (int t = 0; t < frames; t++) {
            inOrder[t] = frame(a, t, size);
        }
        List<Integer> order = new ArrayList<>(IntStream.range(0, frames).boxed().toList());
        Collections.shuffle(order, new Random(1));
        NoiseSource b = NoiseSource.seeded(42);
        for (int t : order) {
            assertThat(frame(b, t, size)).as("frame %d", t).containsExactly(inOrder[t]);
        }
        // and the same source asked twice, or from many threads at once
        assertThat(frame(a, 5, size)).containsExactly(inOrder[5]);
        float[][] parallel = new float[frames][];
        ForkJoinPool.commonPool().submit(() -> IntStream.range(0, frames).parallel()
                .forEach(t -> parallel[t] = frame(b, t, size))).join();
        for (int t = 0; t < frames; t++) {
            assertThat(parallel[t]).containsExactly(inOrder[t]);
        }
    }

    @Test
    void differentFramesAndSeedsDiffer() {
        float[] f0 = frame(NoiseSource.seeded(1), 0, 256);
        float[] f1 = frame(NoiseSource.seeded(1), 1, 256);
        float[] g0 = frame(NoiseSource.seeded(2), 0, 256);
        float[] neg = frame(NoiseSource.seeded(-1), 0, 256);
        assertThat(f0).isNotEqualTo(f1);
        assertThat(f0).isNotEqualTo(g0);
        assertThat(f0).isNotEqualTo(neg);
        // not just different: uncorrelated
        assertThat(correlation(f0, f1)).isCloseTo(0, within(0.25));
        assertThat(correlation(f0, g0)).isCloseTo(0, within(0.25));
        // no frame of one seed is a shifted copy of another frame of the same seed
        float[] big0 = frame(NoiseSource.seeded(7), 0, 4096);
        float[] big1 = frame(NoiseSource.seeded(7), 1, 4096);
        for (int shift = -8; shift <= 8; shift++) {
            int matches = 0;
            for (int i = Math.max(0, -shift); i < 4096 && i + shift < 4096; i++) {
                if (big0[i] == big1[i + shift]) {
                    matches++;
                }
            }
            assertThat(matches).as("shift %d", shift).isLessThan(5);
        }
    }

    static double correlation(float[] a, float[] b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return ab / Math.sqrt(aa * bb);
    }

    @Test
    void meanZeroVarianceOneOverAMillionSamples() {
        NoiseSource n = NoiseSource.seeded(2024);
        double sum = 0;
        double sumSq = 0;
        double sum4 = 0;
        long count = 0;
        double lag1 = 0;
        int nonFinite = 0;
        for (int t = 0; t < 100; t++) {
            float[] f = frame(n, t, 10_000);
            for (int i = 0; i < f.length; i++) {
                sum += f[i];
                sumSq += (double) f[i] * f[i];
                double sq = (double) f[i] * f[i];
                sum4 += sq * sq;
                if (i > 0) {
                    lag1 += (double) f[i] * f[i - 1];
                }
                nonFinite += Float.isFinite(f[i]) ? 0 : 1;
            }
            count += f.length;
        }
        assertThat(nonFinite).isZero();
        double mean = sum / count;
        double variance = sumSq / count - mean * mean;
        assertThat(mean).isCloseTo(0, within(0.01));
        assertThat(variance).isCloseTo(1, within(0.01));
        assertThat(sum4 / count).as("kurtosis of a normal is 3").isCloseTo(3, within(0.05));
        assertThat(lag1 / count).as("neighbours (a Box–Muller pair) are uncorrelated").isCloseTo(0, within(0.01));
    }

    @Test
    void tailsLookNormal() {
        float[] f = frame(NoiseSource.seeded(99), 3, 200_000);
        long beyond2 = 0;
        long beyond3 = 0;
        for (float v : f) {
            beyond2 += Math.abs(v) > 2 ? 1 : 0;
            beyond3 += Math.abs(v) > 3 ? 1 : 0;
        }
        assertThat(beyond2 / 200_000.0).isCloseTo(0.0455, within(0.003)); // P(|Z| > 2)
        assertThat(beyond3 / 200_000.0).isCloseTo(0.0027, within(0.0006)); // P(|Z| > 3)
    }

    @Property(tries = 40)
    void oddLengthsFillEveryElementAndAgreeWithLongerFills(@ForAll @IntRange(min = 1, max = 257) int floats,
                                                           @ForAll @IntRange(min = 0, max = 1000) int frameIndex,
                                                           @ForAll long seed) {
        NoiseSource n = NoiseSource.seeded(seed);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) floats * 4 + 4, 4);
            for (int i = 0; i <= floats; i++) {
                seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, Float.NaN);
            }
            n.fill(frameIndex, seg, floats);
            for (int i = 0; i < floats; i++) {
                assertThat(Float.isFinite(seg.getAtIndex(ValueLayout.JAVA_FLOAT, i))).as("element %d of %d", i, floats)
                        .isTrue();
            }
            assertThat(seg.getAtIndex(ValueLayout.JAVA_FLOAT, floats)).as("past the end").isNaN();
            float[] got = seg.asSlice(0, (long) floats * 4).toArray(ValueLayout.JAVA_FLOAT);
            float[] longer = frame(n, frameIndex, floats + 3);
            assertThat(got).containsExactly(java.util.Arrays.copyOf(longer, floats));
        }
    }

    @Test
    void zeroFloatsWritesNothing() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(4, 4);
            seg.setAtIndex(ValueLayout.JAVA_FLOAT, 0, Float.NaN);
            NoiseSource.seeded(1).fill(0, seg, 0);
            assertThat(seg.getAtIndex(ValueLayout.JAVA_FLOAT, 0)).isNaN();
        }
    }
}
