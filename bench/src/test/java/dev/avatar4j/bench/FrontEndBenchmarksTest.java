package dev.avatar4j.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.avatar4j.audio.WhisperLogMel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The JMH benchmark methods do the work their names promise (outside JMH, once each): the two
 * log-mel front ends produce full 30 s spectrograms of the synthetic speech, and the 30 s
 * normalisation produces zero mean and unit variance. Timings are never asserted.
 */
class FrontEndBenchmarksTest {
    private final FrontEndBenchmarks bench = new FrontEndBenchmarks();

    @BeforeEach
    void setUp() {
        bench.setup();
    }

    @AfterEach
    void tearDown() {
        bench.tearDown();
    }

    @Test
    void logMel128IsOneFullChunk() {
        float[] m = bench.logMel128Chunk30s();
        assertThat(m).hasSize(128 * WhisperLogMel.CHUNK_FRAMES);
        assertWithinTheEightDecadeRange(m);
    }

    @Test
    void logMel80CoversTheWholeFile() {
        float[][] m = bench.logMel80WholeFile30s();
        assertThat(m).hasNumberOfRows(80);
        float[] flat = new float[80 * m[0].length];
        for (int r = 0; r < 80; r++) {
            assertThat(m[r]).hasSize(3000);
            System.arraycopy(m[r], 0, flat, r * 3000, 3000);
        }
        assertWithinTheEightDecadeRange(flat);
    }

    @Test
    void clipNormalisationHasZeroMeanAndUnitVariance() {
        float[] y = bench.normalizeClip30s();
        double mean = 0;
        double sq = 0;
        for (int i = 0; i < FrontEndBenchmarks.CLIP; i++) {
            mean += y[i];
            sq += (double) y[i] * y[i];
        }
        assertThat(mean / FrontEndBenchmarks.CLIP).isCloseTo(0, within(1e-5));
        assertThat(sq / FrontEndBenchmarks.CLIP).isCloseTo(1, within(1e-3));
    }

    /** Whisper's clamp to max − 8 decades, then (L + 4)/4: every value lies within 2 of the maximum. */
    private static void assertWithinTheEightDecadeRange(float[] m) {
        float max = Float.NEGATIVE_INFINITY;
        float min = Float.POSITIVE_INFINITY;
        for (float v : m) {
            assertThat(Float.isFinite(v)).isTrue();
            max = Math.max(max, v);
            min = Math.min(min, v);
        }
        assertThat(max - min).as("speech-like audio spans the clamped range").isCloseTo(2f, within(1e-5f));
    }
}
