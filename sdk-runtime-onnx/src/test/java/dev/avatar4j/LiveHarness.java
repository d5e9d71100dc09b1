package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A live session (on the committed preview bundle, or the model given) paced by a clock the test moves: frame 0 is made
 * at once, each {@link #step()} moves the clock one frame period and returns the frame that made
 * due. Frames are taken from a listener, so what a frame shows depends only on what the test did
 * before the step, never on how fast the machine is.
 */
final class LiveHarness implements AutoCloseable {
    static final Path BUNDLE = Path.of("..", "models", "preview");
    static final Path PORTRAIT = Path.of("..", "examples", "media", "portrait.png");
    static final Path SPEECH = Path.of("..", "examples", "media", "hello.wav");
    static final int RATE = 16_000;
    static final long PERIOD = 40_000_000L; // 25 fps
    static final int SIZE = 128;

    final AtomicLong now = new AtomicLong(5_000_000_000L);
    /** The frame period the clock moves by: {@link #PERIOD}, or that of {@link LiveOptions#fps()} when set. */
    final long period;
    /** The deadline the session's thread last waited for on the clock. */
    private final AtomicLong waitingFor = new AtomicLong(Long.MIN_VALUE);
    final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    final LiveSession session;

    LiveHarness(AvatarModel model, RgbImage image, LiveOptions options, long seed) {
        this(model, image, options, seed, 0);
    }

    /** A session with {@code steps} denoising steps (0: the model's default). */
    LiveHarness(AvatarModel model, RgbImage image, LiveOptions options, long seed, int steps) {
        period = options.fps() > 0 ? Math.ceilDiv(1_000_000_000L, options.fps()) : PERIOD; // never short of a due time
        Avatar request = Avatar.from(image).model(model).size(SIZE, SIZE).seed(seed).onFrame(frames::add);
        session = (steps > 0 ? request.steps(steps) : request)
                .live(options, new LiveClock() {
                    @Override
                    public long nanoTime() {
                        return now.get();
                    }

                    @Override
                    public void await(java.util.concurrent.locks.Condition c, long deadline)
                            throws InterruptedException {
                        waitingFor.set(deadline);
                        if (now.get() < deadline) {
                            c.await(1, TimeUnit.MILLISECONDS);
                        }
                    }
                });
    }

    /**
     * Waits until the session's thread is done with the frames due so far (listeners, frame buffer)
     * and waits on the clock for the next one: a listener sees a frame before the frame buffer does,
     * so a test that opens the iterator right after a frame reached the listener would race with it.
     */
    void settle() {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (waitingFor.get() <= now.get()) {
            assertThat(System.nanoTime()).as("the session waits for its next frame within a minute")
                    .isLessThan(deadline);
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    static RgbImage portrait() {
        return MediaRegistry.global().readImage(PORTRAIT);
    }

    /** The first {@code seconds} of hello.wav at 16 kHz. */
    static float[] speech(double seconds) {
        AudioClip c = MediaRegistry.global().readAudio(SPEECH, RATE);
        return java.util.Arrays.copyOf(c.samples(), (int) Math.min(c.samples().length, seconds * RATE));
    }

    /** The next frame the listener got (waiting for it). */
    Frame next() {
        try {
            Frame f = frames.poll(60, TimeUnit.SECONDS);
            assertThat(f).as("a frame within a minute").isNotNull();
            return f;
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /** Moves the clock one frame period and returns the frame that became due. */
    Frame step() {
        now.addAndGet(period);
        return next();
    }

    @Override
    public void close() {
        session.close();
    }
}
