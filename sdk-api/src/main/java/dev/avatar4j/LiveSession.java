package dev.avatar4j;

import java.time.Duration;
import java.util.Iterator;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.stream.Stream;

/**
 * A live talking avatar: speech is pushed while it is spoken (by a text-to-speech engine, a
 * microphone, a call) and frames come out at the model's frame rate (or the rate asked with
 * {@link LiveOptions#fps(int)}, where the model's family allows it), showing that speech within a
 * bounded delay. Started by {@link Avatar#live()}:
 *
 * <pre>{@code
 * try (LiveSession live = Avatar.from(face).onFrame(frame -> screen.show(frame)).live()) {
 *     tts.onAudio(pcm -> live.push(pcm, 24_000));   // any chunk size, any thread
 *     tts.onDone(live::endOfSpeech);                // the end of an answer: its last frames go out now
 *     user.onBargeIn(live::interrupt);              // drop what is queued, listen again
 *     ...
 * }
 * }</pre>
 *
 * <p><b>Frames.</b> A frame is made every {@code 1/fps} seconds, from the start until
 * {@link #close()}, whether or not speech is queued: with speech queued the frame shows the next
 * {@code 1/fps} seconds of it ({@link Frame#speech()} says which samples: consecutive speaking frames
 * show consecutive samples, none skipped, none twice); with none it is an idle frame (the mouth closes
 * with its usual release, the eyes blink, the head moves a little), so the video never stalls. Frames
 * go to the request's {@link Avatar#onFrame listeners} (on the session's thread, as each is made:
 * they must not block), and, from the moment it starts reading, to one consumer of
 * {@link #frames()}, {@link #iterator()} or {@link #publisher()}, through a small buffer whose
 * overflow {@link LiveOptions#slowConsumer} decides.
 * {@link Frame#index()} counts the frames made; {@link Frame#timestamp()} is then the video's clock.
 *
 * <p><b>Latency.</b> A speaking frame is made once its speech and a few tens of milliseconds after it
 * are queued (the analysis looks that far ahead; the preview family: at most 32 ms), at the next
 * frame time. Speech pushed in real time is therefore shown about one frame period plus the
 * look-ahead after it was pushed; speech pushed ahead of time waits its turn in the queue. When the
 * queue runs dry in the middle of an utterance (a producer slower than real time) the session makes
 * idle frames until more speech comes, and the shown speech then runs that much later than pushed.
 * Call {@link #endOfSpeech()} at the end of each utterance so its last fraction of a frame is shown
 * without waiting for more. A diffusion model (stableavatar) shows speech seconds after it is pushed:
 * it renders an utterance window by window, as an offline generation of it would, and a frame is
 * final once the speech has reached the windows it depends on (docs/USER-GUIDE.md, "Live
 * stableavatar"); longcat-avatar renders an utterance once it has ended, or, in its
 * {@link LiveOptions#lowLatency(boolean) low-latency mode}, segment by segment while it is spoken
 * (about 3.8 s plus a segment's model calls after the speech). Until then the session makes idle frames.
 *
 * <p><b>Memory</b> is bounded: at most {@link LiveOptions#maxQueuedSpeech()} of speech is queued
 * ({@link #push} blocks while the queue is full) and at most {@link LiveOptions#frameBuffer()}
 * frames wait for a consumer; the session holds nothing that grows with its length.
 *
 * <p><b>Threads.</b> All methods are thread-safe. The session runs on its own daemon thread, holds
 * its model in use (as a generation does: {@link AvatarModel#close()} waits for it) and ends when
 * {@link #close()} is called, when the consumer of {@link #frames()} closes its stream or cancels its
 * subscription, or when it fails (no face in the image, say): pushes then throw
 * {@link IllegalStateException} with the failure as its cause, the frame iterator throws it, and
 * {@link #await()} reports it.
 */
public final class LiveSession implements AutoCloseable {
    private final SpeechFeed feed;
    private final Generation generation;
    private final FrameBuffer buffer;

    LiveSession(SpeechFeed feed, Generation generation) {
        this.feed = feed;
        this.generation = generation;
        this.buffer = generation.runner().frames();
        // whatever ends the run (close, a failure, a consumer that cancelled) ends the pushes
        generation.runner().result().whenComplete((r, e) -> feed.close(e instanceof GenerationCancelledException
                ? null : e));
    }

    /**
     * Queues speech: mono samples in [-1, 1] at {@code sampleRate} Hz, resampled to the model's
     * rate. Any chunk size (a chunk may even be shorter than a frame); chunks from several threads
     * are queued whole, in the order their calls got in. The array is copied. Blocks while
     * {@link LiveOptions#maxQueuedSpeech()} of speech is queued (back-pressure on a producer faster
     * than real time). The rate may change between pushes (each change is resampled on its own).
     * Do not push from a frame listener: with the queue full it would wait for the very thread that
     * empties it.
     *
     * @param pcm        the samples; not null
     * @param sampleRate their rate in Hz, positive
     * @throws IllegalStateException if the session has ended (closed, or failed: the failure is the cause)
     * @throws InvalidInputException if {@code sampleRate} is not positive
     * @throws AvatarException if the calling thread is interrupted while waiting for room (its
     *                         interrupt status is set; the rest of the chunk was not queued)
     */
    public void push(float[] pcm, int sampleRate) {
        Objects.requireNonNull(pcm, "pcm");
        push(pcm, 0, pcm.length, sampleRate);
    }

    /**
     * Queues {@code length} samples of {@code pcm} from {@code offset}, as {@link #push(float[], int)}.
     *
     * @param pcm        the samples; not null
     * @param offset     the first sample to queue
     * @param length     how many samples
     * @param sampleRate their rate in Hz, positive
     * @throws IndexOutOfBoundsException if the range is outside {@code pcm}
     */
    public void push(float[] pcm, int offset, int length, int sampleRate) {
        Objects.requireNonNull(pcm, "pcm");
        Objects.checkFromIndexSize(offset, length, pcm.length);
        Avatar.checkSampleRate(sampleRate);
        feed.push(pcm, offset, length, sampleRate);
    }

    /**
     * Queues speech as 16-bit signed little-endian mono PCM (what most TTS and telephony APIs
     * stream) at {@code sampleRate} Hz, as {@link #push(float[], int)} queues samples. Any number of
     * bytes: an odd last byte waits for the first byte of the next push.
     *
     * @param pcm        the bytes; not null
     * @param sampleRate their rate in Hz, positive
     */
    public void pushPcm16(byte[] pcm, int sampleRate) {
        Objects.requireNonNull(pcm, "pcm");
        pushPcm16(pcm, 0, pcm.length, sampleRate);
    }

    /**
     * Queues {@code length} bytes of PCM16 from {@code offset}, as {@link #pushPcm16(byte[], int)}.
     *
     * @param pcm        the bytes; not null
     * @param offset     the first byte
     * @param length     how many bytes
     * @param sampleRate their rate in Hz, positive
     * @throws IndexOutOfBoundsException if the range is outside {@code pcm}
     */
    public void pushPcm16(byte[] pcm, int offset, int length, int sampleRate) {
        Objects.requireNonNull(pcm, "pcm");
        Objects.checkFromIndexSize(offset, length, pcm.length);
        Avatar.checkSampleRate(sampleRate);
        feed.pushPcm16(pcm, offset, length, sampleRate);
    }

    /**
     * Marks the end of an utterance: the speech pushed so far is shown to its last sample without
     * waiting for more (its last frame may show less than a frame period of speech), and the next
     * push starts a new utterance. Cheap; calling it with nothing queued does nothing visible.
     *
     * @throws IllegalStateException if the session has ended
     */
    public void endOfSpeech() {
        feed.endOfSpeech();
    }

    /**
     * Barge-in: drops all queued speech (and the part of a push that is waiting for room), so the
     * avatar stops speaking: the frame being made when this is called is the last speaking one and
     * the next, at most one frame period later, is idle. Speech pushed afterwards is a new
     * utterance. Frames already made and waiting in a consumer's buffer are still delivered.
     *
     * @throws IllegalStateException if the session has ended
     */
    public void interrupt() {
        feed.interrupt();
    }

    /**
     * The speech queued and not yet shown (nor being analysed for the next frame). A diffusion model
     * takes speech from the queue as its windows need it (a stableavatar session: up to about 13 s
     * ahead of what it has shown), so that speech is no longer counted here.
     *
     * @return its duration
     */
    public Duration queuedSpeech() {
        return feed.queued();
    }

    /**
     * Frames the {@link #frames()} / {@link #publisher()} consumer did not take in time and that were
     * dropped ({@link LiveOptions.SlowConsumer#DROP_OLDEST}). Frames made before a consumer opened
     * the frames are not kept for it, and not counted.
     *
     * @return the count since the session started
     */
    public long droppedFrames() {
        return buffer.dropped();
    }

    /**
     * The frames made from now on, as an iterator: a live stream is joined while it runs, so frames
     * made before this call went to the listeners only. {@code hasNext()} blocks until the next frame
     * is made and returns false once the session has been closed. Can be called once (and excludes
     * {@link #frames()} and {@link #publisher()}).
     *
     * @return the iterator; it throws the session's {@link AvatarException} if the session fails
     * @throws IllegalStateException if the frames were iterated before
     */
    public Iterator<Frame> iterator() {
        return generation.iterator();
    }

    /**
     * The frames as a sequential stream over {@link #iterator()}. Closing the stream ends the session.
     *
     * @return an ordered stream that ends when the session is closed
     * @throws IllegalStateException if the frames were iterated before
     */
    public Stream<Frame> frames() {
        return generation.frames();
    }

    /**
     * The frames as a {@link Flow.Publisher} honouring demand, exactly as {@link Generation#publisher()}:
     * one subscriber, signals from a delivery thread of the SDK, {@code onComplete} after
     * {@link #close()}, {@code onError} when the session fails. While demand is 0, frames wait in the
     * buffer and {@link LiveOptions#slowConsumer} decides what happens when it is full. Cancelling
     * the subscription ends the session.
     *
     * @return the publisher of this session's frames
     */
    public Flow.Publisher<Frame> publisher() {
        return generation.publisher();
    }

    /**
     * Whether the session still takes speech.
     *
     * @return false once it was closed or has failed
     */
    public boolean isOpen() {
        return !feed.isClosed();
    }

    /**
     * Waits until the session has ended — after {@link #close()} (from another thread), after its
     * consumer ended it, or on a failure — and says how it went. Interrupting the waiting thread ends
     * the session.
     *
     * @return the frames made, their size and rate, how long the session ran
     * @throws AvatarException (one of its subtypes) if the session failed, or
     *                         {@link GenerationCancelledException} if its consumer ended it
     */
    public RenderResult await() {
        return generation.await();
    }

    /**
     * Ends the session and releases everything: speech still queued is dropped, the frame being made is
     * the last, consumers see the end of the frames, the session's thread ends and the model is no
     * longer in use. Waits for that (about one frame's work); called on the session's own thread (from a
     * listener) it does not wait. Idempotent; never throws.
     */
    @Override
    public void close() {
        feed.close(null);
        buffer.release();
        if (feed.isSessionThread()) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                generation.runner().result().get();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // finish waiting: the session stops within a frame
            } catch (ExecutionException e) {
                break; // reported by await() and the frame iterator
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "LiveSession[" + (isOpen() ? "open" : "ended") + ", queued " + queuedSpeech().toMillis() + " ms]";
    }
}
