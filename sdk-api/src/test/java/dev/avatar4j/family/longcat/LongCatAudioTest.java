package dev.avatar4j.family.longcat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.audio.WhisperLogMel;
import dev.avatar4j.io.AudioSource;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.AudioStream;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import dev.avatar4j.testing.TestSignals;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The lazily computed audio embedding (two cached encoder chunks) equals the eager definition —
 * all chunks encoded, concatenated, cut to 2·rows and interpolated with align_corners — across
 * 30 s chunk boundaries, and every chunk is encoded exactly once.
 */
class LongCatAudioTest {
    private static final int DIM = 3;

    /** A deterministic stand-in for the encoder: state t of a chunk depends on mel frames 2t, 2t+1. */
    static final class FakeEncoder implements GraphSession {
        final List<Integer> calls = new ArrayList<>();

        @Override
        public List<TensorSpec> inputs() {
            return List.of(new TensorSpec("input_features", DType.FLOAT32, new long[] {1, 128, 3000}));
        }

        @Override
        public List<TensorSpec> outputs() {
            return List.of(new TensorSpec("hidden_groups", DType.FLOAT32, new long[] {1, 1500, 5, DIM}));
        }

        @Override
        public Result run(Map<String, Tensor> inputs, Set<String> outputs) {
            float[] mel = inputs.get("input_features").toFloatArray();
            calls.add(Float.floatToIntBits(mel[7]));
            float[] out = new float[1500 * 5 * DIM];
            for (int t = 0; t < 1500; t++) {
                for (int g = 0; g < 5; g++) {
                    for (int d = 0; d < DIM; d++) {
                        int bin = (g * 17 + d * 5) % 128;
                        out[(t * 5 + g) * DIM + d] = mel[bin * 3000 + 2 * t] - 0.5f * mel[bin * 3000 + 2 * t + 1]
                                + 0.01f * g;
                    }
                }
            }
            TensorScope memory = TensorScope.open();
            return new Result(memory, Map.of("hidden_groups", memory.ofFloats(out, 1, 1500, 5, DIM)));
        }

        @Override
        public boolean isThreadSafe() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void lazyRowsEqualTheEagerDefinitionAcrossChunks() throws Exception {
        LongCatConfig cfg = LongCatPlanTest.config(LongCatPlanTest.manifest());
        float[] track = TestSignals.signal("mix", 16_000, 70.0);          // three 30 s chunks
        LongCatPlan plan = LongCatPlan.create(cfg, track.length, 8, 64, 64);
        float[] padded = java.util.Arrays.copyOf(track, plan.paddedSamples());
        int rows = plan.embeddingRows();

        // eager: every chunk, concatenated, first 2·rows states, interpolated
        FakeEncoder eagerEncoder = new FakeEncoder();
        float[] x = LoudnessNormalizer.normalize(padded, 16_000, -23.0);
        WhisperLogMel mel = new WhisperLogMel(128);
        int chunks = WhisperLogMel.chunkCount(x.length);
        float[] states = new float[chunks * 1500 * 5 * DIM];
        for (int c = 0; c < chunks; c++) {
            try (Tensor in = Tensor.ofFloats(mel.chunk(x, c * WhisperLogMel.CHUNK_SAMPLES), 1, 128, 3000);
                 GraphSession.Result res = eagerEncoder.run(Map.of("input_features", in), Set.of())) {
                float[] s = res.get("hidden_groups").toFloatArray();
                System.arraycopy(s, 0, states, c * s.length, s.length);
            }
        }
        float[] want = AlignCornersInterpolation.resample(java.util.Arrays.copyOf(states, 2 * rows * 5 * DIM),
                2 * rows, 5 * DIM, rows);

        // lazy, from the unpadded track streamed through a bounded window: never decoded whole
        FakeEncoder lazyEncoder = new FakeEncoder();
        int[] opens = {0};
        int[] largestRead = {0};
        AudioSource streamed = AudioSource.streamed("track", track.length, 16_000, () -> {
            opens[0]++;
            AudioStream inner = AudioStream.of(new AudioClip(track, 16_000));
            return new AudioStream() {
                @Override
                public int read(float[] dst, int off, int len) {
                    largestRead[0] = Math.max(largestRead[0], len);
                    return inner.read(dst, off, Math.min(len, 4096));
                }

                @Override
                public void close() {
                    inner.close();
                }
            };
        }, () -> {
            throw new AssertionError("the embedding must not decode the track whole");
        }, WhisperLogMel.CHUNK_SAMPLES);
        LongCatAudio audio = LongCatAudio.embed(lazyEncoder, cfg, streamed, plan.paddedSamples(), rows);
        assertThat(audio.dim()).isEqualTo(DIM);
        int row = 5 * DIM;
        for (int s = 0; s < plan.segments(); s++) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor first = LongCatAudio.allocateFirst(scope, 1, DIM);
                Tensor latter = LongCatAudio.allocateLatter(scope, 1, 23, DIM);
                audio.gather(plan.audioStart(s), 93, 1, 0, first, latter);
                int[][] lat = LongCatAudioWindows.latentWindows(
                        LongCatAudioWindows.frameWindows(plan.audioStart(s), 93, 1, rows));
                for (int o = 0; o < 5; o++) {
                    for (int e = 0; e < row; e++) {
                        assertThat(first.segment().getAtIndex(ValueLayout.JAVA_FLOAT, (long) o * row + e))
                                .isEqualTo(want[lat[0][o] * row + e]);
                    }
                }
                for (int l = 1; l < 24; l++) {
                    for (int o = 0; o < 8; o++) {
                        for (int e = 0; e < row; e++) {
                            long at = ((long) (l - 1) * 8 + o) * row + e;
                            assertThat(latter.segment().getAtIndex(ValueLayout.JAVA_FLOAT, at))
                                    .as("segment %d latent %d position %d", s, l, o)
                                    .isEqualTo(want[lat[l][o] * row + e]);
                        }
                    }
                }
            }
        }
        // chunks needed: those holding states 0 .. 2·rows − 1, each encoded once, in order
        int needed = (2 * rows - 1) / 1500 + 1;
        assertThat(needed).isEqualTo(3);
        assertThat(lazyEncoder.calls).hasSize(needed).isEqualTo(eagerEncoder.calls.subList(0, needed));
        // one decoder for the loudness pass (a fork), one for the chunks; no buffer near the track's size
        assertThat(opens[0]).isEqualTo(2);
        assertThat(streamed.inMemory()).isFalse();
        assertThat(largestRead[0]).isLessThanOrEqualTo(WhisperLogMel.CHUNK_SAMPLES);
        streamed.close();
    }

    /**
     * Issue 22 item 1: the loudness pass and the first encoder call of a speaker's embedding pass a
     * cancellation point at least every 4 s of audio; a cancel stops the pass with no encoder call.
     */
    @Test
    void theEmbeddingPassesACancellationPointEveryBlockAndStopsAtIt() throws Exception {
        LongCatConfig cfg = LongCatPlanTest.config(LongCatPlanTest.manifest());
        float[] track = TestSignals.signal("mix", 16_000, 70.0);
        LongCatPlan plan = LongCatPlan.create(cfg, track.length, 8, 64, 64);
        int blocks = (plan.paddedSamples() + 65_535) / 65_536;
        FakeEncoder encoder = new FakeEncoder();
        int[] points = {0};
        LongCatAudio.embed(encoder, cfg, AudioSource.of(new AudioClip(track, 16_000)), plan.paddedSamples(),
                plan.embeddingRows(), () -> points[0]++);
        assertThat(points[0]).as("one per 65536-sample block, one before the encoder").isEqualTo(blocks + 1);
        assertThat(encoder.calls).hasSize(1);

        FakeEncoder cancelledEncoder = new FakeEncoder();
        int[] seen = {0};
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LongCatAudio.embed(cancelledEncoder, cfg,
                AudioSource.of(new AudioClip(track, 16_000)), plan.paddedSamples(), plan.embeddingRows(), () -> {
                    if (++seen[0] == 3) {
                        throw new dev.avatar4j.GenerationCancelledException("generation cancelled");
                    }
                })).isInstanceOf(dev.avatar4j.GenerationCancelledException.class);
        assertThat(seen[0]).as("the pass stopped at the cancel").isEqualTo(3);
        assertThat(cancelledEncoder.calls).isEmpty();
    }
}
