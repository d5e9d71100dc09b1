package dev.avatar4j.family.stableavatar;

import java.util.ArrayList;
import java.util.List;

/**
 * The window layout of speech whose length is not known yet (a live session's utterance): windows
 * are planned as the audio arrives, and the layout is closed when the utterance ends, so that the
 * windows and their audio are exactly those {@link StableAvatarPlan#create} gives for the whole
 * utterance ({@link WindowPlan}, {@link AudioWindowSlicer}).
 *
 * <p>With {@code A} samples in so far, T is at least {@code T(A)} (T only grows with the audio).
 * Window k (starting at latent {@code k·S}) is full and not the last as soon as
 * {@code k·S + F < T(A)}; its audio slice is then {@code sliceFrames} frames from its start, and it
 * is planned once those samples are in (a window's wav2vec2 features are computed from its own
 * slice, normalised on its own, so no audio after the slice is needed). When the utterance ends,
 * T is known: the remaining windows, the last one with the bundle's tail rule, follow.
 * Not thread-safe.
 */
final class OpenWindowPlan {
    /** A planned window and the audio it hears. */
    record Planned(Window window, StableAvatarPlan.AudioSlice audio) {
    }

    private final StableAvatarConfig cfg;
    private final int overlap;
    private final List<Planned> planned = new ArrayList<>();
    private int latentFrames = -1;

    OpenWindowPlan(StableAvatarConfig cfg, int overlap) {
        this.cfg = cfg;
        this.overlap = overlap;
        WindowPlan.create(1, cfg.windowLatents(), overlap); // checks the overlap
    }

    /**
     * The windows that {@code samples} samples of an utterance that goes on make certain, beyond
     * those returned before.
     *
     * @param samples the utterance's samples so far
     * @return the newly planned windows, in order (often none)
     */
    List<Planned> advance(long samples) {
        if (latentFrames >= 0) {
            throw new IllegalStateException("the utterance has ended");
        }
        int f = cfg.windowLatents();
        int stride = f - overlap;
        int atLeast = AudioWindowSlicer.latentFrames(samples, cfg.samplesPerFrame(), cfg.temporalStride());
        List<Planned> out = new ArrayList<>();
        while (true) {
            int k = planned.size();
            int start = k * stride;
            if (start + f >= atLeast) {
                return out; // this window may still be the last one
            }
            Window w = new Window(k, start, start + f);
            long[] r = AudioWindowSlicer.sliceSamples(w, atLeast, samples, cfg.samplesPerFrame(),
                    cfg.temporalStride(), cfg.sliceFrames(), cfg.tailMode());
            if (r[1] > samples) {
                return out; // its slice is not all in yet
            }
            Planned p = new Planned(w, slice(r));
            planned.add(p);
            out.add(p);
        }
    }

    /**
     * Closes the layout: the utterance has {@code samples} samples.
     *
     * @param samples the utterance's length
     * @return the windows not returned before, the last one included (none for speech shorter than
     *         a frame, which has no frames)
     */
    List<Planned> finish(long samples) {
        if (latentFrames >= 0) {
            throw new IllegalStateException("the utterance has ended");
        }
        int t = AudioWindowSlicer.latentFrames(samples, cfg.samplesPerFrame(), cfg.temporalStride());
        latentFrames = Math.max(0, t);
        if (t < 1) {
            if (!planned.isEmpty()) {
                throw new IllegalStateException("windows planned for speech without a frame");
            }
            return List.of();
        }
        List<Window> all = WindowPlan.create(t, cfg.windowLatents(), overlap).windows();
        for (int k = 0; k < planned.size(); k++) {
            if (!all.get(k).equals(planned.get(k).window())) { // T(A) only grows: cannot happen
                throw new IllegalStateException("window " + planned.get(k).window() + " was planned, the layout of "
                        + samples + " samples has " + all.get(k));
            }
        }
        List<Planned> out = new ArrayList<>();
        for (Window w : all.subList(planned.size(), all.size())) {
            long[] r = AudioWindowSlicer.sliceSamples(w, t, samples, cfg.samplesPerFrame(), cfg.temporalStride(),
                    cfg.sliceFrames(), cfg.tailMode());
            Planned p = new Planned(w, slice(r));
            planned.add(p);
            out.add(p);
        }
        return out;
    }

    /** As {@link StableAvatarPlan#create} describes a window's audio. */
    private StableAvatarPlan.AudioSlice slice(long[] r) {
        int tokens = Wav2Vec2Geometry.tokenCount(r[1] - r[0]);
        int perLatent = tokens < 1 ? 0 : AudioTokenIndex.windowTokens(tokens, cfg.windowFrames());
        return new StableAvatarPlan.AudioSlice(r[0], r[1], tokens, perLatent);
    }

    /** {@return the window {@code k} planned, with its audio} */
    Planned get(int k) {
        return planned.get(k);
    }

    /** {@return T once the utterance has ended, else -1} */
    int latentFrames() {
        return latentFrames;
    }

    /** {@return the video frames of the ended utterance, {@code (T − 1)·stride + 1}, 0 for T = 0} */
    int frames() {
        return latentFrames < 1 ? 0 : (latentFrames - 1) * cfg.temporalStride() + 1;
    }
}
