package dev.avatar4j.family.longcat;

import dev.avatar4j.BackendException;
import dev.avatar4j.audio.AlignCornersInterpolation;
import dev.avatar4j.audio.LoudnessNormalizer;
import dev.avatar4j.audio.WhisperLogMel;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.Set;

/**
 * One speaker's audio embedding {@code [rows, 5, D]} (REFERENCE-ALGORITHMS §3 "Audio, v1.5"):
 * loudness normalisation, Whisper log-mel per 30 s chunk, the encoder graph's 5 grouped layers at
 * 50 Hz, the first {@code 2·rows} states interpolated with align_corners to {@code rows}; and the
 * per-segment gathers of the DiT's {@code audio_first}/{@code audio_latter} inputs.
 */
final class LongCatAudio {
    /** Grouped encoder layers (means of 0–7, 8–15, 16–23, 24–31, final). */
    static final int GROUPS = 5;

    private final float[] embedding; // [rows][GROUPS][dim]
    private final int rows;
    private final int dim;

    private LongCatAudio(float[] embedding, int rows, int dim) {
        this.embedding = embedding;
        this.rows = rows;
        this.dim = dim;
    }

    /**
     * Computes the embedding of a padded track.
     *
     * @param encoder the audio-encoder graph
     * @param cfg configuration
     * @param padded the speaker's samples, already padded to the plan's length
     * @param rows embedding rows (the plan's {@code embeddingRows()})
     * @return the embedding
     */
    static LongCatAudio embed(GraphSession encoder, LongCatConfig cfg, float[] padded, int rows) {
        float[] x = LoudnessNormalizer.normalize(padded, cfg.sampleRate(), cfg.loudness());
        WhisperLogMel mel = new WhisperLogMel(cfg.melBins());
        int wanted = 2 * rows;
        float[] states = null;
        int dim = -1;
        int have = 0;
        int chunks = WhisperLogMel.chunkCount(x.length);
        for (int c = 0; c < chunks && have < wanted; c++) {
            float[] m = mel.chunk(x, c * WhisperLogMel.CHUNK_SAMPLES);
            try (Tensor in = Tensor.ofFloats(m, 1, cfg.melBins(), WhisperLogMel.CHUNK_FRAMES)) {
                Map<String, Tensor> out = encoder.run(Map.of("input_features", in), Set.of("hidden_groups"));
                try (Tensor hg = out.get("hidden_groups")) {
                    int t = (int) hg.dim(1);
                    if (dim < 0) {
                        dim = (int) hg.dim(3);
                        states = new float[Math.multiplyExact(wanted, GROUPS * dim)];
                    }
                    int take = Math.min(t, wanted - have);
                    MemorySegment.copy(hg.segment(), ValueLayout.JAVA_FLOAT, 0, states, have * GROUPS * dim,
                            take * GROUPS * dim);
                    have += take;
                }
            }
        }
        if (have < wanted) {
            throw new BackendException("audio-encoder produced " + have + " states, need " + wanted);
        }
        float[] emb = AlignCornersInterpolation.resample(states, wanted, GROUPS * dim, rows);
        return new LongCatAudio(emb, rows, dim);
    }

    int rows() {
        return rows;
    }

    int dim() {
        return dim;
    }

    /**
     * Writes this speaker's {@code audio_first [5, 5, D]} and {@code audio_latter [n, 8, 5, D]} rows
     * of a segment into the DiT inputs at person slot {@code p} of branch 0.
     */
    void gather(int start, int frames, int stride, int persons, int p, Tensor first, Tensor latter) {
        int[][] lat = LongCatAudioWindows.latentWindows(
                LongCatAudioWindows.frameWindows(start, frames, stride, rows));
        int row = GROUPS * dim;
        int fw = LongCatAudioWindows.FRAME_WINDOW;
        int lw = LongCatAudioWindows.LATENT_WINDOW;
        long base = (long) p * fw * row;
        for (int o = 0; o < fw; o++) {
            MemorySegment.copy(embedding, lat[0][o] * row, first.segment(), ValueLayout.JAVA_FLOAT,
                    (base + (long) o * row) * Float.BYTES, row);
        }
        int n = lat.length - 1;
        long lbase = (long) p * n * lw * row;
        for (int l = 1; l <= n; l++) {
            for (int o = 0; o < lw; o++) {
                MemorySegment.copy(embedding, lat[l][o] * row, latter.segment(), ValueLayout.JAVA_FLOAT,
                        (lbase + ((long) (l - 1) * lw + o) * row) * Float.BYTES, row);
            }
        }
    }

    static Tensor allocateFirst(int persons, int dim) {
        return Tensor.allocate(DType.FLOAT32, 1, persons, LongCatAudioWindows.FRAME_WINDOW, GROUPS, dim);
    }

    static Tensor allocateLatter(int persons, int latents, int dim) {
        return Tensor.allocate(DType.FLOAT32, 1, persons, latents, LongCatAudioWindows.LATENT_WINDOW, GROUPS, dim);
    }
}
