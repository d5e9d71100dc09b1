package dev.avatar4j.family.stableavatar;

import dev.avatar4j.AvatarException;
import dev.avatar4j.Progress;
import dev.avatar4j.SpeechSpan;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationPlan;
import dev.avatar4j.family.LiveFeed;
import dev.avatar4j.family.LiveRequest;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.family.StreamingVaeDecoder;
import dev.avatar4j.image.ImageOps;
import dev.avatar4j.sampling.Guidance;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.TensorScope;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * <p><b>Threads.</b> The model runs on a worker thread of the session; the session's thread only
 * paces the frames: each frame period it takes the pushed speech (as much as the worker may hold) and
 * sends the next final frame, or an idle frame when none is ready. So the video never stalls, however
 * long a model call takes; a worker slower than real time shows as idle frames in the middle of an
 * utterance (the last frame held) and a growing delay.
 *
 * <p><b>Idle frames.</b> Before the first utterance, and after one has been shown, the session shows
 * the portrait as the model sees it (resized to the output size, which is also what an utterance's
 * first frame starts from), reached from the last speaking frame by a cross-fade of
 * {@value #FADE_FRAMES} frames. While an utterance is under way but its next frame is not final yet,
 * its last frame is held. {@link dev.avatar4j.LiveSession#interrupt()} drops the utterances queued and
 * the frames not yet sent (the worker abandons the one it is on after its current model call) and the
 * next frame is idle.
 *
 * <p><b>Low latency.</b> With {@link LiveRequest#lowLatency()} each window runs all its steps before
 * the next one starts ({@link WavefrontDenoiser#open(InitialLatents, WindowVelocity, StepListener,
 * FinalFrameSink, boolean)}): frames are final one window after their speech instead of N − 1 windows
 * later, and no longer equal the offline ones.
 *
 * <p><b>Memory.</b> The worker holds at most {@link #audioLimit()} samples of speech not yet rendered
 * (the rest waits in the session's queue, whose capacity holds a producer back), its wavefront's
 * latents (bounded as offline), and at most {@link #frameLimit()} decoded frames waiting to be sent.
 */
final class StableAvatarLive implements FamilyEngine<LiveRequest> {
    private static final Logger log = LoggerFactory.getLogger(StableAvatarLive.class);
    /** Idle frames that fade the last speaking frame into the portrait. */
    static final int FADE_FRAMES = 6;

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
        LiveFeed feed = r.feed();
        byte[] portrait = ImageOps.resize(r.image(), r.width(), r.height()).toRgbArray();
        Worker worker = new Worker(r);
        Thread thread = Thread.ofPlatform().daemon().name("avatar4j-live-stableavatar").start(worker::run);
        ctx.activity("live");
        ctx.advance(Progress.Stage.DECODING, 0);
        float[] buf = new float[4096];
        byte[] last = portrait; // the last frame sent
        boolean midUtterance = false; // the last frame sent was not its utterance's last
        int fade = FADE_FRAMES; // idle frames since the last speaking one (FADE_FRAMES: the portrait)
        long frames = 0;
        long speaking = 0;
        try {
            int epoch = feed.epoch();
            while (feed.awaitFrame(ctx::checkpoint)) {
                worker.rethrow();
                int now = feed.epoch();
                if (now != epoch) {
                    worker.interrupt(); // barge-in: utterances and unsent frames are dropped
                    epoch = now;
                    midUtterance = false;
                }
                // take pushed speech while the worker has room for it
                while (worker.wantsAudio()) {
                    long at = feed.position(epoch);
                    int n = feed.read(buf, 0, buf.length, epoch);
                    if (n == LiveFeed.END) {
                        worker.endOfUtterance();
                    } else if (n > 0) {
                        worker.append(buf, n, at);
                    } else {
                        break; // nothing queued, or an interrupt came: the next frame sees it
                    }
                }
                Ready next = worker.poll();
                if (next != null) {
                    ctx.emitFrame(next.rgb(), next.span());
                    last = next.rgb();
                    fade = 0;
                    midUtterance = !next.last();
                    speaking++;
                } else if (midUtterance) {
                    ctx.emitFrame(last.clone(), null); // the worker is behind: hold the last frame
                } else {
                    fade = Math.min(FADE_FRAMES, fade + 1);
                    ctx.emitFrame(fade == FADE_FRAMES ? portrait.clone() : crossFade(last, portrait, fade), null);
                }
                frames++;
            }
        } finally {
            worker.stop();
            boolean interrupted = false;
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true; // the worker ends after its current model call
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        worker.rethrow();
        log.debug("stableavatar live: {} frames, {} speaking", frames, speaking);
    }

    /** {@code from} faded into {@code to} by {@code i}/{@link #FADE_FRAMES}. */
    static byte[] crossFade(byte[] from, byte[] to, int i) {
        byte[] out = new byte[from.length];
        int a = i * 256 / FADE_FRAMES;
        for (int p = 0; p < out.length; p++) {
            int f = from[p] & 0xFF;
            int t = to[p] & 0xFF;
            out[p] = (byte) (f + ((t - f) * a >> 8));
        }
        return out;
    }

    @Override
    public void close() {
        // a view: the stableavatar engine owns the sessions
    }

    /** A final frame and the speech it shows. */
    record Ready(byte[] rgb, SpeechSpan span, boolean last) {
    }

    /** Thrown inside the worker when the utterance it renders was dropped or the session ended. */
    private static final class Abandoned extends RuntimeException {
        Abandoned() {
            super("abandoned", null, false, false);
        }
    }

    /** An utterance's speech as the worker reads it: a sliding buffer, positions from its start. */
    static final class Utterance {
        /** The session position of its first sample. */
        final long start;
        float[] samples = new float[1 << 14];
        /** Utterance position of samples[0]. */
        long base;
        /** Samples appended (utterance positions [0, length)). */
        long length;
        boolean ended;
        boolean dropped;

        Utterance(long start) {
            this.start = start;
        }

        void append(float[] src, int n) {
            long held = length - base;
            if (held + n > samples.length) {
                samples = java.util.Arrays.copyOf(samples, (int) Math.max(held + n, 2L * samples.length));
            }
            System.arraycopy(src, 0, samples, (int) held, n);
            length += n;
        }

        /** Samples [from, from + len) into dst; zero past the end (and, never read, before the base). */
        void read(long from, float[] dst, int off, int len) {
            for (int i = 0; i < len; i++) {
                long p = from + i;
                dst[off + i] = p >= base && p < length ? samples[(int) (p - base)] : 0f;
            }
        }

        /** Forgets the samples before {@code p}. */
        void discardBefore(long p) {
            if (p <= base) {
                return;
            }
            long to = Math.min(p, length);
            int drop = (int) (to - base);
            System.arraycopy(samples, drop, samples, 0, (int) (length - to));
            base = to;
        }

        long held() {
            return length - base;
        }
    }

    /**
     * The model side of a session: set up once (prompt, portrait conditioning), then renders the
     * utterances in order. Shared state is guarded by {@link #lock}; the model runs without it.
     */
    private final class Worker {
        private final LiveRequest r;
        private final StableAvatarConfig cfg = engine.config();
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private final ArrayDeque<Utterance> utterances = new ArrayDeque<>();
        private final ArrayDeque<Ready> ready = new ArrayDeque<>();
        private boolean stopped;
        private volatile Throwable failure;

        Worker(LiveRequest r) {
            this.r = r;
        }

        // ---- the session's thread ----------------------------------------------------------

        boolean wantsAudio() {
            lock.lock();
            try {
                long held = 0;
                for (Utterance u : utterances) {
                    held += u.held();
                }
                return held < audioLimit();
            } finally {
                lock.unlock();
            }
        }

        void append(float[] buf, int n, long position) {
            lock.lock();
            try {
                Utterance u = utterances.peekLast();
                if (u == null || u.ended) {
                    u = new Utterance(position);
                    utterances.add(u);
                }
                u.append(buf, n);
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        void endOfUtterance() {
            lock.lock();
            try {
                Utterance u = utterances.peekLast();
                if (u != null && !u.ended) {
                    u.ended = true;
                    changed.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }

        void interrupt() {
            lock.lock();
            try {
                for (Utterance u : utterances) {
                    u.dropped = true;
                }
                utterances.clear();
                ready.clear();
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        Ready poll() {
            lock.lock();
            try {
                Ready f = ready.poll();
                if (f != null) {
                    changed.signalAll(); // room for the worker's next frame
                }
                return f;
            } finally {
                lock.unlock();
            }
        }

        void stop() {
            lock.lock();
            try {
                stopped = true;
                for (Utterance u : utterances) {
                    u.dropped = true;
                }
                changed.signalAll();
            } finally {
                lock.unlock();
            }
        }

        void rethrow() {
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            } else if (t instanceof Error e) {
                throw e;
            } else if (t != null) {
                throw new AvatarException("the live stableavatar worker failed", t);
            }
        }

        // ---- the worker's thread -----------------------------------------------------------

        void run() {
            try (TensorScope session = TensorScope.open()) {
                Tensor positive = engine.text().positive(r.prompt(), session);
                ImageConditioning image = ImageConditioning.compute(session, engine.graphs(), cfg, r.image(), r.width(),
                        r.height(), cfg.windowLatents(), this::checkStopped);
                while (true) {
                    Utterance u = next();
                    if (u == null) {
                        return;
                    }
                    try {
                        render(u, session, positive, image);
                    } catch (Abandoned e) {
                        log.debug("live utterance at {} abandoned", u.start);
                    } finally {
                        lock.lock();
                        try {
                            if (utterances.peek() == u) {
                                utterances.poll();
                            }
                            changed.signalAll();
                        } finally {
                            lock.unlock();
                        }
                    }
                }
            } catch (Abandoned e) {
                // stopped during the set-up
            } catch (Throwable t) {
                failure = t;
                log.debug("live stableavatar worker failed", t);
            }
        }

        private void checkStopped() {
            lock.lock();
            try {
                if (stopped) {
                    throw new Abandoned();
                }
            } finally {
                lock.unlock();
            }
        }

        /** The utterance to render next (the oldest), waiting for one; null once stopped. */
        private Utterance next() {
            lock.lock();
            try {
                while (!stopped && utterances.isEmpty()) {
                    changed.awaitUninterruptibly();
                }
                return stopped ? null : utterances.peek();
            } finally {
                lock.unlock();
            }
        }

        /** Throws {@link Abandoned} when {@code u} was dropped (an interrupt) or the session ended. */
        private void check(Utterance u) {
            lock.lock();
            try {
                if (u.dropped || stopped) {
                    throw new Abandoned();
                }
            } finally {
                lock.unlock();
            }
        }

        /** One utterance, as the offline engine renders its audio. */
        private void render(Utterance u, TensorScope session, Tensor positive, ImageConditioning image) {
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
            int rate = cfg.sampleRate();
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
                    check(u);
                }
            };
            try (TensorScope scope = session.newSubScope()) {
                DeviceScope device = scope.attach(engine.backend().openDeviceScope());
                WindowAudio audio = new WindowAudio(scope, graphs.audioEncoder, cfg, (from, dst, off, len) -> {
                    lock.lock();
                    try {
                        u.read(from, dst, off, len);
                    } finally {
                        lock.unlock();
                    }
                }, k -> plan.get(k).audio());
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
                                check(u);
                                audio.of(w);
                            }
                            dit.velocity(w, step, timestep, x, v);
                        },
                        (w, step) -> {
                            if (step == r.steps() - 1) {
                                audio.release(w);
                                dit.release(w);
                                lock.lock();
                                try { // the next window's audio starts after this one's
                                    u.discardBefore((long) (w.index() + 1) * (cfg.windowLatents() - cfg.overlap())
                                            * cfg.temporalStride() * spf);
                                } finally {
                                    lock.unlock();
                                }
                            }
                        },
                        (frame, latent) -> {
                            check(u);
                            decoder.decode(latent, rgb -> offer(u, rgb, emitted[0]++, plan, spf, rate));
                        }, r.lowLatency())) {
                    while (true) {
                        check(u);
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
        private void planWindows(Utterance u, OpenWindowPlan plan, WavefrontDenoiser.Open run) {
            if (plan.latentFrames() >= 0) {
                throw new IllegalStateException("wavefront deadlock: no item ready in a closed layout of "
                        + run.windowCount() + " windows");
            }
            lock.lock();
            try {
                while (true) {
                    if (u.dropped || stopped) {
                        throw new Abandoned();
                    }
                    java.util.List<OpenWindowPlan.Planned> added;
                    if (u.ended) {
                        added = plan.finish(u.length);
                    } else {
                        added = plan.advance(u.length);
                    }
                    for (OpenWindowPlan.Planned p : added) {
                        run.add(p.window());
                    }
                    if (u.ended) {
                        run.finish(plan.latentFrames());
                        return;
                    }
                    if (!added.isEmpty()) {
                        return;
                    }
                    changed.awaitUninterruptibly(); // more speech, its end, an interrupt or the end of the session
                }
            } finally {
                lock.unlock();
            }
        }

        /** Queues decoded frame {@code j} of {@code u} for the session's thread, waiting for room. */
        private void offer(Utterance u, byte[] rgb, long j, OpenWindowPlan plan, int spf, int rate) {
            lock.lock();
            try {
                while (!u.dropped && !stopped && ready.size() >= frameLimit()) {
                    changed.awaitUninterruptibly();
                }
                if (u.dropped || stopped) {
                    throw new Abandoned();
                }
                long from = u.start + j * spf;
                // the last frame shows the utterance's speech to its end (frames cover whole frame periods)
                boolean last = plan.latentFrames() >= 0 && j == plan.frames() - 1;
                long to = last ? u.start + u.length : from + spf;
                ready.add(new Ready(rgb, new SpeechSpan(from, to, rate), last));
            } finally {
                lock.unlock();
            }
        }
    }
}
