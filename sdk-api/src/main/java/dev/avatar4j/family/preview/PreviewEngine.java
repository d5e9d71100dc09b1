package dev.avatar4j.family.preview;

import dev.avatar4j.face.EyeRefinement;
import dev.avatar4j.face.FaceDetection;
import dev.avatar4j.face.FaceDetector;
import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.io.AudioSource;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.FamilyJob;
import dev.avatar4j.family.LiveRequest;
import java.util.Optional;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationPlan;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.backend.Sessions;
import java.util.LinkedHashMap;
import java.util.Map;
import dev.avatar4j.image.ImageOps;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.TensorScope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code preview} pipeline: an instant, CPU-only talking portrait without diffusion. The
 * reference image is cropped to the output's aspect ratio (around the face) and resized; BlazeFace finds the face
 * and its keypoints once ({@link FaceDetector}, eyes refined by {@link EyeRefinement}); Silero VAD ({@link VoiceActivity}) and an energy
 * and spectrum analysis ({@link MouthFeatures}) turn the audio into per-frame mouth shapes, smoothed
 * with attack and release ({@link MouthTrack}); each frame is then the reference warped around the
 * keypoints ({@link FaceAnimator}) with the mouth shape, a blink ({@link BlinkSchedule}) and a small
 * head motion ({@link IdleMotion}), the last two seeded by the request's seed so that a seed
 * always gives the same video. Both graphs run through the {@link Backend} SPI. {@code steps} and
 * guidance are ignored (there is no sampler). Thread-safe.
 */
public final class PreviewEngine implements FamilyEngine<GenerationRequest> {
    private static final Logger log = LoggerFactory.getLogger(PreviewEngine.class);

    private final PreviewConfig cfg;
    /** The engine's lifetime: its graph sessions. */
    private final TensorScope resources;
    private final FaceDetector detector;
    private final VoiceActivity vad;
    /** The live mode: this engine's sessions driven by pushed speech. */
    private final PreviewLive live = new PreviewLive(this);

    private PreviewEngine(PreviewConfig cfg, TensorScope resources, Bundle bundle, Backend backend,
                          SessionOptions options) {
        this.cfg = cfg;
        this.resources = resources;
        Map<String, GraphContract> contracts = contracts();
        this.detector = new FaceDetector(resources.attach(Sessions.open(bundle, FaceDetector.GRAPH, backend, options,
                contracts.get(FaceDetector.GRAPH))), cfg.minScore());
        this.vad = new VoiceActivity(resources.attach(Sessions.open(bundle, VoiceActivity.GRAPH, backend, options,
                contracts.get(VoiceActivity.GRAPH))));
    }

    /**
     * The contracts of the family's two graphs (the face detector and the voice-activity detector):
     * the session path and an inspection without sessions check the same contracts.
     *
     * @return the contracts by graph key
     */
    public static Map<String, GraphContract> contracts() {
        Map<String, GraphContract> m = new LinkedHashMap<>();
        m.put(FaceDetector.GRAPH, FaceDetector.contract());
        m.put(VoiceActivity.GRAPH, VoiceActivity.contract());
        return m;
    }

    /** Opens the bundle's two graphs on {@code backend} and checks them against the family contract. */
    public static PreviewEngine open(Bundle bundle, Backend backend, SessionOptions options) {
        PreviewConfig cfg = PreviewConfig.from(bundle.manifest());
        TensorScope resources = TensorScope.open();
        try {
            return new PreviewEngine(cfg, resources, bundle, backend, options);
        } catch (RuntimeException | Error e) {
            resources.close(); // whatever was opened before the failure
            throw e;
        }
    }

    /** The validated manifest sections. */
    public PreviewConfig config() {
        return cfg;
    }

    @Override
    public String family() {
        return PreviewConfig.FAMILY;
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
        return 1;
    }

    /** 0: there is no sampler, the request's steps are ignored. */
    @Override
    public int stepsRun(GenerationRequest request) {
        return 0;
    }

    /** Video frames for {@code samples} audio samples: enough to cover the audio, at least one. */
    int framesFor(long samples) {
        return cfg.framesFor(samples);
    }

    @Override
    public Class<GenerationRequest> jobType() {
        return GenerationRequest.class;
    }

    /** Also runs live sessions ({@link LiveRequest}), through its {@link PreviewLive} view. */
    @Override
    @SuppressWarnings("unchecked")
    public <T extends FamilyJob> Optional<FamilyEngine<T>> runs(Class<T> type) {
        if (type == LiveRequest.class) {
            return Optional.of((FamilyEngine<T>) (FamilyEngine<?>) live);
        }
        return FamilyEngine.super.runs(type);
    }

    /** The voice activity model (shared with the live mode). */
    VoiceActivity voiceActivity() {
        return vad;
    }

    @Override
    public GenerationPlan plan(GenerationRequest r) {
        int frames = framesFor(r.audioLength());
        return new GenerationPlan(frames, frames + 2L);
    }

    @Override
    public void generate(GenerationRequest r, GenerationContext ctx) {
        if (r.audioRate() != cfg.sampleRate()) {
            throw new IllegalArgumentException("audio must be at " + cfg.sampleRate() + " Hz");
        }
        int width = r.width();
        int height = r.height();
        int frames = framesFor(r.audioLength());
        long t0 = System.nanoTime();
        ctx.activity("finding the face");
        ctx.checkpoint();
        Framed framed = frame(r.image(), width, height);
        RgbImage base = framed.image();
        byte[] src = base.toRgbArray();
        FaceRig rig = new FaceRig(EyeRefinement.refine(framed.face(), src, width, height));
        long t1 = System.nanoTime();
        log.debug("preview: face at mouth ({}, {}), inter-ocular {} px, found in {} ms; {} frames", Math.round(rig.mouthX),
                Math.round(rig.mouthY), Math.round(rig.d), (t1 - t0) / 1_000_000, frames);
        ctx.advance(Progress.Stage.PREPARING, 1);
        ctx.activity("analysing the speech");
        ctx.checkpoint(); // after the snapshot: a listener may cancel on it
        // two passes over streamed speech, per-frame results kept; cancellable at every chunk and frame
        MouthShape[] mouth = mouthTrack(r.source(), frames, ctx::checkpoint);
        ctx.advance(Progress.Stage.PREPARING, 1);
        long t2 = System.nanoTime();
        log.debug("preview: voice activity and mouth shapes in {} ms", (t2 - t1) / 1_000_000);
        long renderNanos = 0;
        BlinkSchedule blinks = BlinkSchedule.seeded(r.seed(), (double) frames / cfg.fps());
        IdleMotion idle = IdleMotion.seeded(r.seed());
        double colour = rig.colourfulness(src, width, height);
        ctx.activity("rendering frames");
        for (int f = 0; f < frames; f++) {
            ctx.checkpoint();
            double t = (double) f / cfg.fps();
            long r0 = System.nanoTime();
            byte[] frame = src.clone();
            FaceAnimator.render(src, frame, width, height, rig, mouth[f], blinks.closure(t), idle.pose(t, mouth[f].open()),
                    colour);
            renderNanos += System.nanoTime() - r0;
            ctx.emitFrame(frame);
            ctx.advance(Progress.Stage.DECODING, 1);
        }
        log.debug("preview: rendered {} frames in {} ms; {} ms including delivery", frames, renderNanos / 1_000_000,
                (System.nanoTime() - t2) / 1_000_000);
    }

    /** The smoothed mouth shape of each of {@code frames} frames of {@code samples}. */
    MouthShape[] mouthTrack(float[] samples, int frames) {
        return mouthTrack(AudioSource.of(new AudioClip(samples, cfg.sampleRate())), frames, () -> { });
    }

    /**
     * {@link #mouthTrack(float[], int)} of a source: voice activity and mouth features each read
     * it front to back (a streamed file is decoded twice, never held whole); what is kept is per
     * chunk and per frame, about 1/50 of the samples' size. {@code checkpoint} runs before every
     * VAD chunk and every analysed frame: the generation's cancellation point during this pre-pass,
     * which takes about 2 s per minute of audio.
     */
    MouthShape[] mouthTrack(AudioSource samples, int frames, Runnable checkpoint) {
        float[] speech = VoiceActivity.atFrames(vad.chunkProbabilities(samples, checkpoint), frames, cfg.fps());
        MouthFeatures.Frame[] analysis = MouthFeatures.analyse(samples, cfg.sampleRate(), frames, cfg.fps(),
                checkpoint);
        return MouthTrack.smooth(MouthFeatures.targets(analysis, speech), cfg.fps());
    }

    /** The most confident face in {@code image}. */
    FaceDetection detect(RgbImage image) {
        return detector.detect(image);
    }

    /** The reference cropped and resized to the output, and its face in output coordinates. */
    record Framed(RgbImage image, FaceDetection face) {
    }

    /**
     * The reference as the video shows it, with its face. The face is searched on the whole
     * reference (so the detector sees the same picture whatever the output size); when the
     * reference's aspect ratio differs from the output's, the crop is placed around the face rather
     * than in the centre, so that a tall portrait with the face near the top keeps the whole face.
     * The detection is then mapped into the resized frame and, when the detector finds it there
     * again, replaced by that closer look.
     */
    Framed frame(RgbImage img, int width, int height) {
        FaceDetection f = detector.detect(img);
        int[] c = crop(img.width(), img.height(), width, height, f);
        double scale = (double) width / c[2];
        RgbImage framed = cropResize(img, width, height, c);
        return new Framed(framed, detector.refine(framed, f.mapped(-c[0] * scale, -c[1] * scale, scale)));
    }

    /**
     * The crop {@code {x0, y0, w, h}} of a {@code w × h} image with the output's aspect ratio:
     * the whole image when the ratios agree, else centred across the face and with the face a
     * little above the middle (room for chin and shoulders), as far as the image allows; centred in
     * the image when {@code face} is null.
     */
    static int[] crop(int w, int h, int width, int height, FaceDetection face) {
        int cw = w;
        int ch = h;
        if ((long) w * height > (long) h * width) {
            cw = (int) Math.max(1, Math.round((double) h * width / height));
        } else if ((long) w * height < (long) h * width) {
            ch = (int) Math.max(1, Math.round((double) w * height / width));
        }
        double cx = face == null ? w / 2.0 : face.cx();
        double cy = face == null ? h / 2.0 : face.cy() + 0.1 * ch;
        int x0 = (int) Math.clamp(Math.round(cx - cw / 2.0), 0, w - cw);
        int y0 = (int) Math.clamp(Math.round(cy - ch / 2.0), 0, h - ch);
        if (face == null) {
            x0 = (w - cw) / 2;
            y0 = (h - ch) / 2;
        }
        return new int[] {x0, y0, cw, ch};
    }

    /** Crops {@code img} centrally to the aspect ratio of {@code width × height} and resizes it. */
    static RgbImage coverResize(RgbImage img, int width, int height) {
        return cropResize(img, width, height, crop(img.width(), img.height(), width, height, null));
    }

    /** Cuts {@code crop = {x0, y0, w, h}} out of {@code img} and resizes it to {@code width × height}. */
    static RgbImage cropResize(RgbImage img, int width, int height, int[] crop) {
        RgbImage cropped = img;
        int w = img.width();
        int cw = crop[2];
        int ch = crop[3];
        if (cw != w || ch != img.height()) {
            byte[] src = img.toRgbArray();
            byte[] out = new byte[cw * ch * 3];
            for (int y = 0; y < ch; y++) {
                System.arraycopy(src, ((y + crop[1]) * w + crop[0]) * 3, out, y * cw * 3, cw * 3);
            }
            cropped = RgbImage.ofOwned(cw, ch, out);
        }
        return ImageOps.resize(cropped, width, height);
    }

    @Override
    public void close() {
        resources.close();
    }
}
