package dev.avatar4j.family.stableavatar;

import dev.avatar4j.BundleException;
import dev.avatar4j.io.AudioSource;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Audio conditioning per window (docs/REFERENCE.md §1.1): the window's slice of the waveform
 * (zero-padded past the end), wav2vec2-normalised on its own, encoded once, plus the per-latent
 * token gather table. The reference re-encodes every window at every step; the result is
 * deterministic, so it is computed once per window and kept until {@link #release}: each window's
 * features live in a sub-scope of the generation's scope, closed on release (or with the
 * generation's scope when it ends first).
 */
final class WindowAudio {
    /** One window's encoded audio, owned by {@code scope}. */
    record Features(TensorScope scope, Tensor tokens, Tensor index) {
    }

    private final TensorScope scope;
    private final GraphSession encoder;
    private final StableAvatarConfig cfg;
    private final Samples samples;
    private final java.util.function.IntFunction<StableAvatarPlan.AudioSlice> slices;
    private final Map<Integer, Features> cache = new HashMap<>();

    /** Where a window's samples are read: {@code len} samples from {@code from}, zero past the end. */
    @FunctionalInterface
    interface Samples {
        void read(long from, float[] dst, int off, int len);
    }

    /**
     * @param audio the speech, read window by window: windows advance monotonically and overlap,
     *              so a streamed source only keeps a bounded window of it
     */
    WindowAudio(TensorScope scope, GraphSession encoder, StableAvatarConfig cfg, AudioSource audio,
                StableAvatarPlan plan) {
        this(scope, encoder, cfg, audio::read, plan.windowAudio()::get);
    }

    /**
     * @param samples the speech as windows read it
     * @param slices  each window's audio range ({@link AudioWindowSlicer}'s), by window index
     */
    WindowAudio(TensorScope scope, GraphSession encoder, StableAvatarConfig cfg, Samples samples,
                java.util.function.IntFunction<StableAvatarPlan.AudioSlice> slices) {
        this.scope = scope;
        this.encoder = encoder;
        this.cfg = cfg;
        this.samples = samples;
        this.slices = slices;
    }

    /** The features of window {@code w}, computed on first use. */
    Features of(Window w) {
        Features f = cache.get(w.index());
        if (f == null) {
            f = compute(w);
            cache.put(w.index(), f);
        }
        return f;
    }

    /** Frees window {@code w}'s features once no more steps need them. */
    void release(Window w) {
        Features f = cache.remove(w.index());
        if (f != null) {
            f.scope().close();
        }
    }

    private Features compute(Window w) {
        StableAvatarPlan.AudioSlice range = slices.apply(w.index()); // AudioWindowSlicer's range
        int n = Math.toIntExact(range.samples());
        float[] slice = new float[n];
        samples.read(range.from(), slice, 0, n); // zero past the end
        float[] normalized = Wav2Vec2Normalizer.normalize(slice);
        int expectedTokens = range.tokens();
        // on failure the window's scope stays open until the generation's scope closes: a failure ends it
        TensorScope window = scope.newSubScope();
        Tensor tokens;
        try (TensorScope call = window.newSubScope()) {
            Tensor input = call.ofFloats(normalized, 1, n);
            tokens = window.attach(encoder.run(Map.of("input_values", input), Set.of("last_hidden_state")))
                    .get("last_hidden_state");
        }
        if (tokens.rank() != 3 || tokens.dim(1) != expectedTokens) {
            long got = tokens.rank() == 3 ? tokens.dim(1) : -1;
            throw new BundleException("audio-encoder returned " + got + " tokens for " + n + " samples; wav2vec2's "
                    + "conv strides give " + expectedTokens);
        }
        checkFinite(w, tokens);
        long[][] table = AudioTokenIndex.build(expectedTokens, cfg.windowLatents(), cfg.windowFrames());
        int width = table[0].length;
        long[] flat = new long[table.length * width];
        for (int i = 0; i < table.length; i++) {
            System.arraycopy(table[i], 0, flat, i * width, width);
        }
        return new Features(window, tokens, window.ofLongs(flat, table.length, width));
    }

    /**
     * Fails on NaN or infinite audio features: they would spread through every step of the
     * window's denoising. Silence cannot cause them (its normalised slice is all zeros, see
     * {@link Wav2Vec2Normalizer}); a broken graph or backend can.
     */
    private static void checkFinite(Window w, Tensor tokens) {
        java.lang.foreign.MemorySegment s = tokens.segment();
        long n = tokens.elementCount();
        for (long i = 0; i < n; i++) {
            float v = s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i);
            if (!Float.isFinite(v)) {
                throw new dev.avatar4j.BackendException("audio-encoder produced a non-finite feature (" + v
                        + ") for window " + w.index() + " (element " + i + " of " + java.util.Arrays.toString(
                        tokens.shape()) + "); the graph or the backend's precision is broken for these inputs");
            }
        }
    }
}
