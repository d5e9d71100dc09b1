package dev.avatar4j;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link LiveSession} buffers: what happens to frames a consumer of
 * {@link LiveSession#frames()} or {@link LiveSession#publisher()} does not take in time, how many
 * frames it keeps for such a consumer, and how much pushed speech may wait to be shown. Immutable:
 * every method returns new options.
 *
 * <pre>{@code
 * LiveOptions.defaults().slowConsumer(LiveOptions.SlowConsumer.BACK_PRESSURE).frameBuffer(4)
 * }</pre>
 *
 * <p>Memory stays bounded whatever the consumer and the producer do: at most {@link #frameBuffer()}
 * frames wait for a consumer, and at most {@link #maxQueuedSpeech()} of speech waits to be shown
 * ({@link LiveSession#push} blocks while the queue is full).
 */
public final class LiveOptions {
    /** Default {@link #frameBuffer()}: 8 frames (a third of a second at 25 fps). */
    public static final int DEFAULT_FRAME_BUFFER = 8;
    /** Default {@link #maxQueuedSpeech()}: 30 seconds. */
    public static final Duration DEFAULT_MAX_QUEUED_SPEECH = Duration.ofSeconds(30);

    private static final LiveOptions DEFAULTS = new LiveOptions(SlowConsumer.DROP_OLDEST, DEFAULT_FRAME_BUFFER,
            DEFAULT_MAX_QUEUED_SPEECH, false);

    /** What a live session does when a consumer of its frames falls behind. */
    public enum SlowConsumer {
        /**
         * The session keeps its pace (real time) and drops the oldest frame the consumer has not
         * taken when {@link #frameBuffer()} frames are waiting: the consumer sees a gap in
         * {@link Frame#index()} ({@link LiveSession#droppedFrames()} counts them) and always gets
         * recent frames. For showing a face to a person.
         */
        DROP_OLDEST,
        /**
         * The session waits for the consumer once {@link #frameBuffer()} frames are waiting: no
         * frame is lost, the video clock pauses while it waits (and restarts from then on, without
         * rushing to catch up), and pushed speech queues up to {@link #maxQueuedSpeech()}, after
         * which {@link LiveSession#push} blocks too. For recording or re-encoding every frame.
         * Listeners alone never hold the session back: frames are kept for a consumer only from
         * the moment it opens {@link LiveSession#frames()} or subscribes.
         */
        BACK_PRESSURE
    }

    private final SlowConsumer slowConsumer;
    private final int frameBuffer;
    private final Duration maxQueuedSpeech;
    private final boolean lowLatency;

    private LiveOptions(SlowConsumer slowConsumer, int frameBuffer, Duration maxQueuedSpeech, boolean lowLatency) {
        this.slowConsumer = slowConsumer;
        this.frameBuffer = frameBuffer;
        this.maxQueuedSpeech = maxQueuedSpeech;
        this.lowLatency = lowLatency;
    }

    /**
     * The defaults: {@link SlowConsumer#DROP_OLDEST}, {@value #DEFAULT_FRAME_BUFFER} frames, 30 s of speech.
     *
     * @return the default options
     */
    public static LiveOptions defaults() {
        return DEFAULTS;
    }

    /**
     * What to do with a consumer that falls behind (default {@link SlowConsumer#DROP_OLDEST}).
     *
     * @param policy the policy; not null
     * @return new options
     */
    public LiveOptions slowConsumer(SlowConsumer policy) {
        return new LiveOptions(Objects.requireNonNull(policy, "policy"), frameBuffer, maxQueuedSpeech, lowLatency);
    }

    /**
     * Frames kept for a consumer of {@link LiveSession#frames()} / {@link LiveSession#publisher()}
     * (default {@value #DEFAULT_FRAME_BUFFER}); each holds {@code width * height * 3} bytes.
     * Listeners ({@link Avatar#onFrame}) get every frame as it is made, whatever this is.
     *
     * @param frames 1 to 1024
     * @return new options
     * @throws InvalidInputException if {@code frames} is out of range
     */
    public LiveOptions frameBuffer(int frames) {
        if (frames < 1 || frames > 1024) {
            throw new InvalidInputException("frameBuffer must be 1..1024, got " + frames);
        }
        return new LiveOptions(slowConsumer, frames, maxQueuedSpeech, lowLatency);
    }

    /**
     * The most pushed speech that may wait to be shown (default 30 s); {@link LiveSession#push}
     * blocks while this much is queued, so a producer faster than real time (a TTS engine) is
     * held back instead of filling memory. At 16 kHz a second costs 64 KB.
     *
     * @param max 100 ms to 1 hour
     * @return new options
     * @throws InvalidInputException if {@code max} is out of range
     */
    public LiveOptions maxQueuedSpeech(Duration max) {
        Objects.requireNonNull(max, "max");
        if (max.compareTo(Duration.ofMillis(100)) < 0 || max.compareTo(Duration.ofHours(1)) > 0) {
            throw new InvalidInputException("maxQueuedSpeech must be 100 ms .. 1 h, got " + max);
        }
        return new LiveOptions(slowConsumer, frameBuffer, max, lowLatency);
    }

    /**
     * Low-latency mode of the stableavatar family (the preview and longcat-avatar families ignore it;
     * default off). Off, a session renders each utterance exactly as an offline generation of it:
     * with N steps a frame is final only once the speech has reached N − 1 windows past the frame's
     * window (about 11 s at 4 steps). On, each window runs all its steps before the next one starts,
     * still blending its first frames with the previous window's at every step, but without the later
     * window's values flowing back: frames are final about one window (3.4 s) plus N model calls after
     * their speech, whatever N, and they no longer equal an offline generation's (the result stays
     * deterministic: the same speech gives the same frames however it is pushed).
     *
     * @param on whether to trade the offline result for latency
     * @return new options
     */
    public LiveOptions lowLatency(boolean on) {
        return new LiveOptions(slowConsumer, frameBuffer, maxQueuedSpeech, on);
    }

    /**
     * Whether the low-latency mode is on.
     *
     * @return see {@link #lowLatency(boolean)}
     */
    public boolean lowLatency() {
        return lowLatency;
    }

    /**
     * The slow-consumer policy.
     *
     * @return the policy
     */
    public SlowConsumer slowConsumer() {
        return slowConsumer;
    }

    /**
     * Frames kept for a consumer.
     *
     * @return the capacity in frames
     */
    public int frameBuffer() {
        return frameBuffer;
    }

    /**
     * The speech queue's capacity.
     *
     * @return the longest speech that may wait to be shown
     */
    public Duration maxQueuedSpeech() {
        return maxQueuedSpeech;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LiveOptions l && l.slowConsumer == slowConsumer && l.frameBuffer == frameBuffer
                && l.maxQueuedSpeech.equals(maxQueuedSpeech) && l.lowLatency == lowLatency;
    }

    @Override
    public int hashCode() {
        return Objects.hash(slowConsumer, frameBuffer, maxQueuedSpeech, lowLatency);
    }

    @Override
    public String toString() {
        return "LiveOptions[" + slowConsumer + ", frameBuffer=" + frameBuffer + ", maxQueuedSpeech="
                + maxQueuedSpeech + (lowLatency ? ", lowLatency" : "") + "]";
    }
}
