package dev.avatar4j.family.latentsync;

import dev.avatar4j.BackendException;
import dev.avatar4j.BundleException;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.NoFace;
import dev.avatar4j.Progress;
import dev.avatar4j.audio.WhisperLogMelWholeFile;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.DubRequest;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationPlan;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.backend.Sessions;
import dev.avatar4j.face.BlazeFace;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoStream;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The LatentSync dubbing pipeline (docs/REFERENCE.md §2) on a {@code latentsync} bundle: the clip is
 * ping-pong looped to the audio's length, every frame's face is located (BlazeFace), aligned and cut
 * at the model resolution; per chunk of {@code chunkFrames} frames the faces, their mouth-masked copies
 * and the mask go into the UNet's 13-channel input and are denoised by DDIM with classifier-free
 * guidance (zero audio as the unconditional branch); all frames start from one shared noise frame.
 * Each decoded face is mixed with the original outside the mouth mask and pasted back; the chunk's
 * frames are handed out as soon as it finishes. Frames without a face follow the {@link NoFace} policy.
 * Thread-safe when its sessions are (each call keeps its state on the stack).
 *
 * <p>Its job is a {@link DubRequest}: it runs through the same generation runner as the portrait
 * families and reports frames, progress and checkpoints to the same {@link GenerationContext}.
 */
public final class LatentSyncEngine implements FamilyEngine<DubRequest> {
    /** The family id in the manifest. */
    public static final String FAMILY = LatentSyncConfig.FAMILY;

    private static final Logger LOG = LoggerFactory.getLogger(LatentSyncEngine.class);
    private static final long ANY = -1;
    private static final int Z = 4;
    /** The {@code vae-encoder}'s optional output: the posterior's standard deviation. */
    static final String STD = "std";
    /** The {@code unet}'s DeepCache output and the {@code unet-shallow}'s matching input. */
    static final String CACHE = "cache";
    /** The DeepCache graph key. */
    static final String SHALLOW = "unet-shallow";

    private final LatentSyncConfig cfg;
    /** The engine's lifetime: its graph sessions. */
    private final TensorScope resources;
    private final GraphSession audio;
    private final GraphSession vaeEncoder;
    private final GraphSession vaeDecoder;
    private final GraphSession unet;
    /** DeepCache's shallow UNet, or null when the bundle does not use DeepCache. */
    private final GraphSession shallow;
    private final GraphSession face;
    private final MouthMask mask;
    private final BlazeFace detector;
    /** Whether the {@code vae-encoder} returns the posterior's {@code std} (so latents can be sampled). */
    private final boolean hasStd;

    private LatentSyncEngine(LatentSyncConfig cfg, TensorScope resources, GraphSession[] s, MouthMask mask) {
        this.cfg = cfg;
        this.resources = resources;
        this.audio = s[0];
        this.vaeEncoder = s[1];
        this.vaeDecoder = s[2];
        this.unet = s[3];
        this.face = s[4];
        this.shallow = s[5];
        this.mask = mask;
        this.detector = new BlazeFace(face, cfg.minScore());
        this.hasStd = vaeEncoder.outputs().stream().anyMatch(o -> o.name().equals(STD));
    }

    /**
     * Opens the bundle's five graphs on {@code backend}, checks them against the family contract and
     * reads the mouth mask.
     *
     * @param bundle  a {@code latentsync} bundle
     * @param backend the inference backend
     * @param options session options
     * @return the engine
     * @throws BundleException if the manifest, a graph's signature or the mask is wrong
     * @throws BackendException if a graph cannot be loaded
     */
    public static LatentSyncEngine open(Bundle bundle, Backend backend, SessionOptions options) {
        LatentSyncConfig cfg = LatentSyncConfig.from(bundle.manifest());
        int r = cfg.resolution();
        Path maskFile = bundle.tensorFile("mouth-mask")
                .orElseThrow(() -> new BundleException(bundle.directory() + ": a latentsync bundle needs tensors.mouth-mask"));
        MouthMask mask;
        try {
            mask = MouthMask.of(MediaRegistry.global().readImage(maskFile), r);
        } catch (IllegalArgumentException e) {
            throw new BundleException(bundle.directory() + ": " + e.getMessage(), e);
        }
        GraphSession[] s = new GraphSession[6];
        Map<String, GraphContract> contracts = contracts(cfg);
        TensorScope resources = TensorScope.open();
        try {
            s[0] = resources.attach(Sessions.open(bundle, "audio-encoder", backend, options, contracts.get("audio-encoder")));
            s[1] = resources.attach(Sessions.open(bundle, "vae-encoder", backend, options, contracts.get("vae-encoder")));
            s[2] = resources.attach(Sessions.open(bundle, "vae-decoder", backend, options, contracts.get("vae-decoder")));
            if (contracts.containsKey(SHALLOW)) {
                s[5] = resources.attach(Sessions.open(bundle, SHALLOW, backend, options, contracts.get(SHALLOW)));
            }
            s[3] = resources.attach(Sessions.open(bundle, "unet", backend, options, contracts.get("unet")));
            s[4] = resources.attach(Sessions.open(bundle, BlazeFace.GRAPH, backend, options, contracts.get(BlazeFace.GRAPH)));
            return new LatentSyncEngine(cfg, resources, s, mask);
        } catch (RuntimeException | Error e) {
            resources.close(); // whatever was opened before the failure
            throw e;
        }
    }

    /**
     * The contract of every graph this family opens for a bundle with {@code cfg}: the session path
     * and an inspection without sessions check the same contracts. The VAE encoder's posterior std
     * is optional; the shallow UNet and the UNet's cache output belong to DeepCache
     * ({@code deepCacheInterval > 0}).
     *
     * @param manifest the bundle's manifest
     * @return the contracts by graph key
     * @throws BundleException if the manifest's sections are invalid
     */
    public static Map<String, GraphContract> contracts(dev.avatar4j.bundle.BundleManifest manifest) {
        return contracts(LatentSyncConfig.from(manifest));
    }

    private static Map<String, GraphContract> contracts(LatentSyncConfig cfg) {
        int r = cfg.resolution();
        int l = r / 8;
        int w = cfg.width();
        Map<String, GraphContract> m = new LinkedHashMap<>();
        m.put("audio-encoder", GraphContract.of("audio-encoder")
                .input("input_features", DType.FLOAT32, 1, WhisperLogMelWholeFile.MEL_BINS, WhisperLogMelWholeFile.SEGMENT_FRAMES)
                .output("hidden_states", DType.FLOAT32, 1, ANY, AudioWindows.LAYERS, w));
        m.put("vae-encoder", GraphContract.of("vae-encoder")
                .input("image", DType.FLOAT32, ANY, 3, r, r).output("latent", DType.FLOAT32, ANY, Z, l, l)
                .optionalOutput(STD, DType.FLOAT32, ANY, Z, l, l)); // the posterior's std
        m.put("vae-decoder", GraphContract.of("vae-decoder")
                .input("latent", DType.FLOAT32, ANY, Z, l, l).output("image", DType.FLOAT32, ANY, 3, r, r));
        GraphContract unet = GraphContract.of("unet")
                .input("sample", DType.FLOAT32, ANY, 13, ANY, l, l).input("timestep", DType.FLOAT32, 1)
                .input("audio", DType.FLOAT32, ANY, ANY, AudioWindows.TOKENS, w)
                .output("noise", DType.FLOAT32, ANY, Z, ANY, l, l);
        if (cfg.deepCacheInterval() > 0) {
            unet.output(CACHE, DType.FLOAT32, ANY, ANY, ANY, l, l);
            m.put(SHALLOW, GraphContract.of(SHALLOW)
                    .input("sample", DType.FLOAT32, ANY, 13, ANY, l, l).input("timestep", DType.FLOAT32, 1)
                    .input("audio", DType.FLOAT32, ANY, ANY, AudioWindows.TOKENS, w)
                    .input(CACHE, DType.FLOAT32, ANY, ANY, ANY, l, l)
                    .output("noise", DType.FLOAT32, ANY, Z, ANY, l, l));
        } else {
            unet.allowExtra(n -> false, CACHE::equals); // a DeepCache export used without it
        }
        m.put("unet", unet);
        m.put(BlazeFace.GRAPH, BlazeFace.contract());
        return m;
    }

    /** @return the validated configuration */
    LatentSyncConfig config() {
        return cfg;
    }

    @Override
    public String family() {
        return FAMILY;
    }

    /** The face crop resolution (the output keeps the input video's size). */
    @Override
    public int defaultWidth() {
        return cfg.resolution();
    }

    /** The face crop resolution (the output keeps the input video's size). */
    @Override
    public int defaultHeight() {
        return cfg.resolution();
    }

    @Override
    public Class<DubRequest> jobType() {
        return DubRequest.class;
    }

    /** @return DDIM steps when the request gives none */
    @Override
    public int defaultSteps() {
        return cfg.defaultSteps();
    }

    /** @return the bundle's guidance scale */
    public double defaultGuidance() {
        return cfg.guidance();
    }

    /** @return the video rate the clip must be read at */
    @Override
    public int fps() {
        return cfg.fps();
    }

    /** @return the audio rate the speech must be read at */
    @Override
    public int sampleRate() {
        return cfg.sampleRate();
    }

    /** Number of output frames for {@code samples} audio samples: the audio's duration at 25 fps, rounded up. */
    public int frameCount(long samples) {
        return frameCount(samples, cfg.fps(), cfg.sampleRate());
    }

    static int frameCount(long samples, int fps, int sampleRate) {
        return (int) Math.max(1, (samples * fps + sampleRate - 1) / sampleRate);
    }

    /**
     * The frames of a dub (the speech's duration at {@link #fps()}); the work (UNet passes and decoded
     * faces) depends on the frames with a face, so it is given to {@link GenerationContext#replan}
     * once they are located.
     */
    @Override
    public GenerationPlan plan(DubRequest job) {
        return new GenerationPlan(frameCount(job.speech().samples().length), 0);
    }

    /**
     * Dubs a video with {@code speech}, reading the video twice front to back and holding at most one
     * chunk of frames: the first pass locates the faces (a few numbers per frame are kept), the
     * second renders chunk by chunk. A video shorter than the speech is looped ping-pong; for that
     * its frames are spilled to a temporary file ({@link FrameSpill}, deleted when done) on the
     * second pass, since a decoder cannot play backwards. Frames repeated by the frame-rate
     * conversion (the same {@link RgbImage} instance twice in a row) are located once.
     *
     * <p>The job's video is opened twice (at {@link #fps()}, at most the speech's frames), both streams
     * must give the same frames. The whole
     * plan (frames, UNet passes plus decoded faces) goes to {@link GenerationContext#replan} once the
     * faces are located, then progress after every DDIM step and decoded chunk, and the output frames
     * in order, chunk by chunk; {@link GenerationContext#checkpoint()} is called between steps and frames.
     *
     * @param job     the video, the speech at {@link #sampleRate()}, DDIM steps (1..1000), guidance
     *                (1 = no guidance, one branch; NaN for the bundle's), the no-face policy, the seed
     * @param context receives the plan, progress and frames
     * @throws InvalidInputException if the video has no frame, a frame has no face under {@code FAIL}
     *         (naming the frame, before any output), or none has under {@code HOLD}
     * @throws GenerationCancelledException at a checkpoint of a cancelled generation
     */
    @Override
    public void generate(DubRequest job, GenerationContext context) {
        AudioClip speech = job.speech();
        int steps = job.steps();
        double guidance = Double.isNaN(job.guidance()) ? cfg.guidance() : job.guidance();
        NoFace noFace = job.noFace();
        Runnable cancelled = context::checkpoint;
        if (speech.sampleRate() != cfg.sampleRate()) {
            throw new IllegalArgumentException("speech must be at " + cfg.sampleRate() + " Hz");
        }
        if (steps < 1 || steps > 1000 || !Double.isFinite(guidance)) {
            throw new InvalidInputException("steps must be 1..1000 and guidance finite, got " + steps + ", " + guidance);
        }
        int n = frameCount(speech.samples().length);
        Supplier<VideoStream> video = () -> job.video().open(cfg.fps(), n);
        Features feats = features(speech.samples(), cancelled);
        // pass 1: locate the face in each distinct frame; keep only the points
        List<AlignmentPoints> located = new ArrayList<>();
        BlazeFaceLocator locator = new BlazeFaceLocator(detector);
        try (VideoStream s = video.get()) {
            RgbImage previous = null;
            Optional<AlignmentPoints> found = Optional.empty();
            for (int i = 0; i < n; i++) {
                cancelled.run();
                RgbImage f = s.next();
                if (f == null) {
                    break;
                }
                if (f != previous) {
                    found = locator.locate(f);
                    previous = f;
                }
                if (found.isEmpty() && noFace == NoFace.FAIL) {
                    throw FaceTrack.noFace(i);
                }
                located.add(found.orElse(null));
            }
        }
        int m = located.size();
        if (m == 0) {
            throw new InvalidInputException("the video has no frames");
        }
        List<AlignmentPoints> looped = VideoLoop.pingPong(located, n);
        SimilarityAlignment alignment = new SimilarityAlignment(cfg.resolution());
        List<Optional<Affine>> track = FaceTrack.align(looped, alignment, noFace);
        int branches = guidance != 1.0 ? 2 : 1;
        long work = 0;
        for (int start = 0; start < n; start += cfg.chunkFrames()) {
            long faces = track.subList(start, Math.min(n, start + cfg.chunkFrames())).stream()
                    .filter(Optional::isPresent).count();
            work += faces > 0 ? (long) steps * branches + faces : 0;
        }
        LOG.info("dubbing {} frames ({} with a face) from {} video frames, {} DDIM steps, guidance {}", n,
                track.stream().filter(Optional::isPresent).count(), m, steps, guidance);
        context.replan(new GenerationPlan(n, work));
        int l = cfg.resolution() / 8;
        float[] noise = new float[Z * l * l];
        try (TensorScope call = TensorScope.open()) {
            Tensor t = call.allocate(DType.FLOAT32, Z, l, l);
            NoiseSource.seeded(job.seed()).fill(0, t.segment(), noise.length);
            noise = t.toFloatArray();
        }
        DdimSchedule schedule = DdimSchedule.latentSync(steps);
        // pass 2: render chunk by chunk
        try (Frames frames = m < n ? new Spilled(video, m, cancelled) : new Sequential(video)) {
            for (int start = 0; start < n; start += cfg.chunkFrames()) {
                int end = Math.min(n, start + cfg.chunkFrames());
                List<RgbImage> chunk = new ArrayList<>(end - start);
                List<Integer> withFace = new ArrayList<>();
                List<AlignedFaceCrop.FloatImage> faces = new ArrayList<>();
                List<float[]> windows = new ArrayList<>();
                for (int i = start; i < end; i++) {
                    RgbImage frame = frames.get(i, m);
                    chunk.add(frame);
                    if (track.get(i).isPresent()) {
                        withFace.add(i);
                        faces.add(FaceTrack.cut(frame, track.get(i).get(), alignment, cfg.resolution()));
                        windows.add(AudioWindows.window(feats.data(), feats.rows(), cfg.width(), i));
                    }
                }
                List<AlignedFaceCrop.FloatImage> generated = List.of();
                if (!faces.isEmpty()) {
                    Posterior posterior = sampling(job) ? new Posterior(NoiseSource.seeded(job.seed()),
                            withFace.stream().mapToInt(Integer::intValue).toArray()) : null;
                    float[] latents = denoise(faces, windows, noise, schedule, guidance, cancelled,
                            () -> context.advance(Progress.Stage.DENOISING, branches), posterior);
                    generated = decode(latents, faces);
                    context.advance(Progress.Stage.DECODING, faces.size());
                }
                int g = 0;
                for (int i = start; i < end; i++) {
                    RgbImage frame = chunk.get(i - start);
                    if (g < withFace.size() && withFace.get(g) == i) {
                        context.emitFrame(FaceTrack.paste(frame, generated.get(g), track.get(i).get(), alignment));
                        g++;
                    } else {
                        context.emitFrame(frame);
                    }
                }
            }
        }
    }

    /** Whether {@code job} gets sampled VAE latents: asked for, and the bundle's encoder returns the std. */
    boolean sampling(DubRequest job) {
        return hasStd && !job.posteriorMean();
    }

    /** @return whether the bundle's {@code vae-encoder} returns the posterior's std */
    boolean hasPosteriorStd() {
        return hasStd;
    }

    /**
     * How the faces' VAE latents are sampled: {@code mean + std · noise}, the noise of output frame
     * {@code i}'s masked face being latent frame {@code 1 + 2i} of {@code noise}, of its reference face
     * {@code 2 + 2i} (frame 0 is the shared initial noise), so a frame's samples depend only on the seed
     * and its index, not on the chunking.
     *
     * @param noise  the seeded noise source
     * @param frames per face of the chunk, its output frame index
     */
    record Posterior(NoiseSource noise, int[] frames) {
        /** The noise stream of face {@code f}: 0 for its masked copy, 1 for the reference. */
        int frameIndex(int f, int stream) {
            return 1 + 2 * frames[f] + stream;
        }
    }

    /** The face locator {@link #generate} uses (for tests). */
    MouthMask mouthMask() {
        return mask;
    }

    FaceLocator locator() {
        return new BlazeFaceLocator(detector);
    }

    /** Chunk size in frames. */
    int chunkFrames() {
        return cfg.chunkFrames();
    }

    /** The frames of the second pass, asked for in output order. */
    private interface Frames extends AutoCloseable {
        /** Output frame {@code k} of a video with {@code m} frames (looped ping-pong beyond). */
        RgbImage get(int k, int m);

        @Override
        void close();
    }

    /** A video at least as long as the speech: decoded once more, front to back. */
    private static final class Sequential implements Frames {
        private final VideoStream stream;

        Sequential(Supplier<VideoStream> video) {
            this.stream = video.get();
        }

        @Override
        public RgbImage get(int k, int m) {
            RgbImage f = stream.next();
            if (f == null) {
                throw new InvalidInputException("the video ended at frame " + k + " on the second read, "
                        + "the first gave " + m + " frames (did the file change?)");
            }
            return f;
        }

        @Override
        public void close() {
            stream.close();
        }
    }

    /** A video shorter than the speech: its frames spilled to a temporary file, read back ping-pong. */
    private static final class Spilled implements Frames {
        private final FrameSpill spill;

        Spilled(Supplier<VideoStream> video, int m, Runnable cancelled) {
            FrameSpill s = null;
            try (VideoStream stream = video.get()) {
                s = new FrameSpill(stream.width(), stream.height());
                for (RgbImage f = stream.next(); f != null && s.size() < m; f = stream.next()) {
                    cancelled.run();
                    s.add(f);
                }
                if (s.size() != m) {
                    throw new InvalidInputException("the video gave " + s.size() + " frames on the second read, "
                            + "the first gave " + m + " (did the file change?)");
                }
                this.spill = s;
            } catch (RuntimeException e) {
                if (s != null) {
                    s.close();
                }
                throw e;
            }
        }

        @Override
        public RgbImage get(int k, int m) {
            return spill.get(VideoLoop.sourceIndex(k, m));
        }

        @Override
        public void close() {
            spill.close();
        }
    }

    /** Whisper encoder features of a whole signal: {@code [rows][5][width]} and the row count. */
    record Features(float[] data, int rows) {
    }

    /** The encoder features of a 16 kHz signal (whole-file log-mel, 30 s segments, kept rows concatenated). */
    Features features(float[] samples) {
        return features(samples, () -> { });
    }

    /**
     * {@link #features(float[])}, calling the {@code cancelled} checkpoint every 10 s of audio of the
     * log-mel pass and before every 30 s segment's encoder call.
     */
    Features features(float[] samples, Runnable cancelled) {
        if (samples.length <= 200) {
            throw new InvalidInputException("the speech is too short: " + samples.length + " samples");
        }
        float[][] mel = new WhisperLogMelWholeFile().compute(samples, cancelled);
        return features(WhisperLogMelWholeFile.segments(mel), cancelled);
    }

    /** The encoder features of log-mel segments. */
    Features features(List<WhisperLogMelWholeFile.Segment> segments) {
        return features(segments, () -> { });
    }

    /** The encoder features of log-mel segments, calling the {@code cancelled} checkpoint before each encoder call. */
    Features features(List<WhisperLogMelWholeFile.Segment> segments, Runnable cancelled) {
        int stride = AudioWindows.LAYERS * cfg.width();
        List<float[]> parts = new ArrayList<>();
        int rows = 0;
        for (WhisperLogMelWholeFile.Segment seg : segments) {
            cancelled.run();
            int frames = WhisperLogMelWholeFile.SEGMENT_FRAMES;
            float[] mel = new float[WhisperLogMelWholeFile.MEL_BINS * frames];
            for (int m = 0; m < WhisperLogMelWholeFile.MEL_BINS; m++) {
                System.arraycopy(seg.mel()[m], 0, mel, m * frames, frames);
            }
            int keep = AudioWindows.keptRows(seg.validFrames());
            try (TensorScope call = TensorScope.open()) {
                Tensor in = call.ofFloats(mel, 1, WhisperLogMelWholeFile.MEL_BINS, frames);
                float[] hs = runOne(audio, Map.of("input_features", in), "hidden_states");
                if (hs.length / stride < keep) {
                    throw new BackendException("audio encoder returned " + hs.length / stride + " rows, expected at least " + keep);
                }
                float[] kept = new float[keep * stride];
                System.arraycopy(hs, 0, kept, 0, kept.length);
                parts.add(kept);
                rows += keep;
            }
        }
        if (rows < 1) {
            throw new InvalidInputException("the speech is too short to give an audio feature");
        }
        float[] all = new float[rows * stride];
        int o = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, o, p.length);
            o += p.length;
        }
        return new Features(all, rows);
    }

    /**
     * Regenerates the mouths of one chunk's aligned faces.
     *
     * @param faces   aligned faces, RGB floats in [0, 255], R×R
     * @param windows per face its 50×width audio window
     * @param noise   the shared noise frame, {@code [4, R/8, R/8]}
     * @return per face the decoded face mixed with the original outside the mouth mask, in [0, 255]
     */
    List<AlignedFaceCrop.FloatImage> generate(List<AlignedFaceCrop.FloatImage> faces, List<float[]> windows, float[] noise,
                                       DdimSchedule schedule, double guidance, Runnable cancelled) {
        float[] latents = denoise(faces, windows, noise, schedule, guidance, cancelled);
        return decode(latents, faces);
    }

    /** The chunk's final latents {@code [4, n, R/8, R/8]}. */
    float[] denoise(List<AlignedFaceCrop.FloatImage> faces, List<float[]> windows, float[] noise, DdimSchedule schedule,
                    double guidance, Runnable cancelled) {
        return denoise(faces, windows, noise, schedule, guidance, cancelled, () -> { });
    }

    /** As above, calling {@code onStep} after every DDIM step. */
    float[] denoise(List<AlignedFaceCrop.FloatImage> faces, List<float[]> windows, float[] noise, DdimSchedule schedule,
                    double guidance, Runnable cancelled, Runnable onStep) {
        return denoise(faces, windows, noise, schedule, guidance, cancelled, onStep, null);
    }

    /** As above, the faces' latents sampled with {@code posterior} (null: the posterior mean). */
    float[] denoise(List<AlignedFaceCrop.FloatImage> faces, List<float[]> windows, float[] noise, DdimSchedule schedule,
                    double guidance, Runnable cancelled, Runnable onStep, Posterior posterior) {
        int n = faces.size();
        int r = cfg.resolution();
        int img = 3 * r * r;
        float[] masked = new float[n * img];
        float[] ref = new float[n * img];
        for (int f = 0; f < n; f++) {
            System.arraycopy(mask.masked(faces.get(f)), 0, masked, f * img, img);
            System.arraycopy(mask.normalise(faces.get(f)), 0, ref, f * img, img);
        }
        float[] maskedLat = encode(masked, n, posterior, 0);
        float[] refLat = encode(ref, n, posterior, 1);
        return denoiseEncoded(maskedLat, refLat, windows, noise, schedule, guidance, cancelled, onStep);
    }

    /**
     * The denoising loop of {@link #denoise} on the faces' VAE latents (scaled, as {@link #encode}
     * returns them).
     *
     * @param maskedLat the masked faces' latents {@code [n, 4, R/8, R/8]}
     * @param refLat    the reference (unmasked) faces' latents {@code [n, 4, R/8, R/8]}
     */
    float[] denoiseEncoded(float[] maskedLat, float[] refLat, List<float[]> windows, float[] noise, DdimSchedule schedule,
                           double guidance, Runnable cancelled, Runnable onStep) {
        int n = windows.size();
        int l = cfg.resolution() / 8;
        int plane = l * l;
        if (maskedLat.length != n * Z * plane || refLat.length != maskedLat.length) {
            throw new IllegalArgumentException("expected " + n * Z * plane + " latents per input, got "
                    + maskedLat.length + " and " + refLat.length);
        }
        float[] maskLat = mask.latentMask();
        // the 9 condition channels of the UNet input, [9, n, l, l]
        float[] cond = new float[9 * n * plane];
        for (int f = 0; f < n; f++) {
            System.arraycopy(maskLat, 0, cond, f * plane, plane);
            for (int c = 0; c < Z; c++) {
                System.arraycopy(maskedLat, (f * Z + c) * plane, cond, ((1 + c) * n + f) * plane, plane);
                System.arraycopy(refLat, (f * Z + c) * plane, cond, ((1 + Z + c) * n + f) * plane, plane);
            }
        }
        boolean cfgOn = guidance != 1.0;
        int branches = cfgOn ? 2 : 1;
        int tokens = AudioWindows.TOKENS * cfg.width();
        float[] audioIn = new float[branches * n * tokens]; // branch 0 = zero audio when guided
        for (int f = 0; f < n; f++) {
            System.arraycopy(windows.get(f), 0, audioIn, ((branches - 1) * n + f) * tokens, tokens);
        }
        int latSize = Z * n * plane;
        float[] x = new float[latSize];
        for (int c = 0; c < Z; c++) {
            for (int f = 0; f < n; f++) {
                System.arraycopy(noise, c * plane, x, (c * n + f) * plane, plane);
            }
        }
        int sampleSize = 13 * n * plane;
        try (TensorScope chunk = TensorScope.open()) {
            Tensor sample = chunk.allocate(DType.FLOAT32, branches, 13, n, l, l);
            Tensor aud = chunk.ofFloats(audioIn, branches, n, AudioWindows.TOKENS, cfg.width());
            Tensor xs = chunk.ofFloats(x, Z, n, l, l);
            Tensor eps = chunk.allocate(DType.FLOAT32, Z, n, l, l);
            Tensor ts = chunk.allocate(DType.FLOAT32, 1);
            for (int b = 0; b < branches; b++) {
                MemorySegment.copy(cond, 0, sample.segment(), java.lang.foreign.ValueLayout.JAVA_FLOAT,
                        ((long) b * sampleSize + latSize) * 4, cond.length);
            }
            int interval = shallow != null ? cfg.deepCacheInterval() : 0;
            Tensor cache = null;
            for (int step = 0; step < schedule.steps(); step++) {
                cancelled.run();
                for (int b = 0; b < branches; b++) {
                    MemorySegment.copy(xs.segment(), 0, sample.segment(), (long) b * sampleSize * 4, (long) latSize * 4);
                }
                ts.setFloat(0, schedule.timestep(step));
                // DeepCache (DeepCacheSDHelper as LatentSync's inference.py enables it): a full step at
                // every interval-th step of the chunk's schedule, the shallow graph on its cache between
                boolean full = interval == 0 || step % interval == 0;
                GraphSession.Result run = full
                        ? unet.run(Map.of("sample", sample, "timestep", ts, "audio", aud),
                                interval > 0 ? Set.of("noise", CACHE) : Set.of("noise"))
                        : shallow.run(Map.of("sample", sample, "timestep", ts, "audio", aud, CACHE, cache), Set.of("noise"));
                try (GraphSession.Result res = run) {
                    if (full && interval > 0) {
                        Tensor c = res.get(CACHE);
                        if (cache == null) {
                            long[] shape = c.shape();
                            cache = chunk.allocate(DType.FLOAT32, shape);
                        }
                        MemorySegment.copy(c.segment(), 0, cache.segment(), 0, c.segment().byteSize());
                    }
                    Tensor e = res.get("noise");
                    if (e.elementCount() != (long) branches * latSize) {
                        throw new BackendException("unet returned " + e + ", expected " + branches * latSize + " values");
                    }
                    MemorySegment es = e.segment();
                    for (int i = 0; i < latSize; i++) {
                        float c = es.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, (long) (branches - 1) * latSize + i);
                        float v = c;
                        if (cfgOn) {
                            float u = es.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i);
                            v = (float) (u + guidance * (c - u));
                        }
                        eps.setFloat(i, v);
                    }
                }
                DdimStep.apply(xs.segment(), eps.segment(), schedule, step, latSize);
                onStep.run();
            }
            return xs.toFloatArray();
        }
    }

    /** The VAE latents (posterior mean) of {@code n} images, scaled: {@link #encode(float[], int, Posterior, int)}. */
    float[] encode(float[] images, int n) {
        return encode(images, n, null, 0);
    }

    /**
     * The VAE latents {@code [n, 4, l, l]} of {@code n} images {@code [n, 3, R, R]} in [−1, 1], scaled:
     * {@code (z − shift) · scaling} with {@code z} the posterior mean, or, with {@code posterior} (and a
     * bundle whose encoder returns {@code std}), the reference's {@code latent_dist.sample()}: {@code
     * z = mean + std · ε}, {@code ε} face {@code f}'s noise frame {@link Posterior#frameIndex(int, int)
     * frameIndex(f, stream)} (seeded, not torch's generator: the same distribution, other numbers).
     */
    float[] encode(float[] images, int n, Posterior posterior, int stream) {
        int r = cfg.resolution();
        boolean sample = posterior != null && hasStd;
        try (TensorScope call = TensorScope.open()) {
            Tensor in = call.ofFloats(images, n, 3, r, r);
            float[] lat;
            if (sample) {
                float[] std;
                try (GraphSession.Result res = vaeEncoder.run(Map.of("image", in), Set.of("latent", STD))) {
                    lat = res.get("latent").toFloatArray();
                    std = res.get(STD).toFloatArray();
                }
                if (std.length != lat.length) {
                    throw new BackendException("vae-encoder returned " + std.length + " std values for " + lat.length + " latents");
                }
                int per = lat.length / n;
                Tensor eps = call.allocate(DType.FLOAT32, per);
                for (int f = 0; f < n; f++) {
                    posterior.noise().fill(posterior.frameIndex(f, stream), eps.segment(), per);
                    for (int i = 0; i < per; i++) {
                        lat[f * per + i] += std[f * per + i] * eps.getFloat(i);
                    }
                }
            } else {
                lat = runOne(vaeEncoder, Map.of("image", in), "latent");
            }
            for (int i = 0; i < lat.length; i++) {
                lat[i] = (float) ((lat[i] - cfg.shift()) * cfg.scaling());
            }
            return lat;
        }
    }

    /** Decodes latents {@code [4, n, l, l]} and mixes each face with its original outside the mouth. */
    List<AlignedFaceCrop.FloatImage> decode(float[] latents, List<AlignedFaceCrop.FloatImage> originals) {
        int n = originals.size();
        int r = cfg.resolution();
        int plane = (r / 8) * (r / 8);
        float[] in = new float[latents.length];
        for (int c = 0; c < Z; c++) {
            for (int f = 0; f < n; f++) {
                for (int i = 0; i < plane; i++) {
                    in[(f * Z + c) * plane + i] = (float) (latents[(c * n + f) * plane + i] / cfg.scaling() + cfg.shift());
                }
            }
        }
        float[] images;
        try (TensorScope call = TensorScope.open()) {
            images = runOne(vaeDecoder, Map.of("latent", call.ofFloats(in, n, Z, r / 8, r / 8)), "image");
        }
        List<AlignedFaceCrop.FloatImage> out = new ArrayList<>(n);
        int rr = r * r;
        for (int f = 0; f < n; f++) {
            float[] hwc = new float[3 * rr];
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < rr; i++) {
                    float v = images[(f * 3 + c) * rr + i] / 2 + 0.5f;
                    hwc[3 * i + c] = Math.clamp(v, 0f, 1f) * 255f;
                }
            }
            out.add(mask.mix(new AlignedFaceCrop.FloatImage(r, r, 3, hwc), originals.get(f)));
        }
        return out;
    }

    private static float[] runOne(GraphSession s, Map<String, Tensor> in, String output) {
        try (GraphSession.Result res = s.run(in, Set.of(output))) {
            return res.get(output).toFloatArray();
        }
    }

    /** Closes the five graph sessions. */
    @Override
    public void close() {
        resources.close();
    }
}
