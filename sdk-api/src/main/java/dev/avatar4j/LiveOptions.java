package dev.avatar4j;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link LiveSession} buffers: what happens to frames a consumer of
 * {@link LiveSession#frames()} or {@link LiveSession#publisher()} does not take in time, how many
 * frames it keeps for such a consumer, how much pushed speech may wait to be shown, and the frame
 * rate ({@link #fps(int)}; the model's by default). Immutable:
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
    /** The highest {@link #fps(int)}: 120. */
    public static final int MAX_FPS = 120;
    /** Default {@link #maxQueuedSpeech()}: 30 seconds. */
    public static final Duration DEFAULT_MAX_QUEUED_SPEECH = Duration.ofSeconds(30);

    private static final LiveOptions DEFAULTS = new LiveOptions(SlowConsumer.DROP_OLDEST, DEFAULT_FRAME_BUFFER,
            DEFAULT_MAX_QUEUED_SPEECH, false, 0);

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
    private final int fps;

    private LiveOptions(SlowConsumer slowConsumer, int frameBuffer, Duration maxQueuedSpeech, boolean lowLatency,
                        int fps) {
        this.slowConsumer = slowConsumer;
        this.frameBuffer = frameBuffer;
        this.maxQueuedSpeech = maxQueuedSpeech;
        this.lowLatency = lowLatency;
        this.fps = fps;
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
        return new LiveOptions(Objects.requireNonNull(policy, "policy"), frameBuffer, maxQueuedSpeech, lowLatency, fps);
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
        return new LiveOptions(slowConsumer, frames, maxQueuedSpeech, lowLatency, fps);
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
        return new LiveOptions(slowConsumer, frameBuffer, max, lowLatency, fps);
    }

    /**
     * Low-latency mode of the diffusion families (the preview family ignores it; default off).
     *
     * <p><b>stableavatar.</b> Off, a session renders each utterance exactly as an offline generation of it:
     * with N steps a frame is final only once the speech has reached N − 1 windows past the frame's
     * window (about 11 s at 4 steps). On, each window runs all its steps before the next one starts,
     * still blending its first frames with the previous window's at every step, but without the later
     * window's values flowing back: frames are final about one window (3.4 s) plus N model calls after
     * their speech, whatever N, and they no longer equal an offline generation's (the result stays
     * deterministic: the same speech gives the same frames however it is pushed).
     *
     * <p><b>longcat-avatar.</b> Off, a session renders each utterance once it has ended, exactly as an
     * offline generation of it (its audio features depend on the whole utterance). On, it streams
     * by segments: the first 93-frame segment runs as soon as 95 frames of speech (3.8 s at 25 fps:
     * the segment's and 2 frames of right context) are in, each continuation segment once 80 frames
     * more are, the last at {@code endOfSpeech()}. The features then follow fixed rules instead of
     * the whole utterance: one loudness gain measured over the utterance's first 93 frames of speech,
     * one audio-encoder chunk per segment holding the speech up to its right context, and the nominal
     * 25 → 50 Hz interpolation scale 2. The frames are deterministic (however the speech is pushed)
     * but differ from an offline generation's, except for an utterance of one segment (at most 93
     * frames, 3.72 s), which is rendered exactly as offline. docs/BEHAVIOUR.md has the details.
     *
     * @param on whether to trade the offline result for latency
     * @return new options
     */
    public LiveOptions lowLatency(boolean on) {
        return new LiveOptions(slowConsumer, frameBuffer, maxQueuedSpeech, on, fps);
    }

    /**
     * The session's frame rate (default: the model's, {@code 0} here). The preview family renders at
     * any rate: its mouth analysis, smoothing, blinks and head motion are all timed in seconds, so
     * a session at 30 fps shows the same motion as one at 25 fps, sampled more often, and each
     * frame's {@link Frame#speech()} span covers {@code 1/fps} seconds of speech. A diffusion model
     * (stableavatar, longcat-avatar) was trained at one frame rate and its frames are tied to it (a
     * window of frames is one model call): {@link Avatar#live(LiveOptions)} refuses another rate for
     * it with an {@link InvalidInputException} that names the model's rate, rather than repeating or
     * dropping frames behind the caller's back (that would make the motion judder and the spans
     * uneven: resample the video where it is shown, if needed). Asking for the model's own rate is
     * always accepted.
     *
     * @param framesPerSecond 1 to 120, or 0 for the model's rate
     * @return new options
     * @throws InvalidInputException if {@code framesPerSecond} is out of range
     */
    public LiveOptions fps(int framesPerSecond) {
        if (framesPerSecond < 0 || framesPerSecond > MAX_FPS) {
            throw new InvalidInputException("fps must be 1.." + MAX_FPS + " (or 0 for the model's rate), got "
                    + framesPerSecond);
        }
        return new LiveOptions(slowConsumer, frameBuffer, maxQueuedSpeech, lowLatency, framesPerSecond);
    }

    /**
     * The frame rate asked for.
     *
     * @return frames per second, or 0 for the model's rate (see {@link #fps(int)})
     */
    public int fps() {
        return fps;
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
                && l.maxQueuedSpeech.equals(maxQueuedSpeech) && l.lowLatency == lowLatency && l.fps == fps;
    }

    @Override
    public int hashCode() {
        return Objects.hash(slowConsumer, frameBuffer, maxQueuedSpeech, lowLatency, fps);
    }

    @Override
    public String toString() {
        return "LiveOptions[" + slowConsumer + ", frameBuffer=" + frameBuffer + ", maxQueuedSpeech="
                + maxQueuedSpeech + (lowLatency ? ", lowLatency" : "") + (fps > 0 ? ", fps=" + fps : "") + "]";
    }
}
