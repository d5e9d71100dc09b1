package dev.avatar4j.bench;

import dev.avatar4j.family.stableavatar.Wav2Vec2Normalizer;
import dev.avatar4j.audio.WhisperLogMel;
import dev.avatar4j.audio.WhisperLogMelWholeFile;
import dev.avatar4j.sampling.Guidance;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * JMH micro benchmarks of the SDK's CPU-side per-window math, run by {@link BenchMain} next to a
 * numpy reference ({@code tools/bench_frontend_numpy.py}) on the same data and sizes:
 * <ul>
 *   <li>{@code normalizeWindow}: wav2vec2 normalisation of one StableAvatar audio window
 *       (84 frames at 25 fps = 53,760 samples at 16 kHz), numpy-exact float32 pairwise sums;</li>
 *   <li>{@code normalizeClip30s}: the same over a whole 30 s clip (480,000 samples);</li>
 *   <li>{@code guidanceCombine}: the 3-branch text/audio guidance combination of one window's
 *       velocity (3 × 16 × 21 × 32 × 32 floats, off-heap);</li>
 *   <li>{@code logMel128Chunk30s}: LongCat's Whisper front end, {@link WhisperLogMel} with 128 mel
 *       bins on one 30 s chunk (HF {@code WhisperFeatureExtractor} semantics, 3000 frames);</li>
 *   <li>{@code logMel80WholeFile30s}: LatentSync's, {@link WhisperLogMelWholeFile} (openai-whisper
 *       semantics, 80 mel bins) on the same 30 s as a whole file.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class FrontEndBenchmarks {
    /** Samples of one audio window. */
    public static final int WINDOW = 53_760;
    /** Samples of 30 s. */
    public static final int CLIP = 480_000;
    /** Floats per guidance branch (16 channels × 21 latents × 32 × 32). */
    public static final long BRANCH = 16L * 21 * 32 * 32;

    private float[] clip;
    private float[] out;
    private Arena arena;
    private MemorySegment batched;
    private MemorySegment combined;
    private final Guidance guidance = Guidance.textAudio(3.0, 5.0);
    private final WhisperLogMel logMel128 = new WhisperLogMel(128);
    private final WhisperLogMelWholeFile logMel80 = new WhisperLogMelWholeFile();

    /** Same synthetic audio as the macro benchmarks. */
    @Setup(Level.Trial)
    public void setup() {
        clip = Workload.audio(CLIP / (double) Workload.SAMPLE_RATE);
        out = new float[CLIP];
        arena = Arena.ofConfined();
        batched = arena.allocate(3 * BRANCH * 4, 64);
        combined = arena.allocate(BRANCH * 4, 64);
        for (long i = 0; i < 3 * BRANCH; i++) {
            batched.setAtIndex(ValueLayout.JAVA_FLOAT, i, clip[(int) (i % CLIP)]);
        }
    }

    /** Frees the off-heap buffers. */
    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** One window. */
    @Benchmark
    public float[] normalizeWindow() {
        Wav2Vec2Normalizer.normalize(clip, 0, WINDOW, out, 0);
        return out;
    }

    /** A whole 30 s clip. */
    @Benchmark
    public float[] normalizeClip30s() {
        Wav2Vec2Normalizer.normalize(clip, 0, CLIP, out, 0);
        return out;
    }

    /** One window's guidance combination. */
    @Benchmark
    public MemorySegment guidanceCombine() {
        guidance.combine(batched, BRANCH, combined);
        return combined;
    }

    /** LongCat's log-mel of one 30 s chunk (128 × 3000). */
    @Benchmark
    public float[] logMel128Chunk30s() {
        return logMel128.chunk(clip, 0);
    }

    /** LatentSync's whole-file log-mel of 30 s (80 × 3000). */
    @Benchmark
    public float[][] logMel80WholeFile30s() {
        return logMel80.compute(clip);
    }
}
