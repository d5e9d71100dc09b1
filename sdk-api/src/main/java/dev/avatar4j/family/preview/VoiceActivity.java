package dev.avatar4j.family.preview;

import dev.avatar4j.io.AudioSource;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.Set;

/**
 * Speech probability over time with Silero VAD v5 (16 kHz): the audio is fed in chunks of
 * {@link #CHUNK} samples, each preceded by the last {@link #CONTEXT} samples of the previous chunk
 * (zeros before the first), carrying the recurrent state from chunk to chunk, as Silero's own
 * wrapper does. One probability per 32 ms chunk; {@link #atFrames} resamples them to video frames.
 * Thread-safe when its session is (the recurrent state is local to each call).
 */
final class VoiceActivity {
    /** Graph key in the bundle manifest. */
    static final String GRAPH = "vad";
    static final int SAMPLE_RATE = 16_000;
    static final int CHUNK = 512;
    static final int CONTEXT = 64;
    private static final int STATE = 128;

    private final GraphSession session;

    VoiceActivity(GraphSession session) {
        this.session = session;
    }

    /** The contract the VAD graph must satisfy when the bundle loads. */
    static GraphContract contract() {
        return GraphContract.of(GRAPH)
                .input("input", DType.FLOAT32, -1, -1)
                .input("state", DType.FLOAT32, 2, -1, STATE)
                .input("sr", DType.INT64)
                .output("output", DType.FLOAT32, -1, 1)
                .output("stateN", DType.FLOAT32, -1, -1, -1);
    }

    /** Speech probability of each 512-sample chunk of {@code samples} (16 kHz mono); the last chunk is zero-padded. */
    float[] chunkProbabilities(float[] samples) {
        return chunkProbabilities(AudioSource.of(new AudioClip(samples, SAMPLE_RATE)), () -> { });
    }

    /**
     * {@link #chunkProbabilities(float[])} of a source read front to back, chunk by chunk (a
     * streamed file is never held whole; the probabilities are one float per chunk).
     * {@code checkpoint} runs before every chunk's model call (a cancellation point: it throws to
     * stop), so a long audio's pass can be cancelled within one chunk's work.
     */
    float[] chunkProbabilities(AudioSource samples, Runnable checkpoint) {
        int chunks = Math.toIntExact((samples.length() + CHUNK - 1) / CHUNK);
        float[] out = new float[chunks];
        float[] chunk = new float[CHUNK];
        try (Stream stream = stream()) {
            for (int c = 0; c < chunks; c++) {
                checkpoint.run();
                samples.read((long) c * CHUNK, chunk, 0, CHUNK); // zero-padded past the end
                out[c] = stream.next(chunk, 0);
            }
        }
        return out;
    }

    /** A new stream: chunks given one by one as they arrive (a live session's speech). */
    Stream stream() {
        return new Stream();
    }

    /**
     * The VAD over one stream of chunks, with its context and recurrent state (native tensors,
     * freed by {@link #close()}). Not thread-safe: one user at a time.
     */
    final class Stream implements AutoCloseable {
        private final TensorScope scope = TensorScope.open();
        private final Tensor input;
        private final Tensor state;
        private final Tensor sr;
        private final float[] window = new float[CONTEXT + CHUNK];

        private Stream() {
            try {
                input = scope.allocate(DType.FLOAT32, 1, CONTEXT + CHUNK);
                state = scope.allocate(DType.FLOAT32, 2, 1, STATE);
                sr = scope.ofLongs(new long[] {SAMPLE_RATE});
            } catch (RuntimeException | Error e) {
                scope.close();
                throw e;
            }
        }

        /** The speech probability of the next chunk: {@link #CHUNK} samples of {@code src} from {@code off}. */
        float next(float[] src, int off) {
            System.arraycopy(window, CHUNK, window, 0, CONTEXT); // context = tail of the previous chunk
            System.arraycopy(src, off, window, CONTEXT, CHUNK);
            MemorySegment.copy(window, 0, input.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, window.length);
            try (GraphSession.Result res = session.run(Map.of("input", input, "state", state, "sr", sr),
                    Set.of("output", "stateN"))) {
                Tensor next = res.get("stateN");
                MemorySegment.copy(next.segment(), 0, state.segment(), 0, state.byteSize());
                return res.get("output").getFloat(0);
            }
        }

        /** Starts a new stream: no context, zero state. */
        void reset() {
            java.util.Arrays.fill(window, 0);
            state.segment().fill((byte) 0);
        }

        @Override
        public void close() {
            scope.close();
        }
    }

    /**
     * Chunk probabilities resampled to {@code frames} video frames at {@code fps}: each frame takes
     * the maximum over the chunks its interval overlaps (so a short syllable is not averaged away).
     */
    static float[] atFrames(float[] chunkProbs, int frames, int fps) {
        float[] out = new float[frames];
        double chunkSec = (double) CHUNK / SAMPLE_RATE;
        for (int f = 0; f < frames; f++) {
            double t0 = (double) f / fps;
            double t1 = (double) (f + 1) / fps;
            int c0 = (int) Math.floor(t0 / chunkSec);
            int c1 = (int) Math.ceil(t1 / chunkSec) - 1;
            float m = 0;
            for (int c = Math.max(0, c0); c <= Math.min(chunkProbs.length - 1, c1); c++) {
                m = Math.max(m, chunkProbs[c]);
            }
            out[f] = m;
        }
        return out;
    }
}
