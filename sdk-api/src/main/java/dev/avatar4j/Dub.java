package dev.avatar4j;

import dev.avatar4j.engine.MediaRegistry;
import dev.avatar4j.family.latentsync.LatentSyncEngine;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoClip;
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
 * rendered in chunks of the model's chunk size (16) and written as each chunk finishes.
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

    private Dub(Path video, Path audioPath, AudioClip audio, AvatarModel model, Integer steps, Double guidance,
                Long seed, NoFace noFace, List<FrameListener> frameListeners) {
        this.video = video;
        this.audioPath = audioPath;
        this.audio = audio;
        this.model = model;
        this.steps = steps;
        this.guidance = guidance;
        this.seed = seed;
        this.noFace = noFace;
        this.frameListeners = List.copyOf(frameListeners);
    }

    static Dub of(Path video) {
        return new Dub(Objects.requireNonNull(video, "video"), null, null, null, null, null, null, NoFace.FAIL, List.of());
    }

    /** The new speech, from a file (any format the media codecs read). */
    public Dub speak(Path audio) {
        return new Dub(video, Objects.requireNonNull(audio, "audio"), null, model, steps, guidance, seed, noFace,
                frameListeners);
    }

    /** The new speech as mono samples in [−1, 1] at {@code sampleRate} (resampled as needed). */
    public Dub speak(float[] samples, int sampleRate) {
        return new Dub(video, null, new AudioClip(samples.clone(), sampleRate), model, steps, guidance, seed, noFace,
                frameListeners);
    }

    /** The {@code latentsync} model to dub with. */
    public Dub model(AvatarModel model) {
        return new Dub(video, audioPath, audio, Objects.requireNonNull(model, "model"), steps, guidance, seed, noFace,
                frameListeners);
    }

    /**
     * DDIM steps (default: the bundle's, 20).
     *
     * @throws InvalidInputException if not in 1..1000
     */
    public Dub steps(int steps) {
        if (steps < 1 || steps > 1000) {
            throw new InvalidInputException("steps must be in 1..1000, got " + steps);
        }
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners);
    }

    /**
     * Classifier-free guidance scale with silence (zero audio features) as the unconditional branch
     * (default: the bundle's, 1.5; 1 turns guidance off and halves the work).
     *
     * @throws InvalidInputException if not finite and positive
     */
    public Dub guidance(double scale) {
        if (!(scale > 0) || !Double.isFinite(scale)) {
            throw new InvalidInputException("guidance must be finite and positive, got " + scale);
        }
        return new Dub(video, audioPath, audio, model, steps, scale, seed, noFace, frameListeners);
    }

    /** Seed of the one noise frame all frames start from (default: random). */
    public Dub seed(long seed) {
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, frameListeners);
    }

    /** What to do with frames without a face (default {@link NoFace#FAIL}). */
    public Dub noFace(NoFace policy) {
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, Objects.requireNonNull(policy, "policy"),
                frameListeners);
    }

    /** Also calls {@code listener} with every output frame, in order, on the rendering thread. */
    public Dub onFrame(FrameListener listener) {
        List<FrameListener> l = new ArrayList<>(frameListeners);
        l.add(Objects.requireNonNull(listener, "listener"));
        return new Dub(video, audioPath, audio, model, steps, guidance, seed, noFace, l);
    }

    /**
     * Dubs and writes an MP4 (H.264 + AAC, the new speech muxed in) to {@code out}, blocking until
     * done. The file appears only when complete; on failure nothing is left. Needs {@code sdk-media}.
     *
     * @throws InvalidInputException for unreadable inputs, or a frame without a face under {@link NoFace#FAIL}
     *         (the message names the frame index)
     * @throws BundleException if the model is not a {@code latentsync} bundle
     * @throws BackendException if inference fails
     * @throws GenerationCancelledException if the thread is interrupted
     */
    public RenderResult render(Path out) {
        Objects.requireNonNull(out, "out");
        Path target = out.toAbsolutePath();
        return run(p -> MediaRegistry.global().openVideo(target, new VideoSpec(p.width, p.height, p.fps, p.speech,
                audioPath)), target);
    }

    /** Dubs into a caller-supplied sink, blocking until done ({@link FrameSink#complete()} on success). */
    public RenderResult render(FrameSink sink) {
        Objects.requireNonNull(sink, "sink");
        return run(p -> sink, null);
    }

    private record Prepared(int width, int height, int fps, AudioClip speech) {
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
            MediaRegistry media = MediaRegistry.global();
            AudioClip speech = audio != null ? media.resample(audio, engine.sampleRate())
                    : media.readAudio(audioPath, engine.sampleRate());
            if (speech.samples().length == 0) {
                throw new InvalidInputException("the speech is empty");
            }
            int n = engine.frameCount(speech.samples().length);
            VideoClip clip = media.readVideo(video, engine.fps(), n);
            int st = steps != null ? steps : engine.defaultSteps();
            double g = guidance != null ? guidance : engine.defaultGuidance();
            long s = seed != null ? seed : ThreadLocalRandom.current().nextLong();
            int[] count = {0};
            try (FrameSink sink = sinks.apply(new Prepared(clip.width(), clip.height(), engine.fps(), speech))) {
                engine.dub(clip.frames(), speech, st, g, noFace.name(), s, () -> Thread.currentThread().isInterrupted(),
                        (RgbImage img) -> {
                            Frame f = new Frame(count[0]++, engine.fps(), img.width(), img.height(), img.toRgbArray());
                            sink.accept(f);
                            for (FrameListener l : frameListeners) {
                                l.onFrame(f);
                            }
                        });
                sink.complete();
            }
            return new RenderResult(Optional.ofNullable(output), count[0], clip.width(), clip.height(), engine.fps(), st,
                    s, m.backendName(), Duration.ofNanos(System.nanoTime() - started));
        }
    }

    @Override
    public String toString() {
        return "Dub[video=" + video + ", audio=" + (audioPath != null ? audioPath : audio == null ? null : audio.duration())
                + ", noFace=" + noFace + "]";
    }
}
