package dev.avatar4j.family.preview;

import dev.avatar4j.family.LiveFeed;
import java.util.Arrays;

/**
 * The mouth analysis of a live session: {@link MouthFeatures} and {@link VoiceActivity} of the
 * offline pipeline run frame by frame over speech as it is pushed, reading from the
 * {@link LiveFeed} only what the next frame needs, so that queued speech stays in the feed (where an
 * interrupt can drop it) and what is held here is a few hundred samples.
 *
 * <p>Speech comes in utterances (ended by {@code endOfSpeech}, or cut by an interrupt); each is
 * analysed as the offline pipeline analyses a whole clip — frames of {@code rate/fps} samples from
 * its first sample, 512-sample VAD chunks with the recurrent state starting at zero, a 50 ms slice
 * centred on each frame, each frame's speech probability the maximum of the chunks its interval
 * overlaps — so frame {@code k} of an utterance needs its samples up to
 * {@link #need(long)} (the slice's end or the last overlapping chunk's end, at most 32 ms past the
 * frame). The one difference is the speech level the opening is relative to: offline it is the 95th
 * percentile over the whole clip, here over the frames of the last {@link #LEVEL_WINDOW_SEC}
 * seconds of speech analysed so far (causal, and bounded). Every result depends only on the samples
 * of the utterances and their order, never on how they were cut into pushes or when they came.
 * Not thread-safe: the session's thread only.
 */
final class LiveMouth implements AutoCloseable {
    /** The speech level reference covers this much of the latest analysed speech. */
    static final int LEVEL_WINDOW_SEC = 30;
    private static final int CHUNK = VoiceActivity.CHUNK;
    private static final double CHUNK_SEC = (double) CHUNK / VoiceActivity.SAMPLE_RATE;

    /**
     * One speaking frame: its raw mouth target, the analysis behind it (speech probability, level)
     * and the samples of the pushed speech it shows, {@code [start, end)}.
     */
    record Speaking(MouthShape target, float speech, double levelDb, long start, long end) {
    }

    private final int rate;
    private final int fps;
    private final VoiceActivity.Stream vad;
    private final MouthFeatures.Analyser analyser;
    private final float[] slice;
    private final float[] read = new float[4096];
    private final float[] chunk = new float[CHUNK];
    /** The latest frames' levels (a ring) and a scratch copy for the percentile. */
    private final double[] levels;
    private final double[] sorted;
    private int levelCount;
    private int levelNext;
    /** VAD probabilities of the latest chunks, by chunk index modulo the ring's size. */
    private final float[] probs = new float[64];

    // the utterance being analysed
    /** Its samples {@code [bufStart, received)}. */
    private float[] buf = new float[8192];
    private long bufStart;
    private long received;
    private boolean ended;
    /** Where its first sample is in the pushed speech; -1 before its first sample. */
    private long origin = -1;
    private long nextFrame;
    private long chunksDone;

    LiveMouth(VoiceActivity vad, int rate, int fps) {
        this.rate = rate;
        this.fps = fps;
        this.vad = vad.stream();
        this.analyser = new MouthFeatures.Analyser(rate);
        this.slice = new float[analyser.window()];
        this.levels = new double[LEVEL_WINDOW_SEC * fps];
        this.sorted = new double[levels.length];
    }

    /**
     * The next speaking frame, or null when the next frame must be idle: not enough speech is queued
     * (and its utterance has not ended), or the feed's epoch is not {@code epoch} (an interrupt: the
     * caller {@link #interrupt() drops} what is held before the next frame).
     *
     * @return the frame's target and its span in the pushed speech
     */
    Speaking next(LiveFeed feed, int epoch) {
        while (true) {
            if (ended && nextFrame >= frames(received)) {
                newUtterance(); // the last one was shown to its end
            }
            if (!ended) {
                long need = need(nextFrame);
                while (received < need) {
                    int n = feed.read(read, 0, (int) Math.min(read.length, need - received), epoch);
                    if (n == LiveFeed.STALE || n == 0) {
                        return null;
                    }
                    if (n == LiveFeed.END) {
                        ended = true;
                        break;
                    }
                    if (origin < 0) {
                        long after = feed.position(epoch);
                        if (after < 0) {
                            return null; // an interrupt came just now: these samples are dropped next frame
                        }
                        origin = after - received - n;
                    }
                    append(n);
                }
                runVad();
            }
            if (ended && nextFrame >= frames(received)) {
                continue; // an empty utterance (endOfSpeech with nothing new): go on with the next
            }
            return analyseNext();
        }
    }

    /** Drops the utterance being analysed (its queued rest was dropped by the feed). */
    void interrupt() {
        newUtterance();
    }

    /** Frames of an utterance of {@code samples} samples: enough to show all of them. */
    long frames(long samples) {
        return Math.ceilDiv(samples * fps, rate);
    }

    /** The first sample of utterance frame {@code k}. */
    long frameStart(long k) {
        return k * rate / fps;
    }

    /** Samples of the utterance frame {@code k} needs before it can be analysed (its utterance not yet ended). */
    long need(long k) {
        long sliceEnd = analyser.sliceStart(k, fps) + analyser.window();
        long chunkEnd = (lastChunk(k) + 1) * CHUNK;
        return Math.max(frameStart(k + 1), Math.max(sliceEnd, chunkEnd));
    }

    /** The first chunk frame {@code k}'s interval overlaps (as {@link VoiceActivity#atFrames}). */
    private long firstChunk(long k) {
        return (long) Math.floor(((double) k / fps) / CHUNK_SEC);
    }

    /** The last chunk frame {@code k}'s interval overlaps (as {@link VoiceActivity#atFrames}). */
    private long lastChunk(long k) {
        return (long) Math.ceil(((double) (k + 1) / fps) / CHUNK_SEC) - 1;
    }

    private void append(int n) {
        int held = (int) (received - bufStart);
        if (held + n > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, held + n));
        }
        System.arraycopy(read, 0, buf, held, n);
        received += n;
    }

    /** VAD of every chunk the held samples complete (at the end of an utterance, its last chunk zero-padded). */
    private void runVad() {
        long chunks = ended ? Math.ceilDiv(received, CHUNK) : received / CHUNK;
        while (chunksDone < chunks) {
            long from = chunksDone * CHUNK;
            int have = (int) Math.min(CHUNK, received - from);
            Arrays.fill(chunk, 0);
            System.arraycopy(buf, (int) (from - bufStart), chunk, 0, have);
            probs[(int) (chunksDone % probs.length)] = vad.next(chunk, 0);
            chunksDone++;
        }
    }

    private Speaking analyseNext() {
        long k = nextFrame++;
        long from = analyser.sliceStart(k, fps);
        for (int i = 0; i < slice.length; i++) {
            long s = from + i;
            slice[i] = s < 0 || s >= received ? 0f : buf[(int) (s - bufStart)]; // zero outside the utterance
        }
        MouthFeatures.Frame f = analyser.analyse(slice);
        long chunks = ended ? Math.ceilDiv(received, CHUNK) : chunksDone;
        float speech = 0;
        for (long c = Math.max(0, firstChunk(k)); c <= Math.min(chunks - 1, lastChunk(k)); c++) {
            speech = Math.max(speech, probs[(int) (c % probs.length)]);
        }
        MouthShape target = MouthFeatures.target(f, speech, reference(f.levelDb()));
        long start = frameStart(k);
        long end = Math.min(frameStart(k + 1), received);
        trim();
        return new Speaking(target, speech, f.levelDb(), origin + start, origin + end);
    }

    /** Adds a frame's level to the window and returns the window's 95th percentile (as offline, nearest rank). */
    private double reference(double levelDb) {
        levels[levelNext] = levelDb;
        levelNext = (levelNext + 1) % levels.length;
        levelCount = Math.min(levelCount + 1, levels.length);
        System.arraycopy(levels, 0, sorted, 0, levelCount);
        Arrays.sort(sorted, 0, levelCount);
        return sorted[Math.min(levelCount - 1, (int) Math.floor(0.95 * levelCount))];
    }

    /** Drops the held samples no later frame or chunk needs. */
    private void trim() {
        long keep = Math.min(chunksDone * CHUNK, analyser.sliceStart(nextFrame, fps));
        keep = Math.clamp(keep, bufStart, received);
        int drop = (int) (keep - bufStart);
        if (drop > 0) {
            System.arraycopy(buf, drop, buf, 0, (int) (received - keep));
            bufStart = keep;
        }
    }

    private void newUtterance() {
        bufStart = 0;
        received = 0;
        ended = false;
        origin = -1;
        nextFrame = 0;
        chunksDone = 0;
        vad.reset();
    }

    @Override
    public void close() {
        vad.close();
    }
}
