package dev.avatar4j.family.preview;

import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.engine.FamilyEngine;
import dev.avatar4j.engine.GenerationContext;
import dev.avatar4j.engine.GenerationPlan;
import dev.avatar4j.engine.GenerationRequest;
import dev.avatar4j.engine.Sessions;
import dev.avatar4j.image.ImageOps;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code preview} pipeline: an instant, CPU-only talking portrait without diffusion. The
 * reference image is cropped to the output's aspect ratio and resized; BlazeFace finds the face
 * and its keypoints once ({@link FaceDetector}, eyes refined by {@link EyeRefinement}); Silero VAD ({@link VoiceActivity}) and an energy
 * and spectrum analysis ({@link MouthFeatures}) turn the audio into per-frame mouth shapes, smoothed
 * with attack and release ({@link MouthTrack}); each frame is then the reference warped around the
 * keypoints ({@link FaceWarp}) with the mouth shape, a blink ({@link BlinkSchedule}) and a small
 * head motion ({@link IdleMotion}), the last two seeded by the request's seed so that a seed
 * always gives the same video. Both graphs run through the {@link Backend} SPI. {@code steps} and
 * guidance are ignored (there is no sampler). Thread-safe.
 */
public final class PreviewEngine implements FamilyEngine {
    private static final Logger log = LoggerFactory.getLogger(PreviewEngine.class);

    private final PreviewConfig cfg;
    private final GraphSession faceSession;
    private final GraphSession vadSession;
    private final FaceDetector detector;
    private final VoiceActivity vad;

    private PreviewEngine(PreviewConfig cfg, GraphSession faceSession, GraphSession vadSession) {
        this.cfg = cfg;
        this.faceSession = faceSession;
        this.vadSession = vadSession;
        this.detector = new FaceDetector(faceSession, cfg.minScore());
        this.vad = new VoiceActivity(vadSession);
    }

    /** Opens the bundle's two graphs on {@code backend} and checks them against the family contract. */
    public static PreviewEngine open(Bundle bundle, Backend backend, SessionOptions options) {
        PreviewConfig cfg = PreviewConfig.from(bundle.manifest());
        GraphSession face = null;
        try {
            face = Sessions.open(bundle, FaceDetector.GRAPH, backend, options, FaceDetector.contract());
            GraphSession v = Sessions.open(bundle, VoiceActivity.GRAPH, backend, options, VoiceActivity.contract());
            return new PreviewEngine(cfg, face, v);
        } catch (RuntimeException e) {
            Sessions.closeAll(face);
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

    /** Video frames for {@code samples} audio samples: enough to cover the audio, at least one. */
    int framesFor(long samples) {
        return (int) Math.max(1, Math.ceilDiv(samples * cfg.fps(), cfg.sampleRate()));
    }

    @Override
    public GenerationPlan plan(GenerationRequest r) {
        int frames = framesFor(r.audio().length());
        return new GenerationPlan(frames, frames + 2L);
    }

    @Override
    public void generate(GenerationRequest r, GenerationContext ctx) {
        if (r.audio().sampleRate() != cfg.sampleRate()) {
            throw new IllegalArgumentException("audio must be at " + cfg.sampleRate() + " Hz");
        }
        int width = r.width();
        int height = r.height();
        int frames = framesFor(r.audio().length());
        RgbImage base = coverResize(r.image(), width, height);
        byte[] src = base.toRgbArray();
        FaceRig rig = new FaceRig(EyeRefinement.refine(detector.detect(base), src, width, height));
        log.debug("preview: face at mouth ({}, {}), inter-ocular {} px; {} frames", rig.mouthX, rig.mouthY, rig.d, frames);
        ctx.advance(Progress.Stage.PREPARING, 1);
        ctx.checkpoint();
        MouthShape[] mouth = mouthTrack(r.audio().samples(), frames);
        ctx.advance(Progress.Stage.PREPARING, 1);
        BlinkSchedule blinks = BlinkSchedule.seeded(r.seed(), (double) frames / cfg.fps());
        IdleMotion idle = IdleMotion.seeded(r.seed());
        for (int f = 0; f < frames; f++) {
            ctx.checkpoint();
            double t = (double) f / cfg.fps();
            byte[] frame = src.clone();
            FaceWarp.render(src, frame, width, height, rig, mouth[f], blinks.closure(t), idle.pose(t, mouth[f].open()));
            ctx.emitFrame(frame);
            ctx.advance(Progress.Stage.DECODING, 1);
        }
    }

    /** The smoothed mouth shape of each of {@code frames} frames of {@code samples}. */
    MouthShape[] mouthTrack(float[] samples, int frames) {
        float[] speech = VoiceActivity.atFrames(vad.chunkProbabilities(samples), frames, cfg.fps());
        MouthFeatures.Frame[] analysis = MouthFeatures.analyse(samples, cfg.sampleRate(), frames, cfg.fps());
        return MouthTrack.smooth(MouthFeatures.targets(analysis, speech), cfg.fps());
    }

    /** The face in {@code image} resized to the output size as the engine renders it. */
    FaceDetection detect(RgbImage image) {
        return detector.detect(image);
    }

    /** Crops {@code img} centrally to the aspect ratio of {@code width × height} and resizes it. */
    static RgbImage coverResize(RgbImage img, int width, int height) {
        int w = img.width();
        int h = img.height();
        int cw = w;
        int ch = h;
        if ((long) w * height > (long) h * width) {
            cw = (int) Math.max(1, Math.round((double) h * width / height));
        } else {
            ch = (int) Math.max(1, Math.round((double) w * height / width));
        }
        RgbImage cropped = img;
        if (cw != w || ch != h) {
            byte[] src = img.toRgbArray();
            byte[] out = new byte[cw * ch * 3];
            int x0 = (w - cw) / 2;
            int y0 = (h - ch) / 2;
            for (int y = 0; y < ch; y++) {
                System.arraycopy(src, ((y + y0) * w + x0) * 3, out, y * cw * 3, cw * 3);
            }
            cropped = RgbImage.ofOwned(cw, ch, out);
        }
        return ImageOps.resize(cropped, width, height);
    }

    @Override
    public void close() {
        Sessions.closeAll(faceSession, vadSession);
    }
}
