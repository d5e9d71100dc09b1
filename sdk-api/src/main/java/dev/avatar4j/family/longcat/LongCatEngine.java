package dev.avatar4j.family.longcat;

import dev.avatar4j.sampling.SigmaSchedule;
import dev.avatar4j.BundleException;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.bundle.SafeTensors;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationPlan;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.io.Speaker;
import dev.avatar4j.family.StreamingVaeDecoder;
import dev.avatar4j.image.ImageOps;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.sampling.EulerStep;
import dev.avatar4j.sampling.Guidance;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code longcat-avatar} pipeline (docs/REFERENCE.md §3): Whisper audio features per
 * speaker, then 93-frame segments generated one after another. Segment 0 is conditioned on the
 * portrait's latent; every later segment on the reference latent (at temporal position
 * {@code refImageIndex}) and the VAE re-encoding of the previous segment's last 13 decoded frames.
 * Each segment is denoised with the flow-matching Euler sampler (negated model output), decoded
 * and its new frames streamed out before the next segment starts, so frames, latents and decoder
 * state never exceed one segment whatever the audio length. The speakers' tracks are
 * {@link dev.avatar4j.io.AudioSource}s read by range (see {@link LongCatAudio}), so neither is
 * the audio held whole.
 */
public final class LongCatEngine implements FamilyEngine<GenerationRequest> {
    private static final Logger log = LoggerFactory.getLogger(LongCatEngine.class);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final LongCatConfig cfg;
    /** The engine's lifetime: its graph sessions and the bundle's text embeddings. */
    private final TensorScope resources;
    private final LongCatGraphs graphs;
    private final Tensor positive; // [1, L, Dt]
    private final Tensor negative; // [1, L', Dt] or null when distilled
    /** Runs live sessions with this engine's sessions. */
    private final LongCatLive live = new LongCatLive(this);

    private LongCatEngine(LongCatConfig cfg, TensorScope resources, Bundle bundle, Backend backend,
                          SessionOptions options) {
        this.cfg = cfg;
        this.resources = resources;
        this.graphs = new LongCatGraphs(bundle, cfg, backend, options, resources);
        this.positive = text(bundle, "text-default", resources);
        this.negative = cfg.distilled() ? null : text(bundle, "text-negative", resources);
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
        return LongCatGraphs.contracts(LongCatConfig.from(manifest), k -> manifest.graph(k).isPresent());
    }

    /**
     * Opens the bundle's graphs on {@code backend} and checks them against the family contract.
     *
     * @param bundle the bundle
     * @param backend the backend
     * @param options session options
     * @return the engine
     */
    public static LongCatEngine open(Bundle bundle, Backend backend, SessionOptions options) {
        LongCatConfig cfg = LongCatConfig.from(bundle.manifest());
        TensorScope resources = TensorScope.open();
        try {
            return new LongCatEngine(cfg, resources, bundle, backend, options);
        } catch (RuntimeException | Error e) {
            resources.close(); // whatever was opened before the failure
            throw e;
        }
    }

    private static Tensor text(Bundle bundle, String key, TensorScope owner) {
        var file = bundle.tensorFile(key).orElseThrow(() -> new BundleException(
                BundleManifest.FILE_NAME + ": family " + LongCatConfig.FAMILY + " needs tensor \"" + key + "\""));
        try (Tensor t = SafeTensors.readFloat32(file, "embeddings")) {
            if (t.rank() != 2) {
                throw new BundleException(key + ": \"embeddings\" must be [L, Dt], is " + Arrays.toString(t.shape()));
            }
            Tensor out = owner.allocate(DType.FLOAT32, 1, t.dim(0), t.dim(1));
            MemorySegment.copy(t.segment(), 0, out.segment(), 0, t.byteSize());
            return out;
        }
    }

    /**
     * The configuration of a {@code longcat-avatar} bundle from its manifest alone (for planning).
     *
     * @param manifest the manifest
     * @return the validated configuration
     */
    public static LongCatConfig configOf(BundleManifest manifest) {
        return LongCatConfig.from(manifest);
    }

    /** Also runs live sessions ({@link dev.avatar4j.family.LiveRequest}), through its {@link LongCatLive} view. */
    @Override
    @SuppressWarnings("unchecked")
    public <T extends dev.avatar4j.family.FamilyJob> java.util.Optional<FamilyEngine<T>> runs(Class<T> type) {
        if (type == dev.avatar4j.family.LiveRequest.class) {
            return java.util.Optional.of((FamilyEngine<T>) (FamilyEngine<?>) live);
        }
        return FamilyEngine.super.runs(type);
    }

    /** {@return the validated manifest sections} */
    public LongCatConfig config() {
        return cfg;
    }

    @Override
    public String family() {
        return LongCatConfig.FAMILY;
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
        return cfg.distilled() ? cfg.distilledSteps() : cfg.defaultSteps();
    }

    /**
     * The plan of a request with its speakers.
     *
     * @param r the request (its audio is ignored when speakers are given)
     * @param speakers the speakers; empty means one speaker with the request's audio and the whole frame
     * @return the plan
     */
    public LongCatPlan planOf(GenerationRequest r, List<Speaker> speakers) {
        List<Speaker> sp = resolve(r, speakers);
        long longest = 0;
        for (Speaker s : sp) {
            if (s.audio().sampleRate() != cfg.sampleRate()) {
                throw new IllegalArgumentException("audio must be at " + cfg.sampleRate() + " Hz");
            }
            longest = Math.max(longest, s.audio().length());
        }
        if (longest > Integer.MAX_VALUE / 2) {
            throw new InvalidInputException("audio is too long for " + LongCatConfig.FAMILY + " ("
                    + longest / cfg.sampleRate() / 3600 + " hours)");
        }
        return LongCatPlan.create(cfg, (int) longest, r.steps(), r.width(), r.height());
    }

    /** The speakers, or the request's speech (streamed when it is) on the whole frame. */
    private static List<Speaker> resolve(GenerationRequest r, List<Speaker> speakers) {
        return speakers == null || speakers.isEmpty() ? List.of(Speaker.wholeFrame(r.source())) : speakers;
    }

    @Override
    public Class<GenerationRequest> jobType() {
        return GenerationRequest.class;
    }

    @Override
    public GenerationPlan plan(GenerationRequest r) {
        LongCatPlan p = planOf(r, r.speakers());
        return new GenerationPlan(p.frames(), p.workUnits());
    }

    @Override
    public void generate(GenerationRequest r, GenerationContext ctx) {
        generate(r, r.speakers(), ctx);
    }

    /**
     * Runs a generation with several speakers, each an audio track and a region (the request's own
     * audio is then unused). Tracks shorter than the longest are padded with silence.
     *
     * @param r the request
     * @param speakers the speakers (empty: the request's audio on the whole frame)
     * @param ctx where frames and progress go
     */
    public void generate(GenerationRequest r, List<Speaker> speakers, GenerationContext ctx) {
        if (r.prompt() != null) {
            throw new InvalidInputException("this " + LongCatConfig.FAMILY + " bundle has no text encoder; only its "
                    + "default prompt is available");
        }
        List<Speaker> sp = resolve(r, speakers);
        if (sp.size() > 1 && graphs.maxPersons() < Math.min(sp.size(), LongCatGraphs.MAX_PERSONS)) {
            throw new InvalidInputException("this " + LongCatConfig.FAMILY + " bundle drives at most "
                    + graphs.maxPersons() + " person(s) (its DiT graphs), the request has " + sp.size());
        }
        LongCatPlan p = planOf(r, sp);
        log.debug("longcat: {} frames, {} segments, {} persons, {} schedule, {}x{}", p.frames(), p.segments(),
                sp.size(), cfg.distilled() ? "distilled" : "full", r.width(), r.height());
        // audio features of every speaker (each padded like the longest track), read by range from
        // the speakers' sources: a streamed track is never held whole
        List<LongCatAudio> audio = new ArrayList<>();
        for (Speaker s : sp) {
            audio.add(LongCatAudio.embed(graphs.audioEncoder, cfg, s.audio(), p.paddedSamples(), p.embeddingRows(),
                    ctx::checkpoint));
        }
        Persons persons = Persons.of(sp, audio, p.latentHeight() / cfg.patch()[1], p.latentWidth() / cfg.patch()[2]);
        render(r, p, persons, new SegmentAudio() {
            @Override
            public boolean awaitSegment(int s) {
                return s < p.segments();
            }

            @Override
            public int dim() {
                return audio.get(0).dim();
            }

            @Override
            public void gather(int s, Tensor latter) {
                for (int q = 0; q < persons.graphPersons(); q++) {
                    audio.get(persons.track(q)).gather(p.audioStart(s), cfg.segmentFrames(), cfg.audioStride(), q,
                            null, latter);
                }
            }

            @Override
            public long frames() {
                return p.frames();
            }
        }, ctx);
    }

    /** The features of a live utterance as it is pushed (a live session's low-latency mode). */
    LongCatStreamAudio streamAudio(LongCatPlan geometry, dev.avatar4j.family.UtteranceLive.Utterance u) {
        return new LongCatStreamAudio(graphs.audioEncoder, cfg, geometry, u);
    }

    /**
     * Where the segments' audio features come from: the whole tracks (an offline generation) or an
     * utterance as it is pushed (a streaming live session, {@link LongCatStreamAudio}).
     */
    interface SegmentAudio {
        /**
         * Waits until segment {@code s} can run (its audio is in).
         *
         * @return false when there is no segment {@code s} (the audio ended before it)
         */
        boolean awaitSegment(int s);

        /** {@return D, the width of an encoder state group (known once segment 0 was awaited)} */
        int dim();

        /** Writes segment {@code s}'s {@code audio_latter} rows for every graph person. */
        void gather(int s, Tensor latter);

        /**
         * {@return the frames to deliver in all, or {@link Long#MAX_VALUE} while unknown (only the last
         * segment is cut short by it, and it is known when that segment is awaited)}
         */
        long frames();
    }

    /**
     * Denoises and decodes the segments, as long as {@code audio} has them: {@code p} gives the
     * geometry and the schedules (which do not depend on the audio length), {@code persons} the graph
     * persons and masks.
     */
    void render(GenerationRequest r, LongCatPlan p, Persons persons, SegmentAudio audio, GenerationContext ctx) {
        int lh = p.latentHeight();
        int lw = p.latentWidth();
        int c = cfg.latentChannels();
        long hw = (long) lh * lw;
        long frameFloats = c * hw;
        int segLat = cfg.segmentLatents();
        String segmentsText = audio.frames() == Long.MAX_VALUE ? "?" : Integer.toString(p.segments());
        Guidance guidance = cfg.distilled() ? Guidance.none() : Guidance.textAudio(
                Double.isNaN(r.textGuidance()) ? cfg.textGuidance() : r.textGuidance(),
                Double.isNaN(r.audioGuidance()) ? cfg.audioGuidance() : r.audioGuidance());
        int np = persons.graphPersons();
        // one scope owns every tensor of this generation; each segment has a sub-scope
        try (TensorScope generation = TensorScope.open()) {
            Tensor ref = encodeImage(generation, r.image(), r.width(), r.height());
            Tensor personMask = persons.masks(generation);
            Tensor latter = null; // allocated once the encoder's width is known (after segment 0's audio)
            Tensor zeroLatter = null;
            Tensor noise = generation.allocate(DType.FLOAT32, frameFloats);
            StreamingVaeDecoder decoder = new StreamingVaeDecoder(generation, graphs.vaeDecoder,
                    cfg.latentChannels(), cfg.temporalStride(), cfg.caches(), lh, lw, r.width(), r.height());
            Deque<byte[]> context = new ArrayDeque<>(); // the last contextFrames decoded frames
            int emitted = 0;
            for (int s = 0; emitted < audio.frames() && audio.awaitSegment(s); s++) {
                ctx.checkpoint();
                if (latter == null) {
                    latter = LongCatAudio.allocateLatter(generation, np, segLat - 1, audio.dim());
                    zeroLatter = LongCatAudio.allocateLatter(generation, np, segLat - 1, audio.dim());
                }
                audio.gather(s, latter);
                int nc = p.conditionLatents(s);
                int k = nc + p.noisyLatents(s);
                GraphSession dit = graphs.dit(np, s > 0);
                try (TensorScope segment = generation.newSubScope()) {
                    Tensor x = segment.allocate(DType.FLOAT32, 1, c, k, lh, lw);
                    Tensor t = segment.allocate(DType.FLOAT32, 1, k);
                    Tensor guided = segment.allocate(DType.FLOAT32, 1, c, k, lh, lw);
                    // the second guidance buffer; every DiT call overwrites all of it
                    Tensor branch = guidance.branches() == 1 ? null : segment.allocate(DType.FLOAT32, guided.shape());
                    // condition latents: the portrait, or reference + re-encoded context
                    putFrame(x, 0, k, ref.segment(), 0, c, hw);
                    if (s > 0) {
                        Tensor ctxLat = encodeContext(segment, context, r.width(), r.height());
                        for (int j = 0; j < cfg.contextLatents(); j++) {
                            putFrame(x, 1 + j, k, ctxLat.segment(), j, c, hw);
                        }
                    }
                    int firstNoisy = s == 0 ? 1 : cfg.contextLatents(); // segment index of the first noisy latent
                    for (int j = nc; j < k; j++) {
                        int segIndex = firstNoisy + (j - nc);
                        r.noise().fill(segLat * s + segIndex, noise.segment(), frameFloats);
                        putFrame(x, j, k, noise.segment(), 0, c, hw);
                    }
                    SigmaSchedule schedule = p.schedule(s);
                    for (int i = 0; i < schedule.steps(); i++) {
                        ctx.activity("denoising segment " + (s + 1) + "/" + segmentsText + ", step " + (i + 1) + "/"
                                + schedule.steps());
                        ctx.checkpoint(); // after the snapshot: a listener may cancel on it
                        for (int j = 0; j < k; j++) {
                            t.segment().setAtIndex(F32, j, j < nc ? 0f : schedule.timestep(i));
                        }
                        if (guidance.branches() == 1) {
                            runDit(dit, x, t, positive, latter, personMask, guided);
                        } else {
                            denoiseGuided(dit, guidance, x, t, latter, zeroLatter, personMask, guided, branch);
                        }
                        ctx.advance(Progress.Stage.DENOISING, guidance.branches());
                        // x ← x + (σ' − σ)(−out) on the noisy latents only, channel by channel
                        // the output is the negated velocity: x + dt·(−out) = x + (−dt)·out, exactly
                        float scale = -schedule.dt(i);
                        for (int ch = 0; ch < c; ch++) {
                            long off = ((long) ch * k + nc) * hw;
                            EulerStep.apply(x.segment(), off, guided.segment(), off, scale, (k - nc) * hw);
                        }
                    }
                    // the segment's latents (without the reference), tapped, decoded and streamed
                    int from = s == 0 ? 0 : 1;
                    decoder.reset();
                    ctx.activity("decoding segment " + (s + 1) + "/" + segmentsText);
                    ctx.checkpoint();
                    List<byte[]> segmentFrames = new ArrayList<>();
                    Tensor frame = segment.allocate(DType.FLOAT32, frameFloats);
                    for (int j = from; j < k; j++) {
                        getFrame(x, j, k, frame.segment(), c, hw);
                        if (r.latentTap() != null) {
                            r.latentTap().finalLatent(segLat * s + (j - from), frame.segment(), frameFloats);
                        }
                        decoder.decode(frame.segment(), segmentFrames::add);
                        ctx.advance(Progress.Stage.DECODING, 1);
                    }
                    context.clear();
                    for (int f = segmentFrames.size() - cfg.contextFrames(); f < segmentFrames.size(); f++) {
                        context.add(segmentFrames.get(f).clone());
                    }
                    int skip = s == 0 ? 0 : cfg.contextFrames();
                    for (int f = skip; f < segmentFrames.size() && emitted < audio.frames(); f++) {
                        ctx.emitFrame(segmentFrames.get(f));
                        emitted++;
                    }
                }
            }
        }
    }

    private void denoiseGuided(GraphSession dit, Guidance g, Tensor x, Tensor t, Tensor latter, Tensor zeroLatter,
                               Tensor personMask, Tensor out, Tensor b) {
        // branches [negative text + zero audio, negative text + audio, positive text + audio]
        long n = out.elementCount();
        runDit(dit, x, t, negative, zeroLatter, personMask, out);
        scaleInto(out.segment(), g.coefficient(0), n);
        runDit(dit, x, t, negative, latter, personMask, b);
        accumulate(out.segment(), b.segment(), g.coefficient(1), n);
        runDit(dit, x, t, positive, latter, personMask, b);
        accumulate(out.segment(), b.segment(), g.coefficient(2), n);
    }

    private static void scaleInto(MemorySegment s, float c, long n) {
        for (long i = 0; i < n; i++) {
            s.setAtIndex(F32, i, c * s.getAtIndex(F32, i));
        }
    }

    private static void accumulate(MemorySegment acc, MemorySegment v, float c, long n) {
        for (long i = 0; i < n; i++) {
            acc.setAtIndex(F32, i, acc.getAtIndex(F32, i) + c * v.getAtIndex(F32, i));
        }
    }

    /**
     * One DiT call. The graph is the segment's layout (segment 0: {@code [portrait ; noisy]};
     * later: {@code [reference ; context ; noisy]}), which fixes the reference's attention partition,
     * RoPE positions and reference masking inside it; {@code personMask} is null for one person.
     */
    private static void runDit(GraphSession dit, Tensor x, Tensor t, Tensor context, Tensor latter, Tensor personMask,
                               Tensor out) {
        Map<String, Tensor> in = new HashMap<>();
        in.put("x", x);
        in.put("t", t);
        in.put("context", context);
        in.put("audio_latter", latter);
        if (personMask != null) {
            in.put("person_mask", personMask);
        }
        dit.runInto(in, Map.of("velocity", out));
    }

    /** The reference latent, owned by {@code into}; the encoder's input is freed on return. */
    private Tensor encodeImage(TensorScope into, RgbImage image, int width, int height) {
        RgbImage img = ImageOps.resize(image, width, height);
        try (TensorScope call = into.newSubScope()) {
            Tensor video = call.allocate(DType.FLOAT32, 1, 3, 1, height, width);
            ImageOps.toSignedUnit(img, video.segment());
            return encode(into, video);
        }
    }

    /** The latent of the context frames, owned by {@code into}; the encoder's input is freed on return. */
    private Tensor encodeContext(TensorScope into, Deque<byte[]> frames, int width, int height) {
        int n = frames.size();
        long plane = (long) width * height;
        try (TensorScope call = into.newSubScope()) {
            Tensor video = call.allocate(DType.FLOAT32, 1, 3, n, height, width);
            MemorySegment v = video.segment();
            int f = 0;
            for (byte[] rgb : frames) {
                for (int p = 0; p < plane; p++) {
                    for (int ch = 0; ch < 3; ch++) {
                        float u = (rgb[p * 3 + ch] & 0xFF) / 255f;
                        v.setAtIndex(F32, ((long) ch * n + f) * plane + p, u * 2f - 1f);
                    }
                }
                f++;
            }
            return encode(into, video);
        }
    }

    private Tensor encode(TensorScope into, Tensor video) {
        return into.attach(graphs.vaeEncoder.run(Map.of("video", video), Set.of("latent"))).get("latent");
    }

    /** Copies latent frame {@code src[.., srcFrame]} ({@code [1, C, T, h, w]} or {@code [C, h, w]}) into x at frame j. */
    private static void putFrame(Tensor x, int j, int k, MemorySegment src, int srcFrame, int c, long hw) {
        long srcT = src.byteSize() / Float.BYTES / (c * hw);
        for (int ch = 0; ch < c; ch++) {
            MemorySegment.copy(src, ((ch * srcT + srcFrame) * hw) * Float.BYTES, x.segment(),
                    (((long) ch * k + j) * hw) * Float.BYTES, hw * Float.BYTES);
        }
    }

    private static void getFrame(Tensor x, int j, int k, MemorySegment dst, int c, long hw) {
        for (int ch = 0; ch < c; ch++) {
            MemorySegment.copy(x.segment(), (((long) ch * k + j) * hw) * Float.BYTES, dst,
                    ((long) ch * hw) * Float.BYTES, hw * Float.BYTES);
        }
    }

    @Override
    public void close() {
        resources.close();
    }
}
