package dev.avatar4j.family.stableavatar;

import dev.avatar4j.Progress;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationPlan;
import dev.avatar4j.family.LiveRequest;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.family.StreamingVaeDecoder;
import dev.avatar4j.family.UtteranceLive;
import dev.avatar4j.sampling.Guidance;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;

/**
 * The stableavatar family's live mode: the offline pipeline ({@link StableAvatarEngine}) run on an
 * open-ended timeline, one utterance after the other.
 *
 * <p><b>Utterances.</b> Each utterance (the speech up to {@code endOfSpeech()}) is rendered exactly as
 * an offline generation of its audio with the session's seed, steps, size, prompt and guidance: the
 * same windows ({@link OpenWindowPlan}, planned as its audio comes in; the last one, with the
 * bundle's tail rule, when it ends), the same wavefront ({@link WavefrontDenoiser#open}, which runs
 * each window's steps as soon as the windows they depend on are known), the same per-window audio
 * features (wav2vec2 on the window's own slice, normalised on its own: no audio after the slice is
 * needed), the same image conditioning and a fresh VAE decoder cache: its frames are the offline
 * frames bit for bit, and they go out as soon as they are final, while the speech is still coming.
 *
 * <p><b>Threads, idle frames, interrupts</b>: {@link UtteranceLive} (the model on a thread of its own,
 * the session's thread pacing the frames: the portrait while nothing is being said, the last frame
 * held while the model is behind in an utterance).
 *
 * <p><b>Low latency.</b> With {@link LiveRequest#lowLatency()} each window runs all its steps before
 * the next one starts ({@link WavefrontDenoiser#open(InitialLatents, WindowVelocity, StepListener,
 * FinalFrameSink, boolean)}): frames are final one window after their speech instead of N − 1 windows
 * later, and no longer equal the offline ones.
 *
 * <p><b>Memory.</b> The model thread holds at most {@link #audioLimit()} samples of speech not yet
 * rendered (the rest waits in the session's queue, whose capacity holds a producer back), its
 * wavefront's latents (bounded as offline), and at most {@link #frameLimit()} decoded frames waiting
 * to be sent.
 */
final class StableAvatarLive implements FamilyEngine<LiveRequest> {

    private final StableAvatarEngine engine;

    StableAvatarLive(StableAvatarEngine engine) {
        this.engine = engine;
    }

    @Override
    public String family() {
        return engine.family();
    }

    @Override
    public Class<LiveRequest> jobType() {
        return LiveRequest.class;
    }

    @Override
    public int fps() {
        return engine.fps();
    }

    @Override
    public int sampleRate() {
        return engine.sampleRate();
    }

    @Override
    public int defaultWidth() {
        return engine.defaultWidth();
    }

    @Override
    public int defaultHeight() {
        return engine.defaultHeight();
    }

    @Override
    public int defaultSteps() {
        return engine.defaultSteps();
    }

    @Override
    public GenerationPlan plan(LiveRequest job) {
        StableAvatarConfig cfg = engine.config();
        // the checks an offline plan makes (size, steps), on a clip of one window
        StableAvatarPlan.create(cfg, (long) cfg.windowFrames() * cfg.samplesPerFrame(), job.steps(), cfg.overlap(),
                cfg.weights(), job.width(), job.height());
        return GenerationPlan.openEnded();
    }

    /** Decoded frames the worker may hold for the session's thread: two window strides' worth. */
    int frameLimit() {
        StableAvatarConfig cfg = engine.config();
        return 2 * (cfg.windowLatents() - cfg.overlap()) * cfg.temporalStride() + cfg.temporalStride();
    }

    /** Samples the worker may hold: enough for the windows its next steps wait for, and more. */
    long audioLimit() {
        StableAvatarConfig cfg = engine.config();
        long window = Math.max((long) cfg.sliceFrames(), (long) cfg.windowLatents() * cfg.temporalStride())
                * cfg.samplesPerFrame();
        return 4 * window;
    }

    @Override
    public void generate(LiveRequest r, GenerationContext ctx) {
        StableAvatarConfig cfg = engine.config();
        new UtteranceLive(r, cfg.sampleRate(), cfg.fps(), frameLimit(), audioLimit(), 0, family())
                .run(ctx, new Renderer(r));
    }

    @Override
    public void close() {
        // a view: the stableavatar engine owns the sessions
    }

    /** What every utterance of a session shares: the prompt's embedding and the portrait's conditioning. */
    private record Setup(TensorScope scope, Tensor positive, ImageConditioning image) implements AutoCloseable {
        @Override
        public void close() {
            scope.close();
        }
    }

    /** The model side: each utterance as the offline engine renders its audio, as it comes. */
    private final class Renderer implements UtteranceLive.Renderer<Setup> {
        private final LiveRequest r;

        Renderer(LiveRequest r) {
            this.r = r;
        }

        @Override
        public Setup open(Runnable checkpoint) {
            StableAvatarConfig cfg = engine.config();
            TensorScope scope = TensorScope.open();
            try {
                Tensor positive = engine.text().positive(r.prompt(), scope);
                ImageConditioning image = ImageConditioning.compute(scope, engine.graphs(), cfg, r.image(),
                        r.width(), r.height(), cfg.windowLatents(), checkpoint);
                return new Setup(scope, positive, image);
            } catch (RuntimeException | Error e) {
                scope.close();
                throw e;
            }
        }

        /** One utterance, as the offline engine renders its audio. */
        @Override
        public void render(Setup setup, UtteranceLive.Utterance u) {
            LiveRequest r = this.r;
            StableAvatarConfig cfg = engine.config();
            TensorScope session = setup.scope();
            Tensor positive = setup.positive();
            ImageConditioning image = setup.image();
            StableAvatarGraphs graphs = engine.graphs();
            int lh = r.height() / cfg.spatialStride();
            int lw = r.width() / cfg.spatialStride();
            long hw = (long) lh * lw;
            long frameFloats = cfg.latentChannels() * hw;
            double st = Double.isNaN(r.textGuidance()) ? cfg.textGuidance() : r.textGuidance();
            double sa = Double.isNaN(r.audioGuidance()) ? cfg.audioGuidance() : r.audioGuidance();
            OpenWindowPlan plan = new OpenWindowPlan(cfg, cfg.overlap());
            StableAvatarPlan shape = StableAvatarPlan.create(cfg, (long) cfg.windowFrames() * cfg.samplesPerFrame(),
                    r.steps(), cfg.overlap(), cfg.weights(), r.width(), r.height());
            NoiseSource noise = NoiseSource.seeded(r.seed());
            int spf = cfg.samplesPerFrame();
            long[] emitted = {0};
            GenerationContext worker = new GenerationContext() {
                @Override
                public void emitFrame(byte[] rgb) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public void advance(Progress.Stage stage, long units) {
                }

                @Override
                public void checkpoint() {
                    u.check();
                }
            };
            try (TensorScope scope = session.newSubScope()) {
                DeviceScope device = scope.attach(engine.backend().openDeviceScope());
                WindowAudio audio = new WindowAudio(scope, graphs.audioEncoder, cfg, u::read,
                        k -> plan.get(k).audio());
                GuidedDit dit = new GuidedDit(scope, device, graphs.dit, worker, cfg, Guidance.textAudio(st, sa),
                        StableAvatarEngine.TEXT_AUDIO_BRANCHES, engine.text().negative(), positive, image, audio, lh, lw);
                StreamingVaeDecoder decoder = new StreamingVaeDecoder(scope, device, graphs.vaeDecoder,
                        cfg.latentChannels(), cfg.temporalStride(), cfg.caches(), lh, lw, r.width(), r.height());
                WavefrontDenoiser denoiser = new WavefrontDenoiser(cfg.windowLatents(), cfg.overlap(),
                        shape.overlapWeights(), shape.schedule(), cfg.latentChannels(), hw);
                try (WavefrontDenoiser.Open run = denoiser.open(
                        (frame, dst) -> noise.fill(frame, dst, frameFloats),
                        (w, step, timestep, x, v) -> {
                            if (step == 0) {
                                u.check();
                                audio.of(w);
                            }
                            dit.velocity(w, step, timestep, x, v);
                        },
                        (w, step) -> {
                            if (step == r.steps() - 1) {
                                audio.release(w);
                                dit.release(w);
                                // the next window's audio starts after this one's
                                u.discardBefore((long) (w.index() + 1) * (cfg.windowLatents() - cfg.overlap())
                                        * cfg.temporalStride() * spf);
                            }
                        },
                        (frame, latent) -> {
                            u.check();
                            decoder.decode(latent, rgb -> {
                                long j = emitted[0]++;
                                u.offer(rgb, j, plan.latentFrames() >= 0 && j == plan.frames() - 1);
                            });
                        }, r.lowLatency())) {
                    while (true) {
                        u.check();
                        if (run.step()) {
                            continue;
                        }
                        if (run.isDone()) {
                            return;
                        }
                        planWindows(u, plan, run); // waits for audio when no window can be planned
                    }
                }
            }
        }

        /** Plans the windows the utterance's audio now makes certain, waiting for audio while there are none. */
        private static void planWindows(UtteranceLive.Utterance u, OpenWindowPlan plan, WavefrontDenoiser.Open run) {
            if (plan.latentFrames() >= 0) {
                throw new IllegalStateException("wavefront deadlock: no item ready in a closed layout of "
                        + run.windowCount() + " windows");
            }
            while (true) {
                boolean ended = u.ended();
                long length = u.length(); // once ended, final
                java.util.List<OpenWindowPlan.Planned> added = ended ? plan.finish(length) : plan.advance(length);
                for (OpenWindowPlan.Planned p : added) {
                    run.add(p.window());
                }
                if (ended) {
                    run.finish(plan.latentFrames());
                    return;
                }
                if (!added.isEmpty()) {
                    return;
                }
                u.awaitAudio(length); // more speech, or its end
            }
        }
    }
}
