package dev.avatar4j;

import dev.avatar4j.engine.MediaRegistry;
import dev.avatar4j.family.latentsync.LatentSyncEngine;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A dubbing request: an existing talking-head video, new speech, and options. The mouth region of
 * the face in every frame is regenerated to match the speech (LatentSync family); everything outside
 * the face crop is left as it was. Immutable — every method returns a new request.
 *
 * <pre>{@code
 * try (AvatarModel model = AvatarModel.load(Path.of("models/latentsync"))) {
 *     Avatar.dub(Path.of("talk.mp4"))
 *           .speak(Path.of("new-speech.wav"))
 *           .model(model)
 *           .noFace(NoFace.PASSTHROUGH)
 *           .render(Path.of("dubbed.mp4"));
 * }
 * }</pre>
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
    private final Path video;
    private final Path audioPath;
    private final AudioClip audio;
    private final AvatarModel model;
    private final Integer steps;
    private final Double guidance;
    private final Long seed;
    private final NoFace noFace;
    private final List<FrameListener> frameListeners;
    private final List<ProgressListener> progressListeners;
    private final int quality;
    private final long bitrate;

    private Dub(Path video, Path audioPath, AudioClip audio, AvatarModel model, Integer steps, Double guidance,
                Long seed, NoFace noFace, List<FrameListener> frameListeners, List<ProgressListener> progressListeners,
                int quality, long bitrate) {
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
        return new Dub(Objects.requireNonNull(video, "video"), null, null, null, null, null, null, NoFace.FAIL, List.of(), List.of(), 0, 0);
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
                frameListeners, progressListeners, quality, bitrate);
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
                frameListeners, progressListeners, quality, bitrate);
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
                frameListeners, progressListeners, quality, bitrate);
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
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners, progressListeners, quality, bitrate);
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
        return new Dub(video, audioPath, audio, model, steps, scale, seed, noFace, frameListeners, progressListeners, quality, bitrate);
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
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners, progressListeners, quality, bitrate);
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
                frameListeners, progressListeners, quality, bitrate);
    }

    /**
     * Also calls {@code listener} with every output frame, in order, on the rendering thread (the
     * thread that called {@code render}). An exception thrown by the listener fails the dub.
     *
     * @param listener the listener; not null
     * @return a new request with the listener added
     * @throws NullPointerException if {@code listener} is null
     */
    public Dub onFrame(FrameListener listener) {
        List<FrameListener> l = new ArrayList<>(frameListeners);
        l.add(Objects.requireNonNull(listener, "listener"));
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, l, progressListeners, quality, bitrate);
    }

    /**
     * Also calls {@code listener} with progress updates on the rendering thread, the same
     * {@link Progress} as portrait generation: {@link Progress.Stage#PREPARING} while the speech is
     * encoded and the faces are located (frames total known from the start), then
     * {@link Progress.Stage#DENOISING} after every DDIM step of a chunk and
     * {@link Progress.Stage#DECODING} after its faces are decoded (work = UNet passes plus decoded
     * faces, known once the faces are located), {@link Progress.Stage#FINISHING} once every frame is
     * written and {@link Progress.Stage#DONE} when the output is complete. An exception thrown by the
     * listener fails the dub.
     *
     * @param listener the listener; not null
     * @return a new request with the listener added
     * @throws NullPointerException if {@code listener} is null
     */
    public Dub onProgress(ProgressListener listener) {
        List<ProgressListener> l = new ArrayList<>(progressListeners);
        l.add(Objects.requireNonNull(listener, "listener"));
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners, l, quality, bitrate);
    }

    /**
     * Dubs and writes an MP4 (H.264 + AAC, the new speech muxed in) to {@code out}, blocking until
     * done. The file appears only when complete; on failure nothing is left. Needs {@code sdk-media}.
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
        Objects.requireNonNull(out, "out");
        Avatar.refuseOverwritingInputs(out, java.util.Arrays.asList(video, audioPath));
        Path target = out.toAbsolutePath();
        // by default at least the input's own bit rate, and the default quality cap
        return run(p -> MediaRegistry.global().openVideo(target, new VideoSpec(p.width, p.height, p.fps, p.speech,
                audioPath).withEncoding(quality != 0 || bitrate != 0 ? quality : VideoSpec.DEFAULT_QUALITY,
                        bitrate != 0 ? bitrate : p.sourceBitrate)), target);
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
                progressListeners, quality, bitrate);
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
                progressListeners, quality, bitsPerSecond);
    }

    /**
     * Dubs into a caller-supplied sink, blocking until done. The sink is opened with the input
     * video's size and receives the frames in order, then {@link FrameSink#complete()} on success
     * (it is closed in every case).
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
        return run(p -> sink, null);
    }

    private record Prepared(int width, int height, int fps, AudioClip speech, long sourceBitrate) {
    }

    private RenderResult run(java.util.function.Function<Prepared, FrameSink> sinks, Path output) {
        if (audioPath == null && audio == null) {
            throw new InvalidInputException("no speech: call speak(audio) before rendering");
        }
        AvatarModel m = model != null ? model : AvatarModel.defaultModel();
        long started = System.nanoTime();
        try (AvatarModel.Usage usage = m.acquire()) {
            if (!(usage.engine() instanceof LatentSyncEngine engine)) {
                throw new BundleException("model '" + m.name() + "' is of family " + m.family()
                        + "; dubbing needs a latentsync bundle (pass it with model(...), CLI --model)");
            }
            Reporter progress = new Reporter(progressListeners, started);
            MediaRegistry media = MediaRegistry.global();
            AudioClip speech = audio != null ? media.resample(audio, engine.sampleRate())
                    : media.readAudio(audioPath, engine.sampleRate());
            if (speech.samples().length == 0) {
                throw new InvalidInputException("the speech is empty");
            }
            int fps = engine.fps();
            int n = engine.frameCount(speech.samples().length);
            progress.planned(n, 0);
            progress.publish(Progress.Stage.PREPARING);
            int st = steps != null ? steps : engine.defaultSteps();
            double g = guidance != null ? guidance : engine.defaultGuidance();
            long s = seed != null ? seed : ThreadLocalRandom.current().nextLong();
            Output out = new Output(sinks, fps, speech, progress);
            try {
                // the video is opened twice (faces first, then frames) and decoded on demand
                engine.dub(() -> {
                    dev.avatar4j.media.VideoStream vs = media.openVideoStream(video, fps, n);
                    out.sourceBitrate = Math.max(out.sourceBitrate, vs.bitRate());
                    return vs;
                }, speech, st, g, noFace.name(), s,
                        () -> Thread.currentThread().isInterrupted(), out);
                progress.publish(Progress.Stage.FINISHING);
                out.complete();
            } finally {
                out.close();
            }
            progress.publish(Progress.Stage.DONE);
            return new RenderResult(Optional.ofNullable(output), out.count, out.width, out.height, fps, st,
                    s, m.backendName(), Duration.ofNanos(System.nanoTime() - started));
        }
    }

    /** Turns the engine's plan and work into {@link Progress} for the listeners. */
    private static final class Reporter {
        private final List<ProgressListener> listeners;
        private final long started;
        private int framesTotal;
        private int framesDone;
        private long workTotal;
        private long workDone;
        private Progress.Stage stage = Progress.Stage.PREPARING;

        Reporter(List<ProgressListener> listeners, long started) {
            this.listeners = listeners;
            this.started = started;
        }

        void planned(int frames, long work) {
            framesTotal = frames;
            workTotal = work;
        }

        void advance(Progress.Stage s, long units) {
            workDone += units;
            publish(s);
        }

        void frame() {
            framesDone++;
            publish(stage);
        }

        void publish(Progress.Stage s) {
            stage = s;
            if (listeners.isEmpty()) {
                return;
            }
            Progress p = new Progress(s, framesDone, framesTotal, Math.min(workDone, workTotal), workTotal,
                    Duration.ofNanos(System.nanoTime() - started));
            for (ProgressListener l : listeners) {
                l.onProgress(p);
            }
        }
    }

    /** Opens the sink at the first frame (its size is the video's) and hands frames on. */
    private final class Output implements LatentSyncEngine.Listener {
        private final java.util.function.Function<Prepared, FrameSink> sinks;
        private final int fps;
        private final AudioClip speech;
        private final Reporter progress;
        private FrameSink sink;
        int count;
        int width;
        int height;
        volatile long sourceBitrate;

        Output(java.util.function.Function<Prepared, FrameSink> sinks, int fps, AudioClip speech, Reporter progress) {
            this.sinks = sinks;
            this.fps = fps;
            this.speech = speech;
            this.progress = progress;
        }

        @Override
        public void planned(int frames, long workUnits) {
            progress.planned(frames, workUnits);
            progress.publish(Progress.Stage.PREPARING);
        }

        @Override
        public void advanced(Progress.Stage stage, long units) {
            progress.advance(stage, units);
        }

        @Override
        public void frame(RgbImage img) {
            if (sink == null) {
                width = img.width();
                height = img.height();
                sink = sinks.apply(new Prepared(width, height, fps, speech, sourceBitrate));
            }
            Frame f = new Frame(count++, fps, img);
            sink.accept(f);
            for (FrameListener l : frameListeners) {
                l.onFrame(f);
            }
            progress.frame();
        }

        void complete() {
            if (sink == null) {
                throw new InvalidInputException("the video gave no frame");
            }
            sink.complete();
        }

        void close() {
            if (sink != null) {
                sink.close();
            }
        }
    }

    @Override
    public String toString() {
        return "Dub[video=" + video + ", audio=" + (audioPath != null ? audioPath : audio == null ? null : audio.duration())
                + ", noFace=" + noFace + "]";
    }
}
