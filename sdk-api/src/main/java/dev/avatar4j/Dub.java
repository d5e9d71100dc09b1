package dev.avatar4j;

import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.VideoSpec;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A dubbing request: an existing talking-head video, new speech, and options. The mouth region of
 * the face in every frame is regenerated to match the speech (LatentSync family); everything outside
 * the face crop is left as it was. Immutable — every method returns a new request.
 *
 * <pre>{@code
 * try (AvatarModel model = AvatarModel.load(Path.of("models/latentsync"))) {
 *     Generation dub = Avatar.dub(Path.of("talk.mp4"))
 *           .speak(Path.of("new-speech.wav"))
 *           .model(model)
 *           .noFace(NoFace.PASSTHROUGH)
 *           .onProgress(p -> bar.show(p.fraction()))
 *           .start(Path.of("dubbed.mp4"));
 *     dub.await();              // or dub.cancel(), dub.frames(), dub.toFuture()
 * }
 * }</pre>
 *
 * <p>A dub runs like a portrait generation, through the same runner: {@link #start()} and its
 * variants return a {@link Generation} (progress, {@link Generation#cancel() cancel}, await, future,
 * {@link Generation#frames() frames} and {@link Generation#publisher() publisher}) and run on a daemon
 * thread; {@code render} waits for it. Listeners run on that thread, and a listener that throws fails
 * the dub, as for {@link Avatar}.
 *
 * <p>The output has the input video's resolution and the speech's duration (25 fps): a shorter
 * video is played forward and backward until the speech ends, a longer one is cut. Frames are
 * rendered in chunks of the model's chunk size (16) and written as each chunk finishes. The video is
 * decoded on demand, twice (faces first, then frames), so that a long input is never held whole; a
 * video shorter than the speech is kept in a temporary file for its backward plays (deleted when
 * done).
 * Without {@link #model(AvatarModel)} the {@link AvatarModel#defaultModel() default model} is used,
 * which must then be a {@code latentsync} bundle.
 */
public final class Dub {
    final Path video;
    final Path audioPath;
    final AudioClip audio;
    final AvatarModel model;
    final Integer steps;
    final Double guidance;
    final Long seed;
    final NoFace noFace;
    final List<FrameListener> frameListeners;
    final List<ProgressListener> progressListeners;
    final int quality;
    final long bitrate;
    final int frameBuffer;
    final boolean posteriorMean;

    private Dub(Path video, Path audioPath, AudioClip audio, AvatarModel model, Integer steps, Double guidance,
                Long seed, NoFace noFace, List<FrameListener> frameListeners, List<ProgressListener> progressListeners,
                int quality, long bitrate, int frameBuffer, boolean posteriorMean) {
        this.frameBuffer = frameBuffer;
        this.posteriorMean = posteriorMean;
        this.quality = quality;
        this.bitrate = bitrate;
        this.video = video;
        this.audioPath = audioPath;
        this.audio = audio;
        this.model = model;
        this.steps = steps;
        this.guidance = guidance;
        this.seed = seed;
        this.noFace = noFace;
        this.frameListeners = List.copyOf(frameListeners);
        this.progressListeners = List.copyOf(progressListeners);
    }

    static Dub of(Path video) {
        return new Dub(Objects.requireNonNull(video, "video"), null, null, null, null, null, null, NoFace.FAIL, List.of(), List.of(), 0, 0, Avatar.DEFAULT_FRAME_BUFFER, false);
    }

    /**
     * The new speech, from a file (WAV; any format FFmpeg reads with {@code sdk-media}), replacing
     * any speech given before. The file is read when rendering starts; its duration sets the
     * output's.
     *
     * @param audio path of the speech; not null
     * @return a new request with this speech
     * @throws NullPointerException if {@code audio} is null
     */
    public Dub speak(Path audio) {
        return new Dub(video, Objects.requireNonNull(audio, "audio"), null, model, steps, guidance, seed, noFace,
                frameListeners, progressListeners, quality, bitrate, frameBuffer, posteriorMean);
    }

    /**
     * The new speech as mono samples in [−1, 1] at {@code sampleRate} Hz (resampled to the model's
     * rate when rendering starts), replacing any speech given before. The array is copied.
     *
     * @param samples mono PCM samples in [−1, 1]; not null
     * @param sampleRate their sample rate in Hz, positive
     * @return a new request with this speech
     * @throws NullPointerException if {@code samples} is null
     * @throws InvalidInputException if {@code sampleRate} is not positive
     */
    public Dub speak(float[] samples, int sampleRate) {
        Objects.requireNonNull(samples, "samples");
        Avatar.checkSampleRate(sampleRate);
        return new Dub(video, null, new AudioClip(samples.clone(), sampleRate), model, steps, guidance, seed, noFace,
                frameListeners, progressListeners, quality, bitrate, frameBuffer, posteriorMean);
    }

    /**
     * The {@code latentsync} model to dub with (checked when rendering starts). The model is
     * shared, not owned: closing it stays the caller's job.
     *
     * @param model a loaded {@code latentsync} model; not null
     * @return a new request using {@code model}
     * @throws NullPointerException if {@code model} is null
     */
    public Dub model(AvatarModel model) {
        return new Dub(video, audioPath, audio, Objects.requireNonNull(model, "model"), steps, guidance, seed, noFace,
                frameListeners, progressListeners, quality, bitrate, frameBuffer, posteriorMean);
    }

    /**
     * DDIM steps (default: the bundle's, 20). Time grows linearly with the steps.
     *
     * @param steps number of denoising steps, 1..1000
     * @return a new request with the steps set
     * @throws InvalidInputException if not in 1..1000
     */
    public Dub steps(int steps) {
        if (steps < 1 || steps > 1000) {
            throw new InvalidInputException("steps must be in 1..1000, got " + steps);
        }
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners, progressListeners, quality, bitrate, frameBuffer, posteriorMean);
    }

    /**
     * Classifier-free guidance scale with silence (zero audio features) as the unconditional branch
     * (default: the bundle's, 1.5; 1 turns guidance off and halves the work).
     *
     * @param scale the guidance scale, finite and greater than 0
     * @return a new request with the scale set
     * @throws InvalidInputException if not finite and positive
     */
    public Dub guidance(double scale) {
        if (!(scale > 0) || !Double.isFinite(scale)) {
            throw new InvalidInputException("guidance must be finite and positive, got " + scale);
        }
        return new Dub(video, audioPath, audio, model, steps, scale, seed, noFace, frameListeners, progressListeners, quality, bitrate, frameBuffer, posteriorMean);
    }

    /**
     * Seed of the one noise frame all frames start from; the same seed, inputs, options, model and
     * backend give the same video. Default: a random seed per render (reported in
     * {@link RenderResult#seed()}).
     *
     * @param seed any value
     * @return a new request with the seed set
     */
    public Dub seed(long seed) {
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners, progressListeners, quality, bitrate, frameBuffer, posteriorMean);
    }

    /**
     * What to do with frames in which no face is found (default {@link NoFace#FAIL}).
     *
     * @param policy the policy; not null
     * @return a new request with the policy set
     * @throws NullPointerException if {@code policy} is null
     */
    public Dub noFace(NoFace policy) {
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, Objects.requireNonNull(policy, "policy"),
                frameListeners, progressListeners, quality, bitrate, frameBuffer, posteriorMean);
    }

    /**
     * Also calls {@code listener} with every output frame, in order, as soon as it is final, on the
     * dub's thread (a slow listener slows the dub). An exception thrown by the listener fails the dub
     * with an {@link AvatarException} naming the frame.
     *
     * @param listener the listener; not null
     * @return a new request with the listener added
     * @throws NullPointerException if {@code listener} is null
     */
    public Dub onFrame(FrameListener listener) {
        List<FrameListener> l = new ArrayList<>(frameListeners);
        l.add(Objects.requireNonNull(listener, "listener"));
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, l, progressListeners, quality,
                bitrate, frameBuffer, posteriorMean);
    }

    /**
     * Also calls {@code listener} with progress updates on the dub's thread, the same
     * {@link Progress} as portrait generation: {@link Progress.Stage#PREPARING} while the speech is
     * encoded and the faces are located (frames total known from the start), then
     * {@link Progress.Stage#DENOISING} after every DDIM step of a chunk and
     * {@link Progress.Stage#DECODING} after its faces are decoded (work = UNet passes plus decoded
     * faces, known once the faces are located), {@link Progress.Stage#FINISHING} once every frame is
     * out and {@link Progress.Stage#DONE} when the output is complete. An exception thrown by the
     * listener fails the dub.
     *
     * @param listener the listener; not null
     * @return a new request with the listener added
     * @throws NullPointerException if {@code listener} is null
     */
    public Dub onProgress(ProgressListener listener) {
        List<ProgressListener> l = new ArrayList<>(progressListeners);
        l.add(Objects.requireNonNull(listener, "listener"));
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners, l, quality,
                bitrate, frameBuffer, posteriorMean);
    }

    /**
     * Frames kept for {@link Generation#frames()} before the oldest are dropped, as
     * {@link Avatar#frameBuffer(int)} (default {@value Avatar#DEFAULT_FRAME_BUFFER}). Each frame holds
     * {@code width * height * 3} bytes of the video's size.
     *
     * @param frames buffer capacity in frames, at least 1
     * @return a new request with the buffer size set
     * @throws InvalidInputException if {@code frames} is less than 1
     */
    public Dub frameBuffer(int frames) {
        if (frames < 1) {
            throw new InvalidInputException("frameBuffer must be >= 1, got " + frames);
        }
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners,
                progressListeners, quality, bitrate, frames, posteriorMean);
    }

    /**
     * Whether the faces' VAE latents are the posterior mean instead of a sample. The reference
     * (LatentSync's pipeline) samples {@code mean + std · noise}; a bundle whose {@code vae-encoder}
     * returns the posterior's {@code std} is sampled the same way, with noise drawn from the
     * {@link #seed(long) seed} (so a dub stays reproducible from its seed). {@code true} uses the mean,
     * as bundles without a {@code std} output always do: slightly smoother, and independent of the
     * seed apart from the initial noise. Default {@code false}.
     *
     * @param mean {@code true} for the posterior mean, {@code false} to sample (the reference's)
     * @return a new request with the choice set
     */
    public Dub posteriorMean(boolean mean) {
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners,
                progressListeners, quality, bitrate, frameBuffer, mean);
    }

    /**
     * Dubs and writes an MP4 (H.264 + AAC, the new speech muxed in) to {@code out}, blocking until
     * done: {@link #start(Path)} then {@link Generation#await()}. The extension chooses the container
     * as for {@link Avatar#render(Path)}. The file appears only when complete; on failure nothing is
     * left. Needs {@code sdk-media}.
     *
     * @param out the video file to write; not null
     * @return what was produced: {@link RenderResult#output()} holds {@code out} as an absolute path
     * @throws InvalidInputException for unreadable inputs, or a frame without a face under {@link NoFace#FAIL}
     *         (the message names the frame index)
     * @throws BundleException if the model is not a {@code latentsync} bundle
     * @throws BackendException if inference fails
     * @throws GenerationCancelledException if the thread is interrupted
     * @throws InvalidInputException if {@code out} is the input video or speech file (also through a
     *         link): it would be replaced
     */
    public RenderResult render(Path out) {
        return launchVideo(out, 1).await(); // nobody can iterate: keep no frames for frames()
    }

    /**
     * Starts dubbing to the video file {@code out} in the background, as {@link #render(Path)} does
     * in the foreground. The dub runs on a daemon thread: call {@link Generation#await()} before
     * {@code main} returns, or the JVM exits and {@code out} is never written.
     *
     * @param out the video file to write; not null
     * @return the running dub, to await, cancel, or read frames from
     * @throws InvalidInputException if {@code out} is the input video or speech file, or the request
     *                               has no speech
     */
    public Generation start(Path out) {
        return launchVideo(out, frameBuffer);
    }

    private Generation launchVideo(Path out, int buffer) {
        Objects.requireNonNull(out, "out");
        Avatar.refuseOverwritingInputs(out, java.util.Arrays.asList(video, audioPath));
        return launch(new GenerationRunner.Output.File(out.toAbsolutePath()), buffer);
    }

    /**
     * The video quality of {@link #render(Path)}, on a CRF-like scale: {@value VideoSpec#MIN_QUALITY}
     * (best) to {@value VideoSpec#MAX_QUALITY} (smallest file), {@value VideoSpec#DEFAULT_QUALITY}
     * by default (see {@link VideoSpec#quality()}).
     *
     * @param quality 1..51
     * @return the new request
     */
    public Dub quality(int quality) {
        if (quality < VideoSpec.MIN_QUALITY || quality > VideoSpec.MAX_QUALITY) {
            throw new InvalidInputException("quality must be " + VideoSpec.MIN_QUALITY + ".."
                    + VideoSpec.MAX_QUALITY + " (lower is better), got " + quality);
        }
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners,
                progressListeners, quality, bitrate, frameBuffer, posteriorMean);
    }

    /**
     * The video bit rate {@link #render(Path)} aims at, in bit/s; by default the input video's own
     * bit rate (when its container declares one), so that dubbing does not lose the input's quality.
     *
     * @param bitsPerSecond at least 10 000
     * @return the new request
     */
    public Dub bitrate(long bitsPerSecond) {
        if (bitsPerSecond < 10_000) {
            throw new InvalidInputException("bitrate must be at least 10000 bit/s, got " + bitsPerSecond);
        }
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners,
                progressListeners, quality, bitsPerSecond, frameBuffer, posteriorMean);
    }

    /**
     * Dubs into a caller-supplied sink, blocking until done. The sink receives the frames (of the
     * input video's size) in order, then {@link FrameSink#complete()} on success, or
     * {@link FrameSink#abort()} on failure or cancellation (even before its first frame); it is not
     * closed here beyond that.
     *
     * @param sink where the frames go; not null
     * @return what was produced ({@link RenderResult#output()} is empty)
     * @throws InvalidInputException for missing or unreadable inputs, or a frame without a face
     *                               under {@link NoFace#FAIL}
     * @throws BundleException if the model is not a {@code latentsync} bundle
     * @throws BackendException if inference fails
     * @throws GenerationCancelledException if the thread is interrupted
     */
    public RenderResult render(FrameSink sink) {
        Objects.requireNonNull(sink, "sink");
        return launch(new GenerationRunner.Output.Sink(sink), 1).await();
    }

    /**
     * Starts dubbing into {@code sink} in the background, as {@link #render(FrameSink)} does in the
     * foreground, on a daemon thread (wait for it with {@link Generation#await()}).
     *
     * @param sink where the frames go; not null
     * @return the running dub
     */
    public Generation start(FrameSink sink) {
        Objects.requireNonNull(sink, "sink");
        return launch(new GenerationRunner.Output.Sink(sink), frameBuffer);
    }

    /**
     * Dubs to a fragmented MP4 written to {@code out} as the frames are made, blocking until done,
     * as {@link Avatar#render(OutputStream)} does (the caller owns {@code out}; it is flushed, never
     * closed; a failure leaves what was written). Needs {@code sdk-media}.
     *
     * @param out where the video goes
     * @return the result (with no output path)
     * @throws AvatarException (one of its subtypes) when the dub failed or was cancelled
     */
    public RenderResult render(OutputStream out) {
        Objects.requireNonNull(out, "out");
        return launch(new GenerationRunner.Output.Stream(out), 1).await();
    }

    /**
     * Starts dubbing to a fragmented MP4 written to {@code out}, as {@link #render(OutputStream)}
     * does in the foreground.
     *
     * @param out where the video goes; owned by the caller (never closed by the SDK)
     * @return the running dub
     */
    public Generation start(OutputStream out) {
        Objects.requireNonNull(out, "out");
        return launch(new GenerationRunner.Output.Stream(out), frameBuffer);
    }

    /**
     * Starts dubbing in the background, on a new daemon thread; frames go to the listeners and to
     * {@link Generation#frames()} / {@link Generation#publisher()} (which keep at most
     * {@link #frameBuffer(int)} unread frames). Errors in the inputs are reported by the returned
     * generation ({@link Generation#await()}).
     *
     * @return the running dub, to await, iterate, or cancel
     * @throws InvalidInputException if the request has no speech
     */
    public Generation start() {
        return launch(new GenerationRunner.Output.None(), frameBuffer);
    }

    /** Starts the dub into {@code output}: its inputs are resolved on its thread. */
    private Generation launch(GenerationRunner.Output output, int buffer) {
        if (audioPath == null && audio == null) {
            throw new InvalidInputException("no speech: call speak(audio) before rendering");
        }
        AvatarModel m = model != null ? model : AvatarModel.defaultModel();
        return GenerationRunner.start(new GenerationRunner.Spec<>(m, InputResolver.of(this), output, frameListeners,
                progressListeners, buffer));
    }

    @Override
    public String toString() {
        return "Dub[video=" + video + ", audio=" + (audioPath != null ? audioPath : audio == null ? null : audio.duration())
                + ", noFace=" + noFace + "]";
    }
}
