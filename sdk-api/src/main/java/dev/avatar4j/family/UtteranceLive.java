package dev.avatar4j.family;

import dev.avatar4j.AvatarException;
import dev.avatar4j.Progress;
import dev.avatar4j.SpeechSpan;
import dev.avatar4j.image.ImageOps;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live mode of a family whose model renders speech an utterance at a time and takes longer than a
 * frame period per call (the diffusion families): the model runs on a thread of its own while the
 * session's thread keeps making a frame every frame period. Each frame period the session's thread
 * takes the pushed speech (as much as the model thread may hold), then sends the next frame the model
 * made, or an idle frame when none is ready:
 * <ul>
 *   <li>before the first utterance and after one has been shown, the portrait resized to the output
 *       size (what the model conditions on, so an utterance starts from it), reached from the last
 *       speaking frame by a cross-fade of {@value #FADE_FRAMES} frames;</li>
 *   <li>while an utterance is under way and its next frame is not ready (a model slower than real
 *       time, or waiting for more speech), its last frame, held.</li>
 * </ul>
 * An interrupt drops the utterances taken and the frames not yet sent; the model thread abandons the
 * utterance it renders at its next {@link Utterance#check()} (every model call). The family's
 * {@link Renderer} renders one {@link Utterance} at a time, in order, and hands its frames to
 * {@link Utterance#offer}, which says which speech each shows.
 *
 * <p>Memory: the model thread holds at most {@code audioLimit} samples of speech not yet discarded
 * (the rest waits in the session's speech queue, whose capacity holds a producer back) and at most
 * {@code frameLimit} frames not yet sent.
 */
public final class UtteranceLive {
    private static final Logger log = LoggerFactory.getLogger(UtteranceLive.class);
    /** Idle frames that fade the last speaking frame into the portrait. */
    public static final int FADE_FRAMES = 6;

    /**
     * The model side of a family's live mode, run on the model thread.
     *
     * @param <S> what {@link #open} sets up for the session (closed when the session ends)
     */
    public interface Renderer<S extends AutoCloseable> {
        /**
         * Sets up what every utterance needs (prompt, portrait), once, before the first utterance.
         *
         * @param checkpoint call between model calls: it throws once the session has ended
         * @return the session's state
         */
        S open(Runnable checkpoint);

        /**
         * Renders one utterance, handing each frame to {@link Utterance#offer} in order. Returns when
         * its last frame was offered; may wait for more speech ({@link Utterance#awaitAudio}). Every
         * method of {@code u} throws an exception of the SDK's once the utterance is dropped (an
         * interrupt) or the session ends: let it through, closing what the rendering opened.
         *
         * @param state what {@link #open} returned
         * @param u the utterance
         */
        void render(S state, Utterance u);
    }

    private final LiveRequest r;
    private final int rate;
    private final int samplesPerFrame;
    private final int frameLimit;
    private final long audioLimit;
    private final long maxUtterance;
    private final String name;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Utterance> utterances = new ArrayDeque<>();
    private final ArrayDeque<Ready> ready = new ArrayDeque<>();
    private boolean stopped;
    private volatile Throwable failure;

    /**
     * A session's live loop.
     *
     * @param r            the session
     * @param rate         the model's sample rate
     * @param fps          the model's frame rate (a frame shows {@code rate / fps} samples)
     * @param frameLimit   frames the model thread may make ahead of the ones sent, at least 1
     * @param audioLimit   samples of speech the model thread may hold, at least one frame's
     * @param maxUtterance longest speech rendered as one utterance: longer speech without an end is
     *                     cut there and its rest rendered as the next utterance (a family that renders an
     *                     utterance once it has ended); 0 for no limit (one that renders as speech comes)
     * @param name         the family, for the model thread's name
     */
    public UtteranceLive(LiveRequest r, int rate, int fps, int frameLimit, long audioLimit, long maxUtterance,
                         String name) {
        if (rate % fps != 0 || frameLimit < 1 || audioLimit < rate / fps || maxUtterance < 0
                || (maxUtterance > 0 && maxUtterance > audioLimit)) {
            throw new IllegalArgumentException("bad live limits: rate " + rate + ", fps " + fps + ", frames "
                    + frameLimit + ", audio " + audioLimit + ", utterance " + maxUtterance);
        }
        this.r = r;
        this.rate = rate;
        this.samplesPerFrame = rate / fps;
        this.frameLimit = frameLimit;
        this.audioLimit = audioLimit;
        this.maxUtterance = maxUtterance;
        this.name = name;
    }

    /**
     * Runs the session on the calling thread (the session's) until it is closed, with the model on a
     * thread of its own; a failure of the model thread ends the session with that failure.
     *
     * @param ctx      the session's context
     * @param renderer the family's model side
     * @param <S>      the renderer's session state
     */
    public <S extends AutoCloseable> void run(GenerationContext ctx, Renderer<S> renderer) {
        LiveFeed feed = r.feed();
        byte[] portrait = ImageOps.resize(r.image(), r.width(), r.height()).toRgbArray();
        Thread thread = Thread.ofPlatform().daemon().name("avatar4j-live-" + name).start(() -> model(renderer));
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
                rethrow();
                int now = feed.epoch();
                if (now != epoch) {
                    interrupt(); // barge-in: utterances and unsent frames are dropped
                    epoch = now;
                    midUtterance = false;
                }
                // take pushed speech while the model thread has room for it
                while (wantsAudio()) {
                    long at = feed.position(epoch);
                    int n = feed.read(buf, 0, buf.length, epoch);
                    if (n == LiveFeed.END) {
                        endOfUtterance();
                    } else if (n > 0) {
                        append(buf, n, at);
                    } else {
                        break; // nothing queued, or an interrupt came: the next frame sees it
                    }
                }
                Ready next = poll();
                if (next != null) {
                    ctx.emitFrame(next.rgb(), next.span());
                    last = next.rgb();
                    fade = 0;
                    midUtterance = !next.last();
                    speaking++;
                } else if (midUtterance) {
                    ctx.emitFrame(last.clone(), null); // the model is behind: hold the last frame
                } else {
                    fade = Math.min(FADE_FRAMES, fade + 1);
                    ctx.emitFrame(fade == FADE_FRAMES ? portrait.clone() : crossFade(last, portrait, fade), null);
                }
                frames++;
            }
        } finally {
            stop();
            boolean interrupted = false;
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true; // the model thread ends after its current call
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        rethrow();
        log.debug("{} live: {} frames, {} speaking", name, frames, speaking);
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

    /** A frame and the speech it shows. */
    private record Ready(byte[] rgb, SpeechSpan span, boolean last) {
    }

    /** Thrown on the model thread when the utterance it renders was dropped or the session ended. */
    private static final class Abandoned extends AvatarException {
        Abandoned() {
            super("the live utterance was dropped");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    // ---- the session's thread ---------------------------------------------------------------

    private boolean wantsAudio() {
        lock.lock();
        try {
            long held = 0;
            for (Utterance u : utterances) {
                held += u.length - u.base;
            }
            return held < audioLimit;
        } finally {
            lock.unlock();
        }
    }

    private void append(float[] buf, int n, long position) {
        lock.lock();
        try {
            Utterance u = utterances.peekLast();
            if (u == null || u.ended) {
                u = new Utterance(position);
                utterances.add(u);
            }
            u.append(buf, 0, n);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void endOfUtterance() {
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

    private void interrupt() {
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

    private Ready poll() {
        lock.lock();
        try {
            Ready f = ready.poll();
            if (f != null) {
                changed.signalAll(); // room for the model thread's next frame
            }
            return f;
        } finally {
            lock.unlock();
        }
    }

    private void stop() {
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

    private void rethrow() {
        Throwable t = failure;
        if (t instanceof RuntimeException e) {
            throw e;
        } else if (t instanceof Error e) {
            throw e;
        } else if (t != null) {
            throw new AvatarException("the live " + name + " model thread failed", t);
        }
    }

    // ---- the model thread --------------------------------------------------------------------

    private <S extends AutoCloseable> void model(Renderer<S> renderer) {
        try (S state = renderer.open(this::checkStopped)) {
            while (true) {
                Utterance u = next();
                if (u == null) {
                    return;
                }
                try {
                    renderer.render(state, u);
                } catch (Abandoned e) {
                    log.debug("{} live: utterance at {} abandoned", name, u.start);
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
            // the session ended during the set-up
        } catch (Throwable t) {
            failure = t;
            log.debug("{} live: the model thread failed", name, t);
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

    /**
     * One utterance's speech as the model thread reads it: positions count from its first sample;
     * what it holds is a sliding window of it (see {@link #discardBefore}). All methods are for the
     * model thread, and throw once the utterance was dropped or the session ended.
     */
    public final class Utterance {
        /** The session position of its first sample. */
        private final long start;
        private float[] samples = new float[1 << 14];
        /** Utterance position of samples[0]. */
        private long base;
        /** Samples taken (utterance positions [0, length)). */
        private long length;
        private boolean ended;
        private boolean dropped;

        private Utterance(long start) {
            this.start = start;
        }

        private void append(float[] src, int off, int n) {
            long held = length - base;
            if (held + n > samples.length) {
                samples = Arrays.copyOf(samples, (int) Math.max(held + n, 2L * samples.length));
            }
            System.arraycopy(src, off, samples, (int) held, n);
            length += n;
        }

        /**
         * Throws when the utterance was dropped (an interrupt) or the session ended: call between
         * model calls.
         */
        public void check() {
            lock.lock();
            try {
                checkLocked();
            } finally {
                lock.unlock();
            }
        }

        private void checkLocked() {
            if (dropped || stopped) {
                throw new Abandoned();
            }
        }

        /** {@return the samples taken so far} */
        public long length() {
            lock.lock();
            try {
                checkLocked();
                return length;
            } finally {
                lock.unlock();
            }
        }

        /** {@return whether the utterance has ended (its length is final)} */
        public boolean ended() {
            lock.lock();
            try {
                checkLocked();
                return ended;
            } finally {
                lock.unlock();
            }
        }

        /**
         * Waits until more than {@code known} samples were taken or the utterance has ended; an
         * utterance of a family with a longest utterance is cut (ended) once it reaches it.
         *
         * @param known the length the caller knows
         */
        public void awaitAudio(long known) {
            lock.lock();
            try {
                while (true) {
                    checkLocked();
                    if (!ended && maxUtterance > 0 && length >= maxUtterance) {
                        cut(maxUtterance);
                    }
                    if (ended || length > known) {
                        return;
                    }
                    changed.awaitUninterruptibly(); // more speech, its end, an interrupt or the end of the session
                }
            } finally {
                lock.unlock();
            }
        }

        /** Ends this utterance at {@code at}; the speech after it becomes the next utterance. */
        private void cut(long at) {
            Utterance rest = new Utterance(start + at);
            int from = (int) (at - base);
            rest.append(samples, from, (int) (length - at));
            length = at;
            ended = true;
            boolean head = utterances.peekFirst() == this;
            if (head) {
                utterances.pollFirst();
                utterances.addFirst(rest);
                utterances.addFirst(this);
            } else {
                utterances.addLast(rest); // not rendered yet: cannot happen, the model renders the head
            }
            log.debug("{} live: speech without an end cut at {} samples", name, at);
        }

        /**
         * Reads samples {@code [from, from + len)}; zero past the end (and before what was discarded).
         *
         * @param from utterance position
         * @param dst  where to
         * @param off  first index in dst
         * @param len  samples
         */
        public void read(long from, float[] dst, int off, int len) {
            lock.lock();
            try {
                checkLocked();
                for (int i = 0; i < len; i++) {
                    long p = from + i;
                    dst[off + i] = p >= base && p < length ? samples[(int) (p - base)] : 0f;
                }
            } finally {
                lock.unlock();
            }
        }

        /**
         * Forgets the samples before {@code p}: no later {@link #read} needs them.
         *
         * @param p utterance position
         */
        public void discardBefore(long p) {
            lock.lock();
            try {
                if (p <= base) {
                    return;
                }
                long to = Math.min(p, length);
                int drop = (int) (to - base);
                System.arraycopy(samples, drop, samples, 0, (int) (length - to));
                base = to;
                changed.signalAll(); // room for more speech
            } finally {
                lock.unlock();
            }
        }

        /**
         * Queues frame {@code j} of the utterance for the session's thread, waiting while
         * {@code frameLimit} frames wait. Frame j shows the speech {@code [j, j + 1)} frame periods from
         * the utterance's start; its last frame shows it to its end.
         *
         * @param rgb  the frame
         * @param j    its index in the utterance, from 0, in order
         * @param last whether it is the utterance's last frame
         */
        public void offer(byte[] rgb, long j, boolean last) {
            lock.lock();
            try {
                while (!dropped && !stopped && ready.size() >= frameLimit) {
                    changed.awaitUninterruptibly();
                }
                checkLocked();
                long from = start + j * samplesPerFrame;
                long to = last ? start + length : from + samplesPerFrame;
                ready.add(new Ready(rgb, new SpeechSpan(from, Math.max(from + 1, to), rate), last));
            } finally {
                lock.unlock();
            }
        }
    }
}
