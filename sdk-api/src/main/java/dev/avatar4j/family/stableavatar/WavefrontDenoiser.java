package dev.avatar4j.family.stableavatar;

import dev.avatar4j.sampling.SigmaSchedule;
import dev.avatar4j.sampling.EulerStep;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * StableAvatar's DWSW denoising (docs/REFERENCE.md §1.5) in dependency order instead of
 * lock-step order (docs/ARCHITECTURE.md §3.1): bounded memory, streaming output, and latents that are
 * bit-for-bit identical to the reference's lock-step order ({@code LockstepDenoiser}, in the test sources).
 *
 * <h2>Work items and dependencies</h2>
 * A work item {@code (k, i)} advances window k by step i. In the lock-step reference it
 * <ol>
 *   <li>reads {@code L_{i−1}} over its range, where {@code L_{i−1}(f)} is the fused result of
 *       step i−1 at frame f: the value written at step i−1 by the <em>last</em> window covering f
 *       (later windows overwrite; {@code L_{−1}} is the initial noise);</li>
 *   <li>runs the model and the Euler update;</li>
 *   <li>if {@code k > 0} and {@code i > 0}, blends its first O frames with what window k−1 wrote
 *       there at the same step i;</li>
 *   <li>writes its frames as their step-i value, overwriting window k−1's values in the overlap.</li>
 * </ol>
 * So {@code (k, i)} must run after {@code (k−1, i)} (blend partner, and write order: the later
 * window must overwrite, at step 0 too) and after every {@code (j, i−1)} with {@code j ≥ k} whose
 * range overlaps window k (the writers of {@code L_{i−1}} on window k's frames; usually only
 * {@code j = k+1}, up to {@code m = ⌊(F−1)/(F−O)⌋} later windows when the stride is small). The
 * first rule makes the per-window step counts {@code done[k]} non-increasing in k, so the second
 * reduces to one check against the last overlapping window. Any order that respects these rules
 * performs exactly the reference's float operations on exactly the reference's operands, hence the
 * identical result.
 *
 * <h2>Ordering policy</h2>
 * Single-threaded greedy: always run the ready item with the <b>lowest window index</b> (each
 * window's next item is {@code (k, done[k])}). Lower windows are closer to being final, so this
 * finishes frames as early as possible and starts a new window (the only way the live state
 * grows) only when every older unfinished window is blocked. The result is a diagonal wavefront:
 * with m = 1 the items run as (0,0) (1,0) (0,1) (2,0) (1,1) (0,2) (3,0) …; the first frame is
 * final after the items {@code (j, i)} with {@code j ≤ m·(N−1−i)}, at most
 * {@link #firstFinalCallBound} model calls, independent of T.
 *
 * <h2>Memory bound</h2>
 * Per frame f the denoiser keeps one buffer per step value that some pending item still needs:
 * {@code (f, i)} is created by the first window covering f at step i and freed when the last
 * covering window has read it at step i+1 (at step N−1: once delivered to the sink). When the first
 * covering window runs step i+1, the last covering window has already run step i (overlap rule),
 * which freed {@code (f, i−1)}; so at most <b>2 buffers per frame</b>, and only <b>1</b> for a frame
 * covered by a single window (it reads and frees step value i before it writes i+1).
 *
 * <p>Live frames lie in windows {@code a..K}, a = oldest unfinished window, K = newest started one
 * (a frame of a finished window that is not final is covered by window a too). When the greedy
 * starts window K, every window in {@code a..K−1} is blocked. Group them into runs of equal
 * {@code done} (non-increasing, each value in 1..N−1): all but the first window of a run are
 * blocked by their predecessor, the first is blocked by a later overlapping window with a smaller
 * count, so each run has at most m windows, and there are at most N−1 runs. Hence
 * {@code K − a ≤ D = m·(N−1)}: the live frames span at most {@code D·S + F} frames (S = F − O),
 * of which at least {@code (D+1)·max(0, S−O)} are covered by one window only, and
 * <pre>
 *   live frame buffers ≤ {@link #liveFrameBound}(F, O, N) = 2·(D·S + F) − (D+1)·max(0, S − O),
 *                        D = m·(N−1),  m = ⌊(F−1)/S⌋
 * </pre>
 * independent of T (it grows linearly with N: the wavefront is N steps deep). Measured peaks, equal
 * for T = 500 and T = 5000 unless noted: F=21, O=5: N=4 → 89 (bound 94), N=50 → 1055 at T = 5000
 * (bound 1060; 650 at T = 500, a timeline shorter than the 50-step wavefront); F=21, O=10: N=4 → 94 (104), N=50 → 1060 (1070); F=21, O=15, N=10 → 333 (366);
 * F=12, O=10, N=5 → 102 (104).
 * Besides these, a run holds two window-sized scratch tensors (x and v, F frames each). Buffers
 * come from a per-run pool, so memory stays flat; all of it is released when the run ends,
 * normally or by an exception from the model, the noise supplier or a sink.
 *
 * <p>Initial noise is requested per frame when the first window covering it starts (increasing
 * frame order), never for the whole timeline. Frames are handed to the {@link FinalFrameSink} in
 * increasing order as soon as the window owning them finishes the last step.
 *
 * <p>All arithmetic is float32 and written exactly like {@code LockstepDenoiser}'s. An instance
 * holds no per-run state except the statistic {@link #peakLiveFrames()}; use one instance per
 * concurrent run.
 */
public final class WavefrontDenoiser {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    /** The whole layout for {@link #denoise}; null for a denoiser made for open-ended runs. */
    private final WindowPlan plan;
    private final int windowLatents;
    private final int stride;
    private final float[] weights;
    private final SigmaSchedule schedule;
    private final int channels;
    private final long hw;
    private final long frameFloats;
    private final long windowFloats;
    private volatile int peakLiveFrames;

    /**
     * Prepares a denoiser.
     *
     * @param plan the window layout
     * @param overlapWeights weights of the new window, {@code plan.overlap()} values (see
     *     {@link OverlapWeights})
     * @param schedule the sigma/timestep schedule; its step count is the number of steps run
     * @param channels latent channels C
     * @param hw latent pixels per frame, h·w
     * @throws IllegalArgumentException if the weights do not match the overlap or a size is &lt; 1
     */
    public WavefrontDenoiser(WindowPlan plan, float[] overlapWeights, SigmaSchedule schedule,
                             int channels, long hw) {
        this(Objects.requireNonNull(plan, "plan"), plan.windowLatents(), plan.overlap(),
                plan.windows().stream().mapToInt(Window::length).max().orElseThrow(), overlapWeights, schedule,
                channels, hw);
    }

    /**
     * Prepares a denoiser for open-ended runs ({@link #open}): windows of at most
     * {@code windowLatents} frames, each starting {@code windowLatents − overlap} after the previous
     * one, as {@link WindowPlan} lays them out.
     *
     * @param windowLatents F
     * @param overlap O, in [2, F)
     * @param overlapWeights weights of the new window, {@code overlap} values
     * @param schedule the sigma/timestep schedule
     * @param channels latent channels C
     * @param hw latent pixels per frame, h·w
     * @throws IllegalArgumentException if an argument is out of range
     */
    WavefrontDenoiser(int windowLatents, int overlap, float[] overlapWeights, SigmaSchedule schedule, int channels,
                      long hw) {
        this(null, windowLatents, overlap, windowLatents, overlapWeights, schedule, channels, hw);
    }

    private WavefrontDenoiser(WindowPlan plan, int windowLatents, int overlap, int maxLength, float[] overlapWeights,
                              SigmaSchedule schedule, int channels, long hw) {
        Objects.requireNonNull(overlapWeights, "overlapWeights");
        Objects.requireNonNull(schedule, "schedule");
        if (overlap < 2 || overlap >= windowLatents) {
            throw new IllegalArgumentException("need 2 <= overlap < window, got F=" + windowLatents + ", O=" + overlap);
        }
        if (overlapWeights.length != overlap) {
            throw new IllegalArgumentException("got " + overlapWeights.length
                    + " overlap weights for an overlap of " + overlap);
        }
        if (channels < 1 || hw < 1) {
            throw new IllegalArgumentException("channels and hw must be >= 1, got " + channels + ", " + hw);
        }
        this.plan = plan;
        this.windowLatents = windowLatents;
        this.stride = windowLatents - overlap;
        this.weights = overlapWeights.clone();
        this.schedule = schedule;
        this.channels = channels;
        this.hw = hw;
        this.frameFloats = Math.multiplyExact((long) channels, hw);
        this.windowFloats = Math.multiplyExact((long) maxLength, frameFloats);
        Math.multiplyExact(windowFloats, (long) Float.BYTES); // fail early on absurd sizes
    }

    /**
     * The analytic bound on live latent frame buffers of any run (see the class comment):
     * {@code 2·(D·S + F) − (D+1)·max(0, S−O)} with {@code S = F−O}, {@code D = m·(N−1)},
     * {@code m = ⌊(F−1)/S⌋}. It does not depend on T.
     *
     * @param windowLatents F, at least 3
     * @param overlap O, in [2, F)
     * @param steps N, at least 1
     * @return the bound, in frames of C·h·w floats
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static long liveFrameBound(int windowLatents, int overlap, int steps) {
        long m = overlappingLaterWindows(windowLatents, overlap, steps);
        long stride = windowLatents - overlap;
        long depth = m * (steps - 1);
        long singleCovered = (depth + 1) * Math.max(0, stride - overlap);
        return 2 * (depth * stride + windowLatents) - singleCovered;
    }

    /**
     * An upper bound on the model calls made before the first frame is final, independent of T:
     * the items {@code (j, i)} with {@code j ≤ m·(N−1−i)}, i.e. {@code m·N(N−1)/2 + N} with
     * {@code m = ⌊(F−1)/(F−O)⌋} (N = 4, m = 1: 10 calls, about 2.5 windows' worth of steps).
     *
     * @param windowLatents F, at least 3
     * @param overlap O, in [2, F)
     * @param steps N, at least 1
     * @return the bound
     * @throws IllegalArgumentException if an argument is out of range
     */
    public static long firstFinalCallBound(int windowLatents, int overlap, int steps) {
        long m = overlappingLaterWindows(windowLatents, overlap, steps);
        return m * steps * (steps - 1L) / 2 + steps;
    }

    /** m: how many later windows can overlap a full window. */
    private static long overlappingLaterWindows(int windowLatents, int overlap, int steps) {
        if (overlap < 2 || overlap >= windowLatents || steps < 1) {
            throw new IllegalArgumentException("need 2 <= overlap < window and steps >= 1, got F="
                    + windowLatents + ", O=" + overlap + ", N=" + steps);
        }
        return (windowLatents - 1) / (windowLatents - overlap);
    }

    /**
     * The largest number of latent frame buffers (C·h·w floats each) that were alive at once
     * during the most recently finished run on this instance (0 before any run). Scratch window
     * tensors are not counted.
     *
     * @return the measured peak
     */
    public int peakLiveFrames() {
        return peakLiveFrames;
    }

    /**
     * Runs all steps over all windows in wavefront order, streaming final frames.
     *
     * @param initial supplies each frame's initial latents, on first use
     * @param model the guided velocity; may throw (e.g. on cancellation), which aborts the run
     * @param listener called after every (window, step), in execution order (not lock-step order)
     * @param sink receives every frame exactly once, in increasing order, as soon as it is final
     * @throws NullPointerException if an argument is null
     * @throws IllegalStateException if this denoiser was made for open-ended runs
     */
    public void denoise(InitialLatents initial, WindowVelocity model, StepListener listener,
                        FinalFrameSink sink) {
        if (plan == null) {
            throw new IllegalStateException("an open-ended denoiser has no plan: use open()");
        }
        try (Open run = open(initial, model, listener, sink)) {
            for (Window w : plan.windows()) {
                run.add(w);
            }
            run.finish(plan.latentFrames());
            while (run.step()) {
                // the greedy order: one (window, step) item at a time
            }
            if (!run.isDone()) {
                throw new IllegalStateException("wavefront deadlock at window " + run.oldest);
            }
        }
    }

    /**
     * Starts an open-ended run (a live session): windows are {@link Open#add added} as they become
     * known, {@link Open#step()} runs the next ready item, and {@link Open#finish} closes the layout.
     * It performs exactly the float operations of {@link #denoise} over the layout it ends up with,
     * whatever the interleaving of adds and steps, so its frames equal an offline run's bit for bit.
     *
     * @param initial supplies each frame's initial latents, on first use
     * @param model the guided velocity
     * @param listener called after every (window, step)
     * @param sink receives every frame once, in increasing order, as soon as it is final
     * @return the run; close it to free its buffers
     */
    Open open(InitialLatents initial, WindowVelocity model, StepListener listener, FinalFrameSink sink) {
        return open(initial, model, listener, sink, false);
    }

    /**
     * {@link #open} with a choice of order. {@code sequential = false} is the reference's: an item
     * reads the fused values of every window overlapping it, so a window's frames are final only after
     * the N−1 windows after it have started. {@code sequential = true} (a live session's low-latency
     * mode) finishes each window, all N steps, before the next one starts: a window reads only its own
     * values and, in its first O frames, blends each step with the previous window's value of the same
     * step, as the reference does, but the later window's values no longer flow back into the earlier
     * one. Its frames are final as soon as it has run, one window after their speech, and they are no
     * longer the reference's (a different, deterministic result).
     */
    Open open(InitialLatents initial, WindowVelocity model, StepListener listener, FinalFrameSink sink,
              boolean sequential) {
        Objects.requireNonNull(initial, "initial");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(sink, "sink");
        return new Open(initial, model, listener, sink, sequential);
    }

    /** Per-frame bookkeeping: the buffers of the step values still needed. */
    private static final class FrameState {
        /** The last window covering the frame: its writes are the fused values, it reads last. */
        final int owner;
        /** Buffer of step value i at index i + 1 (index 0: the initial latents); null when freed. */
        final MemorySegment[] slots;
        boolean isFinal;

        FrameState(int owner, int steps) {
            this.owner = owner;
            this.slots = new MemorySegment[steps + 1];
        }
    }

    /**
     * One run over windows that may still be coming. Its windows are the layout's prefix known so
     * far: every window added before {@link #finish} must be a full window that is not the last
     * (so its successor exists), as {@link WindowPlan} lays them out; {@link #finish} gives T after
     * the remaining windows were added. Readiness extends the offline rules: an item {@code (k, i)}
     * with {@code i ≥ 1} also waits until every window that can overlap window k is known, and
     * {@code (k, 0)} until the owner (the last covering window) of each of its frames is known.
     * Single-threaded: one thread adds, steps and closes.
     */
    final class Open implements AutoCloseable {
        final Arena arena = Arena.ofShared();
        final InitialLatents initial;
        final WindowVelocity model;
        final StepListener listener;
        final FinalFrameSink sink;
        /** Each window runs all its steps before the next one starts (see {@link #open(InitialLatents,
         * WindowVelocity, StepListener, FinalFrameSink, boolean)}). */
        final boolean sequential;
        final int steps = schedule.steps();
        final List<Window> windows = new java.util.ArrayList<>();
        int[] done = new int[8];
        final Map<Integer, FrameState> frames = new HashMap<>();
        final ArrayDeque<MemorySegment> pool = new ArrayDeque<>();
        final long frameBytes = frameFloats * Float.BYTES;
        final MemorySegment xBuf;
        final MemorySegment vBuf;
        /** T once the layout is closed, else -1. */
        int latentFrames = -1;
        int oldest; // every window below has run all steps
        int live;
        int peak;
        int nextFinal;

        Open(InitialLatents initial, WindowVelocity model, StepListener listener, FinalFrameSink sink,
             boolean sequential) {
            this.sequential = sequential;
            this.initial = initial;
            this.model = model;
            this.listener = listener;
            this.sink = sink;
            this.xBuf = arena.allocate(windowFloats * Float.BYTES, Float.BYTES);
            this.vBuf = arena.allocate(windowFloats * Float.BYTES, Float.BYTES);
        }

        /**
         * Adds the next window of the layout.
         *
         * @throws IllegalArgumentException if it is not the layout's next window
         * @throws IllegalStateException if the layout is closed
         */
        void add(Window w) {
            if (latentFrames >= 0) {
                throw new IllegalStateException("the layout is closed");
            }
            int k = windows.size();
            if (w.index() != k || w.start() != k * stride || w.length() > windowLatents
                    || (k > 0 && w.end() < windows.get(k - 1).end())) {
                throw new IllegalArgumentException("window " + w + " is not window " + k + " of a layout with F="
                        + windowLatents + ", stride " + stride);
            }
            if (k == done.length) {
                done = java.util.Arrays.copyOf(done, 2 * k);
            }
            windows.add(w);
        }

        /**
         * Closes the layout: no window follows the last one added, whose end is T.
         *
         * @param total T
         * @throws IllegalArgumentException if T is not the last window's end
         */
        void finish(int total) {
            int end = windows.isEmpty() ? 0 : windows.getLast().end();
            if (total != end) {
                throw new IllegalArgumentException("T = " + total + " but the last window ends at " + end);
            }
            latentFrames = total;
        }

        /** {@return the windows added so far} */
        int windowCount() {
            return windows.size();
        }

        /** {@return whether the layout is closed and every frame was delivered} */
        boolean isDone() {
            return latentFrames >= 0 && oldest == windows.size();
        }

        /**
         * Runs the ready item with the lowest window index, if any.
         *
         * @return false when no item is ready (waiting for windows, or done)
         */
        boolean step() {
            int k = pick();
            if (k < 0) {
                return false;
            }
            advance(windows.get(k), done[k]);
            while (oldest < windows.size() && done[oldest] == steps) {
                oldest++;
            }
            if (isDone() && (nextFinal != latentFrames || !frames.isEmpty() || live != 0)) {
                throw new IllegalStateException("wavefront bookkeeping broken: delivered " + nextFinal
                        + " of " + latentFrames + " frames, " + live + " buffers still live");
            }
            return true;
        }

        /** The highest window index whose range can overlap window k (all windows start at j·S). */
        private int lastCover(int k) {
            return (windows.get(k).end() - 1) / stride;
        }

        /** The last window overlapping window k, or -1 while it is not known yet. */
        private int lastOverlap(int k) {
            int j = lastCover(k);
            if (latentFrames >= 0) {
                return Math.min(j, windows.size() - 1);
            }
            return j < windows.size() ? j : -1;
        }

        /** The lowest window whose next item is ready, or -1. */
        int pick() {
            for (int k = oldest; k < windows.size(); k++) {
                int i = done[k];
                if (sequential) {
                    // the previous window has run all its steps; later windows are not waited for
                    if (i < steps && (k == 0 || done[k - 1] == steps) && (latentFrames >= 0
                            || lastCover(k) <= windows.size())) {
                        return k;
                    }
                    if (i < steps) {
                        break;
                    }
                    continue;
                }
                boolean afterPrevious = k == 0 || done[k - 1] > i;
                // the owners of window k's frames: known once every window that may cover them
                // exists or not for sure (before the layout closes, the successor of the last window
                // added exists: only full, non-last windows come before finish)
                boolean ownersKnown = latentFrames >= 0 || lastCover(k) <= windows.size();
                int j = i == 0 ? k : lastOverlap(k);
                boolean inputsFused = j >= 0 && done[j] >= i; // every overlapping (j, i−1) done
                if (i < steps && afterPrevious && ownersKnown && inputsFused) {
                    return k;
                }
                if (i == 0) {
                    break; // nothing after an unstarted window can be ready
                }
            }
            return -1;
        }

        /** Item (w, i): read L_{i−1}, model, Euler, blend, write step i's value, stream finals. */
        void advance(Window w, int i) {
            int k = w.index();
            int len = w.length();
            long n = len * frameFloats;
            MemorySegment x = xBuf.asSlice(0, n * Float.BYTES);
            MemorySegment v = vBuf.asSlice(0, n * Float.BYTES);
            for (int f = w.start(); f < w.end(); f++) {
                FrameState state = i == 0 ? touch(f, k) : frames.get(f);
                MemorySegment src = state.slots[i];
                copyIn(src, x, len, f - w.start());
                if (state.owner == k) {
                    // The owner is the last reader of step value i−1 (windows run each step in order).
                    release(src);
                    state.slots[i] = null;
                }
            }
            model.velocity(w, i, schedule.timestep(i), x.asReadOnly(), v);
            EulerStep.apply(x, v, schedule.dt(i), n);
            if (k != 0 && i != 0) {
                blend(x, len, w.start(), i);
            }
            for (int f = w.start(); f < w.end(); f++) {
                FrameState state = frames.get(f);
                MemorySegment dst = state.slots[i + 1];
                if (dst == null) {
                    dst = acquire();
                    state.slots[i + 1] = dst;
                }
                copyOut(x, len, f - w.start(), dst); // later window overwrites, as in the reference
                if (state.owner == k && i == steps - 1) {
                    state.isFinal = true;
                }
            }
            done[k] = i + 1;
            listener.windowDone(w, i);
            deliverFinals();
        }

        /** The state of frame f, created (with its initial latents) when window k first reads it. */
        FrameState touch(int f, int k) {
            FrameState state = frames.get(f);
            if (state == null) {
                // the last window covering f: windows start at j·S, and every window from k on that
                // starts at or before f reaches past it
                int owner = f / stride;
                if (latentFrames >= 0) {
                    owner = Math.min(owner, windows.size() - 1);
                }
                state = new FrameState(Math.max(owner, k), steps);
                MemorySegment noise = acquire();
                noise.fill((byte) 0);
                state.slots[0] = noise;
                frames.put(f, state);
                initial.fill(f, noise);
            }
            return state;
        }

        /** Hands out final frames in increasing order, then recycles their buffers. */
        void deliverFinals() {
            while (true) {
                FrameState state = frames.get(nextFinal);
                if (state == null || !state.isFinal) {
                    return;
                }
                MemorySegment latents = state.slots[steps];
                sink.onFinal(nextFinal, latents.asReadOnly());
                frames.remove(nextFinal);
                release(latents);
                nextFinal++;
            }
        }

        /**
         * x[c, j, :] = w_j·x[c, j, :] + (1 − w_j)·prev[c, :] for the first O frames, prev being
         * what window k−1 wrote as step i's value: the same expression as LockstepDenoiser.
         */
        void blend(MemorySegment x, int len, int start, int i) {
            for (int j = 0; j < weights.length; j++) {
                float wNew = weights[j];
                float wOld = 1f - wNew;
                MemorySegment prev = frames.get(start + j).slots[i + 1];
                if (prev == null) {
                    throw new IllegalStateException("no step-" + i + " value at frame " + (start + j));
                }
                for (int c = 0; c < channels; c++) {
                    long xBase = ((long) c * len + j) * hw;
                    long pBase = c * hw;
                    for (long p = 0; p < hw; p++) {
                        float blended = x.getAtIndex(F32, xBase + p) * wNew + prev.getAtIndex(F32, pBase + p) * wOld;
                        x.setAtIndex(F32, xBase + p, blended);
                    }
                }
            }
        }

        /** Frame [C, h·w] into window position j of x [C, len, h·w]. */
        void copyIn(MemorySegment frame, MemorySegment x, int len, int j) {
            for (int c = 0; c < channels; c++) {
                MemorySegment.copy(frame, F32, c * hw * Float.BYTES,
                        x, F32, ((long) c * len + j) * hw * Float.BYTES, hw);
            }
        }

        /** Window position j of x [C, len, h·w] into a frame [C, h·w]. */
        void copyOut(MemorySegment x, int len, int j, MemorySegment frame) {
            for (int c = 0; c < channels; c++) {
                MemorySegment.copy(x, F32, ((long) c * len + j) * hw * Float.BYTES,
                        frame, F32, c * hw * Float.BYTES, hw);
            }
        }

        MemorySegment acquire() {
            MemorySegment buffer = pool.pollLast();
            if (buffer == null) {
                buffer = arena.allocate(frameBytes, Float.BYTES);
            }
            live++;
            peak = Math.max(peak, live);
            return buffer;
        }

        void release(MemorySegment buffer) {
            live--;
            pool.addLast(buffer);
        }

        /** Frees every buffer of the run (also when a callback threw, or the run was abandoned). */
        @Override
        public void close() {
            peakLiveFrames = peak;
            arena.close();
        }
    }
}
