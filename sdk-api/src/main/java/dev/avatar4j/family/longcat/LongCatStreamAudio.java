package dev.avatar4j.family.longcat;

import dev.avatar4j.audio.WhisperLogMel;
import dev.avatar4j.family.UtteranceLive;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The audio features of a longcat-avatar utterance while it is pushed (a live session's
 * low-latency mode, docs/BEHAVIOUR.md): each segment's {@code audio_latter} rows from the speech up
 * to the segment's end plus {@link LongCatAudioWindows#HALF} rows of right context, so segment s can
 * run once that much speech is in, before the utterance has ended. Three rules replace the offline
 * features, which depend on the whole utterance ({@link LongCatAudio}):
 * <ul>
 *   <li><b>gain</b>: one loudness gain for the utterance, measured (as {@link LoudnessMeter} measures
 *       a track) over its first {@code segmentFrames / fps} seconds (3.72 s), zero-padded to that
 *       length if the utterance is shorter: what the offline generation measures for an utterance of
 *       one segment;</li>
 *   <li><b>encoder chunk per segment</b>: segment s's rows come from one encoder call on a 30 s chunk
 *       that starts at row {@code R_s = max(0, 80·s − 2)} and holds the normalised speech up to row
 *       {@code 80·s + 93 + 2} (or the utterance's end), zeros after (offline, fixed 30 s chunks of the
 *       whole track);</li>
 *   <li><b>interpolation scale</b>: row r is the encoder state 2r, the nominal 25 Hz → 50 Hz scale
 *       (offline, align_corners with {@code (2·rows − 1)/(rows − 1)}, a little more than 2).</li>
 * </ul>
 * All three depend only on the speech, never on how it was pushed or on when the session's thread
 * took it, so a session's frames are deterministic. The frame windows clamp at the last row as
 * offline; only the last segment can reach it, and it is rendered once the utterance has ended, so
 * the row count is then known. The held speech is discarded up to the next segment's first row after
 * each segment.
 */
final class LongCatStreamAudio implements LongCatEngine.SegmentAudio {
    private static final int STATES_PER_CHUNK = WhisperLogMel.CHUNK_FRAMES / 2;

    private final GraphSession encoder;
    private final LongCatConfig cfg;
    private final LongCatPlan geometry;
    private final UtteranceLive.Utterance u;
    private final WhisperLogMel mel;
    private final int rowSamples;
    private final float[] chunk = new float[WhisperLogMel.CHUNK_SAMPLES];
    private double gain = Double.NaN;
    private float[] states;
    private int statesFrom = -1;
    private int dim = -1;
    private long total = -1;

    /**
     * @param encoder  the audio-encoder graph
     * @param cfg      the configuration (its audio stride must be 1, and sample rate a multiple of fps)
     * @param geometry a plan with the session's steps and size (its sample count is not used)
     * @param u        the utterance
     */
    LongCatStreamAudio(GraphSession encoder, LongCatConfig cfg, LongCatPlan geometry, UtteranceLive.Utterance u) {
        if (cfg.audioStride() != 1 || cfg.sampleRate() % cfg.fps() != 0) {
            throw new IllegalArgumentException("streamed features need an audio stride of 1 and a whole number of "
                    + "samples per frame; stride " + cfg.audioStride() + ", " + cfg.sampleRate() + " Hz at "
                    + cfg.fps() + " fps");
        }
        this.encoder = encoder;
        this.cfg = cfg;
        this.geometry = geometry;
        this.u = u;
        this.mel = new WhisperLogMel(cfg.melBins());
        this.rowSamples = cfg.sampleRate() / cfg.fps();
    }

    /** {@return the utterance position up to which segment s's speech is read: its rows plus the right context} */
    long end(int s) {
        return (long) (geometry.audioStart(s) + cfg.segmentFrames() + LongCatAudioWindows.HALF) * rowSamples;
    }

    /** {@return the first row of segment s's encoder chunk} */
    private int rowStart(int s) {
        return Math.max(0, geometry.audioStart(s) - LongCatAudioWindows.HALF);
    }

    /** The plan of the whole utterance, once it has ended. */
    private LongCatPlan whole() {
        return new LongCatPlan(cfg, Math.toIntExact(total), geometry.steps(), geometry.width(), geometry.height());
    }

    /**
     * Waits until segment s's speech (with its right context) is in, or the utterance has ended; then
     * encodes it.
     *
     * @return false when the utterance ended before segment s
     */
    @Override
    public boolean awaitSegment(int s) {
        long e = end(s);
        while (total < 0) {
            boolean ended = u.ended(); // first: once ended, the length is final
            long n = u.length();
            if (ended) {
                total = n;
            } else if (n >= e) {
                break;
            } else {
                u.awaitAudio(n);
            }
        }
        if (total >= 0 && s >= whole().segments()) {
            return false;
        }
        if (s == 0) {
            gain = gain();
        }
        long upTo = total >= 0 ? Math.min(e, total) : e;
        long from = (long) rowStart(s) * rowSamples;
        int n = (int) Math.max(0, Math.min(chunk.length, upTo - from));
        u.read(from, chunk, 0, n);
        Arrays.fill(chunk, n, chunk.length, 0f);
        for (int i = 0; i < n; i++) {
            chunk[i] = (float) (gain * chunk[i]);
        }
        u.check();
        states = LongCatAudio.encodeChunk(encoder, cfg, mel, chunk);
        statesFrom = rowStart(s);
        dim = states.length / (STATES_PER_CHUNK * LongCatAudio.GROUPS);
        u.discardBefore((long) rowStart(s + 1) * rowSamples);
        return true;
    }

    /** The gain of the first segment's length of speech, zero-padded (see the class comment). */
    private double gain() {
        int g = cfg.segmentFrames() * rowSamples;
        long avail = total >= 0 ? Math.min(g, total) : g;
        float[] head = new float[g];
        u.read(0, head, 0, (int) avail); // zeros after
        LoudnessMeter meter = new LoudnessMeter(cfg.sampleRate(), g);
        meter.accept(head, 0, g);
        return LoudnessNormalizer.gain(meter.integratedLoudness(), cfg.loudness());
    }

    @Override
    public int dim() {
        return dim;
    }

    @Override
    public void gather(int s, Tensor latter) {
        int length = total >= 0 ? whole().embeddingRows() : Integer.MAX_VALUE;
        int[][] lat = LongCatAudioWindows.latentWindows(LongCatAudioWindows.frameWindows(geometry.audioStart(s),
                cfg.segmentFrames(), cfg.audioStride(), length));
        int width = LongCatAudio.GROUPS * dim;
        int lw = LongCatAudioWindows.LATENT_WINDOW;
        MemorySegment dst = latter.segment();
        for (int l = 1; l < lat.length; l++) {
            for (int o = 0; o < lw; o++) {
                int state = 2 * (lat[l][o] - statesFrom);
                if (state < 0 || state >= STATES_PER_CHUNK) {
                    throw new IllegalStateException("row " + lat[l][o] + " outside segment " + s + "'s chunk");
                }
                long off = ((long) (l - 1) * lw + o) * width;
                MemorySegment.copy(states, state * width, dst, ValueLayout.JAVA_FLOAT, off * Float.BYTES, width);
            }
        }
    }

    @Override
    public long frames() {
        return total < 0 ? Long.MAX_VALUE : whole().frames();
    }
}
