package dev.avatar4j.family.stableavatar;

import dev.avatar4j.sampling.SigmaSchedule;
import dev.avatar4j.InvalidInputException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Everything about a {@code stableavatar} generation that is known before it runs, computed by
 * the code the engine runs with: {@link StableAvatarEngine} builds its latent timeline, window
 * layout, sigma/timestep schedule and overlap weights from this class, so what {@code avatar4j plan}
 * prints is what a generation does (docs/REFERENCE.md §1.1, §1.3, §1.5).
 *
 * <ul>
 *   <li>latent frames {@code T = (⌊samples/640⌋ − 1)//4 + 1}, video frames {@code (T − 1)·4 + 1};</li>
 *   <li>the DWSW windows over {@code [0, T)} ({@link WindowPlan}), each window's audio samples
 *       {@code [from, to)} ({@link AudioWindowSlicer}, with the bundle's tail mode) and its wav2vec2
 *       token count;</li>
 *   <li>the N + 1 sigmas and N timesteps in float32 ({@link SigmaSchedule}, built by {@link FlowMatchSchedule}) and the O overlap
 *       weights in float32 ({@link OverlapWeights});</li>
 *   <li>costs: DiT forward passes {@code N × windows} (each batches the {@link #branches()}
 *       guidance branches), VAE decoder calls {@code T};</li>
 *   <li>memory: an upper bound on the latent frame buffers alive at once in the wavefront
 *       denoiser, {@code min(}{@link WavefrontDenoiser#liveFrameBound}{@code (F, O, N), 2·T)} (at
 *       most two step values are kept per frame), each {@code C·h·w} float32, and the forward
 *       passes before the first frame is final,
 *       {@code min(}{@link WavefrontDenoiser#firstFinalCallBound}{@code (F, O, N), passes)}.</li>
 * </ul>
 * Building a plan runs no model and opens no graph. Immutable; accessors return copies of arrays.
 */
public final class StableAvatarPlan {

    /**
     * The audio one window hears.
     *
     * @param from first sample (inclusive)
     * @param to last sample (exclusive); may lie past the end of the audio (zero-padded) with the
     *     corrected tail mode
     * @param tokens wav2vec2 tokens the audio encoder yields for {@code to − from} samples
     * @param tokensPerLatent audio tokens the DiT sees per latent frame (17 for 167 tokens)
     */
    public record AudioSlice(long from, long to, int tokens, int tokensPerLatent) {
        /** {@return the slice length in samples, {@code to − from}} */
        public long samples() {
            return to - from;
        }
    }

    /** Guidance branches batched into every DiT call (the reference's B = 3). */
    public static final int BRANCHES = StableAvatarEngine.TEXT_AUDIO_BRANCHES.size();

    private final StableAvatarConfig cfg;
    private final long audioSamples;
    private final int width;
    private final int height;
    private final WindowPlan windows;
    private final List<AudioSlice> audio;
    private final SigmaSchedule schedule;
    private final String weightsScheme;
    private final float[] weights;

    private StableAvatarPlan(StableAvatarConfig cfg, long audioSamples, int width, int height, WindowPlan windows,
                             List<AudioSlice> audio, SigmaSchedule schedule, String weightsScheme,
                             float[] weights) {
        this.cfg = cfg;
        this.audioSamples = audioSamples;
        this.width = width;
        this.height = height;
        this.windows = windows;
        this.audio = audio;
        this.schedule = schedule;
        this.weightsScheme = weightsScheme;
        this.weights = weights;
    }

    /**
     * Plans a generation.
     *
     * @param cfg the bundle's validated configuration
     * @param audioSamples samples of the speech at {@code cfg.sampleRate()}, as decoded for the engine
     * @param steps denoising steps N, at least 1
     * @param overlap latent frames shared by consecutive windows, in {@code [2, F − 1]}
     *     (F = {@code cfg.windowLatents()}, 21)
     * @param weightsScheme overlap weights, {@code log} or {@code uniform} (case-insensitive)
     * @param width output width, a positive multiple of {@code cfg.sizeMultiple()}
     * @param height output height, a positive multiple of {@code cfg.sizeMultiple()}
     * @return the plan
     * @throws InvalidInputException if an argument is out of range, naming it and the valid range
     */
    public static StableAvatarPlan create(StableAvatarConfig cfg, long audioSamples, int steps, int overlap,
                                          String weightsScheme, int width, int height) {
        Objects.requireNonNull(cfg, "cfg");
        int m = cfg.sizeMultiple();
        if (width <= 0 || height <= 0 || width % m != 0 || height % m != 0) {
            throw new InvalidInputException("size must be positive multiples of " + m + ", got " + width + "x"
                    + height);
        }
        if (steps < 1) {
            throw new InvalidInputException("steps must be at least 1, got " + steps);
        }
        int f = cfg.windowLatents();
        if (overlap < 2 || overlap > f - 1) {
            throw new InvalidInputException("overlap must be in [2, " + (f - 1) + "] latent frames (a window has "
                    + f + "), got " + overlap);
        }
        String scheme = weightsScheme == null ? "" : weightsScheme.strip().toLowerCase(Locale.ROOT);
        if (!scheme.equals("log") && !scheme.equals("uniform")) {
            throw new InvalidInputException("overlap weights must be 'log' or 'uniform', got '" + weightsScheme + "'");
        }
        if (audioSamples < 0) {
            throw new InvalidInputException("negative audio length " + audioSamples);
        }
        int t = AudioWindowSlicer.latentFrames(audioSamples, cfg.samplesPerFrame(), cfg.temporalStride());
        if (t < 1) {
            throw new InvalidInputException("audio too short: " + audioSamples + " samples; at least one video "
                    + "frame (" + cfg.samplesPerFrame() + " samples = " + 1000 / cfg.fps() + " ms) is needed");
        }
        WindowPlan plan = WindowPlan.create(t, f, overlap);
        List<AudioSlice> slices = new ArrayList<>(plan.windows().size());
        for (Window w : plan.windows()) {
            long[] r = AudioWindowSlicer.sliceSamples(w, t, audioSamples, cfg.samplesPerFrame(),
                    cfg.temporalStride(), cfg.sliceFrames(), cfg.tailMode());
            int tokens = Wav2Vec2Geometry.tokenCount(r[1] - r[0]);
            int perLatent = tokens < 1 ? 0 : AudioTokenIndex.windowTokens(tokens, cfg.windowFrames());
            slices.add(new AudioSlice(r[0], r[1], tokens, perLatent));
        }
        SigmaSchedule schedule = FlowMatchSchedule.create(steps, cfg.shift(), cfg.shiftMode(),
                cfg.trainTimesteps());
        float[] weights = OverlapWeights.of(scheme, overlap);
        return new StableAvatarPlan(cfg, audioSamples, width, height, plan, List.copyOf(slices), schedule, scheme,
                weights);
    }

    /** {@return the configuration the plan was made for} */
    public StableAvatarConfig config() {
        return cfg;
    }

    /** {@return the family id, {@code stableavatar}} */
    public String family() {
        return StableAvatarConfig.FAMILY;
    }

    /** {@return the audio length in samples at {@link #sampleRate()}} */
    public long audioSamples() {
        return audioSamples;
    }

    /** {@return the audio sample rate (16000)} */
    public int sampleRate() {
        return cfg.sampleRate();
    }

    /** {@return the video frame rate (25)} */
    public int fps() {
        return cfg.fps();
    }

    /** {@return the video frames delivered, {@code (T − 1)·temporalStride + 1}} */
    public int frames() {
        return (latentFrames() - 1) * cfg.temporalStride() + 1;
    }

    /** {@return T, the length of the latent timeline} */
    public int latentFrames() {
        return windows.latentFrames();
    }

    /** {@return F, latent frames per full window (21)} */
    public int windowLatents() {
        return windows.windowLatents();
    }

    /** {@return O, latent frames shared by consecutive windows} */
    public int overlap() {
        return windows.overlap();
    }

    /** {@return {@code F − O}, the distance between consecutive window starts} */
    public int stride() {
        return windows.stride();
    }

    /** {@return the window layout the denoiser runs} */
    public WindowPlan windowPlan() {
        return windows;
    }

    /** {@return the windows, latent ranges {@code [start, end)} in processing order} */
    public List<Window> windows() {
        return windows.windows();
    }

    /** {@return per window (same order as {@link #windows()}), the audio it hears} */
    public List<AudioSlice> windowAudio() {
        return audio;
    }

    /** {@return the overlap weight scheme, {@code log} or {@code uniform}} */
    public String weightsScheme() {
        return weightsScheme;
    }

    /** {@return a copy of the O overlap weights of the new window, float32} */
    public float[] overlapWeights() {
        return weights.clone();
    }

    /** {@return N, the denoising steps} */
    public int steps() {
        return schedule.steps();
    }

    /** {@return the sigma/timestep schedule the sampler runs} */
    public SigmaSchedule schedule() {
        return schedule;
    }

    /** {@return a copy of the N + 1 sigmas (float32, the last one 0)} */
    public float[] sigmas() {
        return schedule.sigmas();
    }

    /** {@return a copy of the N timesteps the DiT sees (float32)} */
    public float[] timesteps() {
        return schedule.timesteps();
    }

    /** {@return the flow-matching shift} */
    public double shift() {
        return cfg.shift();
    }

    /** {@return how the shift is applied} */
    public ShiftMode shiftMode() {
        return cfg.shiftMode();
    }

    /** {@return the shift mode as the manifest names it: {@code diffusers-0.30.1} or {@code single}} */
    public String shiftModeName() {
        return cfg.shiftMode() == ShiftMode.DIFFUSERS_0_30_1 ? "diffusers-0.30.1" : "single";
    }

    /** {@return how the last window's audio is sliced} */
    public TailMode tailMode() {
        return cfg.tailMode();
    }

    /** {@return the tail mode as the manifest names it: {@code reference} or {@code corrected}} */
    public String tailModeName() {
        return cfg.tailMode().name().toLowerCase(Locale.ROOT);
    }

    /**
     * {@return the guidance branches batched into each DiT call (3); the engine drops a branch whose
     * guidance coefficient is exactly 0, e.g. for scales 1/1}
     */
    public int branches() {
        return BRANCHES;
    }

    /** {@return the DiT calls, {@code steps × windows}} */
    public long forwardPasses() {
        return (long) steps() * windows().size();
    }

    /** {@return the batch rows over all DiT calls, {@code forwardPasses × branches}} */
    public long batchRows() {
        return forwardPasses() * branches();
    }

    /** {@return the streaming VAE decoder calls, one per latent frame (T)} */
    public int decoderCalls() {
        return latentFrames();
    }

    /** {@return progress work units: forward passes plus decoded latent frames} */
    public long workUnits() {
        return forwardPasses() + decoderCalls();
    }

    /** {@return the output width} */
    public int width() {
        return width;
    }

    /** {@return the output height} */
    public int height() {
        return height;
    }

    /** {@return the latent height, {@code height / spatialStride}} */
    public int latentHeight() {
        return height / cfg.spatialStride();
    }

    /** {@return the latent width, {@code width / spatialStride}} */
    public int latentWidth() {
        return width / cfg.spatialStride();
    }

    /** {@return the bytes of one latent frame, {@code C·h·w·4} (float32)} */
    public long latentBytesPerFrame() {
        return Math.multiplyExact(Math.multiplyExact((long) cfg.latentChannels(), (long) latentHeight() * latentWidth()),
                (long) Float.BYTES);
    }

    /**
     * {@return an upper bound on the latent frame buffers alive at once in the wavefront denoiser:
     * {@code min(liveFrameBound(F, O, N), 2·T)}, independent of T for long audio}
     */
    public long peakLatentFrames() {
        return Math.min(WavefrontDenoiser.liveFrameBound(windowLatents(), overlap(), steps()),
                2L * latentFrames());
    }

    /**
     * {@return the expected peak memory of the latent timeline in bytes,
     * {@code peakLatentFrames × latentBytesPerFrame} (not counting the two window-sized scratch tensors)}
     */
    public long peakLatentBytes() {
        return Math.multiplyExact(peakLatentFrames(), latentBytesPerFrame());
    }

    /**
     * {@return an upper bound on the DiT calls made before the first frame is final:
     * {@code min(firstFinalCallBound(F, O, N), forwardPasses)}}
     */
    public long forwardPassesBeforeFirstFrame() {
        return Math.min(WavefrontDenoiser.firstFinalCallBound(windowLatents(), overlap(), steps()), forwardPasses());
    }

    @Override
    public String toString() {
        return "StableAvatarPlan[T=" + latentFrames() + ", frames=" + frames() + ", windows=" + windows().size()
                + ", steps=" + steps() + ", O=" + overlap() + ", " + weightsScheme + ", " + width + "x" + height + "]";
    }
}
