package dev.avatar4j.family.longcat;

import dev.avatar4j.BackendException;
import dev.avatar4j.audio.WhisperLogMel;
import dev.avatar4j.io.AudioSource;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.Set;

/**
 * One speaker's audio embedding {@code [rows, 5, D]} (docs/REFERENCE.md §3 "Audio, v1.5"):
 * loudness normalisation of the whole (padded) track, Whisper log-mel per 30 s chunk, the encoder graph's 5
 * grouped layers at 50 Hz, the first {@code 2·rows} states interpolated with align_corners to
 * {@code rows}; and the per-segment gathers of the DiT's {@code audio_first}/{@code audio_latter}.
 *
 * <p>The embedding is computed lazily, one 30 s encoder chunk at a time, and at most two chunks of
 * encoder states are kept (a segment's windows can straddle a chunk boundary): memory does not grow
 * with the audio length. Each row is the same float32 interpolation as
 * {@link dev.avatar4j.family.longcat.AlignCornersInterpolation} (bit for bit), and segments read rows in
 * increasing order, so every chunk is encoded once.
 *
 * <p><b>Streamed track.</b> The track is never held whole either: the loudness is measured in a
 * first pass that streams it (from a {@link AudioSource#fork() fork}) through
 * {@link LoudnessMeter}, which equals the whole-array measurement bit for bit; each 30 s chunk is
 * then read from the source when the encoder needs it, with the gain applied as
 * {@link LoudnessNormalizer#normalize} applies it and the padding past the end of the track read as
 * zeros. Memory per speaker: one 30 s chunk of samples and two chunks of encoder states.
 */
final class LongCatAudio {
    /** Grouped encoder layers (means of 0–7, 8–15, 16–23, 24–31, final). */
    static final int GROUPS = 5;
    private static final int STATES_PER_CHUNK = WhisperLogMel.CHUNK_FRAMES / 2;

    private final GraphSession encoder;
    private final LongCatConfig cfg;
    private final WhisperLogMel mel;
    private final AudioSource track;
    private final int padded;
    private final double gain;
    private final boolean silent;
    private final float[] samples = new float[WhisperLogMel.CHUNK_SAMPLES];
    private final int rows;
    private final int states;   // 2·rows: the encoder states used
    private final float scale;  // align_corners: (states − 1)/(rows − 1)
    private int dim = -1;
    // two cached chunks of encoder states [STATES_PER_CHUNK][GROUPS][dim]
    private final int[] chunkIndex = {-1, -1};
    private final float[][] chunkStates = new float[2][];
    private int nextSlot;

    private LongCatAudio(GraphSession encoder, LongCatConfig cfg, AudioSource track, int padded, double gain,
                         boolean silent, int rows) {
        this.encoder = encoder;
        this.cfg = cfg;
        this.mel = new WhisperLogMel(cfg.melBins());
        this.track = track;
        this.padded = padded;
        this.gain = gain;
        this.silent = silent;
        this.rows = rows;
        this.states = 2 * rows;
        this.scale = rows > 1 ? (float) (states - 1) / (float) (rows - 1) : 0f;
    }

    /**
     * Prepares the embedding of a track padded with silence to {@code padded} samples: measures
     * its loudness in one streamed pass and encodes its first chunk.
     *
     * @param encoder the audio-encoder graph
     * @param cfg configuration
     * @param track the speaker's samples (read by range; not closed here)
     * @param padded the plan's padded length ({@code paddedSamples()}, at least the track's length)
     * @param rows embedding rows (the plan's {@code embeddingRows()})
     * @return the embedding
     */
    static LongCatAudio embed(GraphSession encoder, LongCatConfig cfg, AudioSource track, int padded, int rows) {
        return embed(encoder, cfg, track, padded, rows, () -> { });
    }

    /**
     * {@link #embed(GraphSession, LongCatConfig, AudioSource, int, int)}, calling {@code checkpoint}
     * (a generation's cancellation point, which throws when cancelled) before every 4 s block of the
     * loudness pass and before the first chunk's encoder call.
     */
    static LongCatAudio embed(GraphSession encoder, LongCatConfig cfg, AudioSource track, int padded, int rows,
                              Runnable checkpoint) {
        if (track.length() > padded) {
            throw new IllegalArgumentException("track of " + track.length() + " samples is longer than its padded "
                    + "length " + padded);
        }
        if ((long) WhisperLogMel.chunkCount(padded) * STATES_PER_CHUNK < 2L * rows) {
            throw new IllegalArgumentException("audio too short for " + rows + " embedding rows");
        }
        Measured m = measure(track, padded, cfg.sampleRate(), checkpoint);
        double gain = LoudnessNormalizer.gain(m.loudness(), cfg.loudness());
        LongCatAudio a = new LongCatAudio(encoder, cfg, track, padded, gain, m.silent(), rows);
        checkpoint.run();
        a.chunk(0);
        return a;
    }

    /** Pass 1: the integrated loudness of the track padded to {@code padded}, streamed through a fork. */
    static double loudness(AudioSource track, int padded, int rate) {
        return loudness(track, padded, rate, () -> { });
    }

    /** {@link #loudness(AudioSource, int, int)}, calling {@code checkpoint} before every block read. */
    static double loudness(AudioSource track, int padded, int rate, Runnable checkpoint) {
        return measure(track, padded, rate, checkpoint).loudness();
    }

    /** The loudness pass's results: the integrated loudness and whether every sample was 0. */
    record Measured(double loudness, boolean silent) {
    }

    /** Pass 1 (see {@link #loudness(AudioSource, int, int)}), also noting whether the track is all zeros. */
    static Measured measure(AudioSource track, int padded, int rate, Runnable checkpoint) {
        LoudnessMeter meter = new LoudnessMeter(rate, padded);
        float[] buf = new float[1 << 16];
        boolean silent = true;
        try (AudioSource f = track.fork()) {
            for (long at = 0; at < padded; at += buf.length) {
                checkpoint.run();
                int n = (int) Math.min(buf.length, padded - at);
                f.read(at, buf, 0, n); // past the end of the track: zeros, the reference's padding
                for (int i = 0; silent && i < n; i++) {
                    silent = buf[i] == 0f;
                }
                meter.accept(buf, 0, n);
            }
        }
        return new Measured(meter.integratedLoudness(), silent);
    }

    /**
     * {@return whether the track (padded) is all zeros: a silent person, whose embedding is the
     * encoder's features of silence, as the reference's silent track}
     */
    boolean silent() {
        return silent;
    }

    /**
     * Pass 2: the loudness-normalised samples of chunk {@code c}, as {@code normalize(padded)} would
     * hold them at {@code [c·480000, (c+1)·480000)}, zero past the padded end.
     */
    float[] normalizedChunk(int c) {
        long from = (long) c * WhisperLogMel.CHUNK_SAMPLES;
        int valid = (int) Math.max(0, Math.min(samples.length, padded - from));
        track.read(from, samples, 0, valid);
        java.util.Arrays.fill(samples, valid, samples.length, 0f);
        for (int i = 0; i < valid; i++) {
            samples[i] = (float) (gain * samples[i]);
        }
        return samples;
    }

    int rows() {
        return rows;
    }

    int dim() {
        return dim;
    }

    /** The encoder states of chunk c (cached; at most two chunks are kept). */
    private float[] chunk(int c) {
        for (int s = 0; s < 2; s++) {
            if (chunkIndex[s] == c) {
                return chunkStates[s];
            }
        }
        float[] out = encodeChunk(encoder, cfg, mel, normalizedChunk(c));
        if (dim < 0) {
            dim = out.length / (STATES_PER_CHUNK * GROUPS);
        }
        int slot = nextSlot;
        nextSlot = 1 - nextSlot;
        chunkIndex[slot] = c;
        chunkStates[slot] = out;
        return out;
    }

    /**
     * The audio encoder's grouped states {@code [STATES_PER_CHUNK][GROUPS][dim]} (flat) of one 30 s
     * chunk of loudness-normalised samples ({@link WhisperLogMel#CHUNK_SAMPLES} of them).
     */
    static float[] encodeChunk(GraphSession encoder, LongCatConfig cfg, WhisperLogMel mel, float[] samples) {
        float[] m = mel.chunk(samples, 0);
        try (TensorScope call = TensorScope.open()) {
            Tensor in = call.ofFloats(m, 1, cfg.melBins(), WhisperLogMel.CHUNK_FRAMES);
            Tensor hg = call.attach(encoder.run(Map.of("input_features", in), Set.of("hidden_groups")))
                    .get("hidden_groups");
            if (hg.dim(1) != STATES_PER_CHUNK) {
                throw new BackendException("audio-encoder returned " + hg.dim(1) + " states per chunk, expected "
                        + STATES_PER_CHUNK);
            }
            return hg.segment().toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** Writes embedding row {@code i} ({@code GROUPS·dim} floats) at float offset {@code off} of {@code dst}. */
    private void row(int i, MemorySegment dst, long off) {
        float src = scale * (float) i;
        int i0 = Math.min((int) Math.floor(src), states - 1);
        int i1 = Math.min(i0 + 1, states - 1);
        float lambda = Math.min(Math.max(src - (float) i0, 0f), 1f);
        float w0 = 1f - lambda;
        int width = GROUPS * dim;
        float[] a = chunk(i0 / STATES_PER_CHUNK);
        int ao = (i0 % STATES_PER_CHUNK) * width;
        float[] b = chunk(i1 / STATES_PER_CHUNK);
        int bo = (i1 % STATES_PER_CHUNK) * width;
        for (int d = 0; d < width; d++) {
            dst.setAtIndex(ValueLayout.JAVA_FLOAT, off + d, w0 * a[ao + d] + lambda * b[bo + d]);
        }
    }

    /**
     * Writes this speaker's {@code audio_first [5, 5, D]} (skipped when {@code first} is null) and
     * {@code audio_latter [n, 8, 5, D]} rows of a segment into the DiT inputs at person slot {@code p}.
     */
    void gather(int start, int frames, int stride, int p, Tensor first, Tensor latter) {
        int[][] lat = LongCatAudioWindows.latentWindows(
                LongCatAudioWindows.frameWindows(start, frames, stride, rows));
        long width = (long) GROUPS * dim;
        int fw = LongCatAudioWindows.FRAME_WINDOW;
        int lw = LongCatAudioWindows.LATENT_WINDOW;
        if (first != null) {
            long base = (long) p * fw * width;
            for (int o = 0; o < fw; o++) {
                row(lat[0][o], first.segment(), base + o * width);
            }
        }
        int n = lat.length - 1;
        long lbase = (long) p * n * lw * width;
        for (int l = 1; l <= n; l++) {
            for (int o = 0; o < lw; o++) {
                row(lat[l][o], latter.segment(), lbase + ((long) (l - 1) * lw + o) * width);
            }
        }
    }

    static Tensor allocateFirst(TensorScope scope, int persons, int dim) {
        return scope.allocate(DType.FLOAT32, 1, persons, LongCatAudioWindows.FRAME_WINDOW, GROUPS, dim);
    }

    static Tensor allocateLatter(TensorScope scope, int persons, int latents, int dim) {
        return scope.allocate(DType.FLOAT32, 1, persons, latents, LongCatAudioWindows.LATENT_WINDOW, GROUPS, dim);
    }
}
