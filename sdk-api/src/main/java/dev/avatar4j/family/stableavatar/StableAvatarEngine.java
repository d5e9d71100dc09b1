package dev.avatar4j.family.stableavatar;

import dev.avatar4j.sampling.SigmaSchedule;
import dev.avatar4j.BundleException;
import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationPlan;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.family.StreamingVaeDecoder;
import dev.avatar4j.sampling.Guidance;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code stableavatar} pipeline (docs/ARCHITECTURE.md §3): image and audio conditioning, the
 * flow-matching Euler sampler with 3-branch text/audio guidance over sliding windows that cover
 * the whole audio in dependency order (a wavefront: memory bounded independently of the audio
 * length, first frames early), and the streaming VAE decoder feeding frames out one latent frame
 * at a time as soon as each is final.
 */
public final class StableAvatarEngine implements FamilyEngine<GenerationRequest> {
    private static final Logger log = LoggerFactory.getLogger(StableAvatarEngine.class);

    /** The reference's branch order: [neg text + zeroed audio, neg text + audio, pos text + audio]. */
    static final List<GuidedDit.Branch> TEXT_AUDIO_BRANCHES = List.of(
            new GuidedDit.Branch(false, 0f), new GuidedDit.Branch(false, 1f), new GuidedDit.Branch(true, 1f));

    private final StableAvatarConfig cfg;
    /** The engine's lifetime: its graph sessions and the bundle's text embeddings. */
    private final TensorScope resources;
    private final StableAvatarGraphs graphs;
    private final TextConditioning text;
    /** Hands out each generation's device scope (the decoder's caches, the DiT's inputs stay there). */
    private final Backend backend;
    /** Runs live sessions with this engine's sessions. */
    private final StableAvatarLive live = new StableAvatarLive(this);

    private StableAvatarEngine(StableAvatarConfig cfg, TensorScope resources, Bundle bundle, Backend backend,
                               SessionOptions options) {
        this.cfg = cfg;
        this.resources = resources;
        this.backend = backend;
        this.graphs = new StableAvatarGraphs(bundle, cfg, backend, options, resources);
        this.text = new TextConditioning(bundle, cfg, graphs.textEncoder, resources);
        long width = StableAvatarGraphs.dimOf(graphs.dit.inputs(), "context", 2);
        if (width > 0 && width != text.dim()) {
            throw new BundleException(bundle.directory() + ": the graphs do not fit together: the prompt embeddings "
                    + "are " + text.dim() + " wide, the dit's context takes " + width + "; were they exported from the "
                    + "same model?");
        }
    }

    /**
     * The contract of every graph the engine would open for a bundle with {@code manifest} (the
     * optional graphs it names included), from the manifest alone: what {@link #open} checks each
     * session against, for checking graph signatures without loading them.
     *
     * @param manifest the bundle's manifest
     * @return the contracts by graph key, in the order the engine opens the graphs
     * @throws dev.avatar4j.BundleException if the manifest's sections or its set of graphs are invalid
     */
    public static java.util.Map<String, dev.avatar4j.backend.GraphContract> contracts(BundleManifest manifest) {
        return StableAvatarGraphs.contracts(StableAvatarConfig.from(manifest), k -> manifest.graph(k).isPresent());
    }

    /**
     * Checks that the graphs fit together (image encoder against the DiT's {@code clip}, audio
     * encoder against its {@code audio_tokens}), what the engine checks on its sessions when it
     * opens, from signatures alone.
     *
     * @param inputs  the inputs of a graph by key ({@code dit}, {@code image-encoder}, {@code audio-encoder})
     * @param outputs the outputs of a graph by key
     * @param where   names the bundle in messages
     * @throws dev.avatar4j.BundleException when they do not fit
     */
    public static void checkTogether(java.util.function.Function<String, java.util.List<dev.avatar4j.spi.TensorSpec>> inputs,
                                     java.util.function.Function<String, java.util.List<dev.avatar4j.spi.TensorSpec>> outputs,
                                     String where) {
        StableAvatarGraphs.checkTogether(inputs, outputs, where);
    }

    /** Opens the bundle's graphs on {@code backend} and checks them against the family contract. */
    public static StableAvatarEngine open(Bundle bundle, Backend backend, SessionOptions options) {
        StableAvatarConfig cfg = StableAvatarConfig.from(bundle.manifest());
        TensorScope resources = TensorScope.open();
        try {
            return new StableAvatarEngine(cfg, resources, bundle, backend, options);
        } catch (RuntimeException | Error e) {
            resources.close(); // whatever was opened before the failure
            throw e;
        }
    }

    /**
     * The configuration of a {@code stableavatar} bundle read from its manifest alone, without
     * opening any graph: for planning ({@link StableAvatarPlan}) before, or instead of, loading.
     *
     * @param manifest the bundle's manifest
     * @return the validated configuration
     * @throws BundleException if the manifest is of another family or its sections are invalid
     */
    public static StableAvatarConfig configOf(BundleManifest manifest) {
        if (!StableAvatarConfig.FAMILY.equals(manifest.family())) {
            throw new BundleException(BundleManifest.FILE_NAME + ": model family \"" + manifest.family()
                    + "\" is not " + StableAvatarConfig.FAMILY);
        }
        return StableAvatarConfig.from(manifest);
    }

    StableAvatarGraphs graphs() {
        return graphs;
    }

    TextConditioning text() {
        return text;
    }

    Backend backend() {
        return backend;
    }

    /** Also runs live sessions ({@link dev.avatar4j.family.LiveRequest}), through its {@link StableAvatarLive} view. */
    @Override
    @SuppressWarnings("unchecked")
    public <T extends dev.avatar4j.family.FamilyJob> java.util.Optional<FamilyEngine<T>> runs(Class<T> type) {
        if (type == dev.avatar4j.family.LiveRequest.class) {
            return java.util.Optional.of((FamilyEngine<T>) (FamilyEngine<?>) live);
        }
        return FamilyEngine.super.runs(type);
    }

    /** The validated manifest sections. */
    public StableAvatarConfig config() {
        return cfg;
    }

    @Override
    public String family() {
        return StableAvatarConfig.FAMILY;
    }

    @Override
    public int fps() {
        return cfg.fps();
    }

    @Override
    public int sampleRate() {
        return cfg.sampleRate();
    }

    @Override
    public int defaultWidth() {
        return cfg.width();
    }

    @Override
    public int defaultHeight() {
        return cfg.height();
    }

    @Override
    public int defaultSteps() {
        return cfg.defaultSteps();
    }

    /**
     * The plan of request {@code r}: T, the windows, the schedule and the weights the generation
     * runs with (the same factory {@code avatar4j plan} uses), validating the request.
     */
    StableAvatarPlan planOf(GenerationRequest r) {
        if (r.speakers().size() > 1) {
            throw new dev.avatar4j.InvalidInputException("family " + StableAvatarConfig.FAMILY
                    + " animates one speaker; use a longcat-avatar model for several");
        }
        if (r.audioRate() != cfg.sampleRate()) {
            throw new IllegalArgumentException("audio must be at " + cfg.sampleRate() + " Hz");
        }
        return StableAvatarPlan.create(cfg, r.audioLength(), r.steps(), cfg.overlap(), cfg.weights(), r.width(),
                r.height());
    }

    @Override
    public Class<GenerationRequest> jobType() {
        return GenerationRequest.class;
    }

    @Override
    public GenerationPlan plan(GenerationRequest r) {
        StableAvatarPlan p = planOf(r);
        return new GenerationPlan(p.frames(), p.workUnits());
    }

    @Override
    public void generate(GenerationRequest r, GenerationContext ctx) {
        StableAvatarPlan p = planOf(r);
        int t = p.latentFrames();
        WindowPlan plan = p.windowPlan();
        int lh = p.latentHeight();
        int lw = p.latentWidth();
        long hw = (long) lh * lw;
        SigmaSchedule schedule = p.schedule();
        double st = Double.isNaN(r.textGuidance()) ? cfg.textGuidance() : r.textGuidance();
        double sa = Double.isNaN(r.audioGuidance()) ? cfg.audioGuidance() : r.audioGuidance();
        Guidance guidance = Guidance.textAudio(st, sa);
        log.debug("stableavatar: T={} latents, {} windows, {} steps, {}x{}, guidance text {} audio {}", t,
                plan.windows().size(), r.steps(), r.width(), r.height(), st, sa);

        ctx.activity("encoding prompt and image");
        ctx.checkpoint();
        // one scope owns every tensor of this generation; each window's audio has a sub-scope
        try (TensorScope generation = TensorScope.open()) {
            // the generation's device memory: closed with the generation's scope, after its last run
            DeviceScope device = generation.attach(backend.openDeviceScope());
            Tensor positive = text.positive(r.prompt(), generation);
            // the front end runs up to three encoders before the first window: a cancel is honoured
            // before each of them, not after all (issue 22 item 1)
            ImageConditioning image = ImageConditioning.compute(generation, graphs, cfg, r, t, ctx::checkpoint);
            WindowAudio audio = new WindowAudio(generation, graphs.audioEncoder, cfg, r.source(), p);
            GuidedDit dit = new GuidedDit(generation, device, graphs.dit, ctx, cfg, guidance, TEXT_AUDIO_BRANCHES,
                    text.negative(), positive, image, audio, lh, lw);
            StreamingVaeDecoder decoder = new StreamingVaeDecoder(generation, device, graphs.vaeDecoder,
                    cfg.latentChannels(), cfg.temporalStride(), cfg.caches(), lh, lw, r.width(), r.height());
            ctx.checkpoint();
            float[] weights = p.overlapWeights();
            long frameFloats = cfg.latentChannels() * hw;
            // dependency-ordered (window, step) work: frames become final long before the last
            // window is denoised, go straight to the decoder and out, and are freed (docs/ARCHITECTURE.md §3.1)
            int windows = plan.windows().size();
            new WavefrontDenoiser(plan, weights, schedule, cfg.latentChannels(), hw).denoise(
                    (frame, dst) -> r.noise().fill(frame, dst, frameFloats),
                    (w, step, timestep, x, velocityOut) -> {
                        if (step == 0) { // a window's first step encodes its audio (once; then cached)
                            ctx.activity("encoding audio, window " + (w.index() + 1) + "/" + windows);
                            ctx.checkpoint(); // a listener may have cancelled on that snapshot
                            audio.of(w);
                        }
                        ctx.activity("denoising window " + (w.index() + 1) + "/" + windows + ", step " + (step + 1)
                                + "/" + r.steps());
                        dit.velocity(w, step, timestep, x, velocityOut);
                    },
                    (Window w, int step) -> {
                        if (step == r.steps() - 1) {
                            audio.release(w); // a window's last step: its audio is no longer needed
                            dit.release(w);
                        }
                    },
                    (frame, latent) -> {
                        ctx.activity("decoding latent frame " + (frame + 1) + "/" + t);
                        ctx.checkpoint(); // after the snapshot: a listener may cancel on it
                        if (r.latentTap() != null) {
                            r.latentTap().finalLatent(frame, latent, frameFloats);
                        }
                        decoder.decode(latent, ctx::emitFrame);
                        ctx.advance(Progress.Stage.DECODING, 1);
                    });
        }
    }

    @Override
    public void close() {
        resources.close();
    }
}
