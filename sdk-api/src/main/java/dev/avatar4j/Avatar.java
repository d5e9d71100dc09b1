package dev.avatar4j;

import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoSpec;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A talking-avatar request: a reference image, speech, and options. Immutable — every method
 * returns a new request — so a partly configured request can be shared and reused.
 *
 * <pre>{@code
 * Avatar.from(Path.of("face.png"))
 *       .speak(Path.of("speech.wav"))
 *       .steps(8).seed(42)
 *       .onFrame(frame -> preview.show(frame))
 *       .render(Path.of("out.mp4"));
 * }</pre>
 *
 * <p>Without {@link #model(AvatarModel)} the {@link AvatarModel#defaultModel() default model} is used.
 */
public final class Avatar {
    /** Default number of frames kept for {@link Generation#frames()}. */
    public static final int DEFAULT_FRAME_BUFFER = 64;

    final Path imagePath;
    final RgbImage image;
    final Path audioPath;
    final AudioClip audio;
    final Integer steps;
    final Long seed;
    final Integer width;
    final Integer height;
    final String prompt;
    final double textGuidance;
    final double audioGuidance;
    final AvatarModel model;
    final List<FrameListener> frameListeners;
    final List<ProgressListener> progressListeners;
    final int frameBuffer;
    final List<SpeakerInput> speakers;
    final AudioMode audioMode;
    final int quality;
    final long bitrate;
    /** The image as bytes (from {@link #from(byte[])} or {@link #from(InputStream)}), or null. */
    final StreamInput imageInput;
    /** The speech as bytes or a stream ({@link #speak(byte[])}, {@link #speak(InputStream)}), or null. */
    final StreamInput audioInput;

    /**
     * One person of a multi-speaker request: a region (null for the default of its position, see
     * {@link #speaker(Path)}) and a track (file, samples, or silence).
     */
    record SpeakerInput(Region region, Path path, AudioClip clip) {
    }

    private Avatar(Path imagePath, RgbImage image, Path audioPath, AudioClip audio, Integer steps, Long seed,
                   Integer width, Integer height, String prompt, double textGuidance, double audioGuidance,
                   AvatarModel model, List<FrameListener> frameListeners, List<ProgressListener> progressListeners,
                   int frameBuffer, List<SpeakerInput> speakers, AudioMode audioMode, int quality, long bitrate,
                   StreamInput imageInput, StreamInput audioInput) {
        this.imagePath = imagePath;
        this.image = image;
        this.audioPath = audioPath;
        this.audio = audio;
        this.steps = steps;
        this.seed = seed;
        this.width = width;
        this.height = height;
        this.prompt = prompt;
        this.textGuidance = textGuidance;
        this.audioGuidance = audioGuidance;
        this.model = model;
        this.frameListeners = List.copyOf(frameListeners);
        this.progressListeners = List.copyOf(progressListeners);
        this.frameBuffer = frameBuffer;
        this.speakers = List.copyOf(speakers);
        this.audioMode = audioMode;
        this.quality = quality;
        this.bitrate = bitrate;
        this.imageInput = imageInput;
        this.audioInput = audioInput;
    }

    private Avatar withSpeech(Path audioPath, AudioClip audio, StreamInput audioInput) {
        return new Avatar(imagePath, image, audioPath, audio, steps, seed, width, height, prompt, textGuidance,
                audioGuidance, model, frameListeners, progressListeners, frameBuffer, speakers, audioMode, quality,
                bitrate, imageInput, audioInput);
    }

    private static Avatar fromInput(Path imagePath, RgbImage image, StreamInput imageInput) {
        return new Avatar(imagePath, image, null, null, null, null, null, null, null, Double.NaN, Double.NaN, null,
                List.of(), List.of(), DEFAULT_FRAME_BUFFER, List.of(), AudioMode.PARALLEL, 0, 0, imageInput, null);
    }

    /**
     * Starts a dubbing request: the mouth of the face in {@code video} will be re-synced to new speech
     * (needs a {@code latentsync} model). See {@link Dub}.
     *
     * @param video any video the media codecs read
     * @return the request
     */
    public static Dub dub(Path video) {
        return Dub.of(video);
    }

    /**
     * Starts a request animating the image file at {@code image} (PNG/JPEG; any format FFmpeg reads
     * with {@code sdk-media}). The file is not read here but when a generation starts, on its thread:
     * a missing or unreadable file fails the generation with an {@link InvalidInputException}.
     *
     * @param image path of the reference portrait; not null
     * @return a new request with no speech and every option at its default
     * @throws NullPointerException if {@code image} is null
     */
    public static Avatar from(Path image) {
        Objects.requireNonNull(image, "image");
        return fromInput(image, null, null);
    }

    /**
     * Starts a request animating an in-memory image. The image is immutable, so it is used as is
     * (not copied).
     *
     * @param image the reference portrait; not null
     * @return a new request with no speech and every option at its default
     * @throws NullPointerException if {@code image} is null
     */
    public static Avatar from(RgbImage image) {
        Objects.requireNonNull(image, "image");
        return fromInput(null, image, null);
    }

    /**
     * A request animating an image given as the bytes of an image file (an upload, say): PNG or
     * JPEG, or any format FFmpeg reads with {@code sdk-media}. The bytes are copied (the array may be
     * reused) and decoded when a generation starts, through the same codecs, limits and messages as
     * {@link #from(Path)} ("the image bytes" in place of a file name), so a broken image fails the
     * generation with an {@link InvalidInputException}. The request can be rendered any number of
     * times.
     *
     * @param image the encoded image, at most 256 MiB
     * @return the request
     * @throws InvalidInputException if {@code image} is empty or larger than 256 MiB
     */
    public static Avatar from(byte[] image) {
        Objects.requireNonNull(image, "image");
        if (image.length > StreamInput.MAX_IMAGE_BYTES) {
            throw new InvalidInputException("the image bytes are too large: more than "
                    + (StreamInput.MAX_IMAGE_BYTES >> 20) + " MiB; give a file instead");
        }
        return fromInput(null, null, StreamInput.of("the image bytes", image));
    }

    /**
     * A request animating an image read from {@code image} (an upload, say), as {@link #from(byte[])}
     * does with bytes. The stream is read to its end now, on the calling thread, into memory (so the
     * request stays reusable); it is not closed: it belongs to the caller.
     *
     * @param image the encoded image, at most 256 MiB
     * @return the request
     * @throws InvalidInputException if the stream is empty, longer than 256 MiB or fails to read
     */
    public static Avatar from(InputStream image) {
        Objects.requireNonNull(image, "image");
        return fromInput(null, null, StreamInput.readFully("the image stream", image, StreamInput.MAX_IMAGE_BYTES));
    }

    /**
     * Starts a request animating an in-memory {@link BufferedImage}. Its pixels are copied now
     * (converted to 8-bit RGB, alpha dropped), so later changes to {@code image} do not affect the
     * request.
     *
     * @param image the reference portrait, of any {@link BufferedImage} type; not null
     * @return a new request with no speech and every option at its default
     * @throws NullPointerException if {@code image} is null
     */
    public static Avatar from(BufferedImage image) {
        return from(RgbImage.fromBufferedImage(Objects.requireNonNull(image, "image")));
    }

    /**
     * The speech to lip-sync: an audio file (WAV; any format FFmpeg reads with {@code sdk-media}),
     * replacing any speech given before. The file is opened when a generation starts and streamed
     * (decoded chunk by chunk as the model needs it, never held whole); its length sets the length
     * of the video.
     *
     * @param audio path of the speech; not null
     * @return a new request with this speech
     * @throws NullPointerException if {@code audio} is null
     */
    public Avatar speak(Path audio) {
        return withSpeech(Objects.requireNonNull(audio, "audio"), null, null);
    }

    /**
     * The speech to lip-sync as the bytes of an audio file (WAV; any format FFmpeg reads with
     * {@code sdk-media}). The bytes are copied and decoded when a generation starts, through the same
     * codecs, limits and messages as {@link #speak(Path)} ("the speech bytes" in place of a file name),
     * and muxed into the video as a file's would be. The request can be rendered any number of times.
     *
     * @param audio the encoded audio
     * @return a new request with the speech set
     * @throws InvalidInputException if {@code audio} is empty
     */
    public Avatar speak(byte[] audio) {
        Objects.requireNonNull(audio, "audio");
        return withSpeech(null, null, StreamInput.of("the speech bytes", audio));
    }

    /**
     * The speech to lip-sync read from {@code audio} (a request body, say), decoded as
     * {@link #speak(byte[])} decodes bytes. The stream is read once, to its end, on the generation's
     * thread when the generation starts (spooled to a private temporary file, deleted when the
     * generation ends: FFmpeg must be able to seek in formats such as M4A), at most 8 GiB. It is not
     * closed: it belongs to the caller, who may close it once the generation is done.
     *
     * <p>An {@code InputStream} can be read only once: this request (and the requests derived from
     * it) can start one generation; a second {@code render}/{@code start} throws an
     * {@link IllegalStateException}. Use {@link #speak(byte[])} or {@link #speak(Path)} to render a
     * request more than once.
     *
     * @param audio the encoded audio
     * @return a new request with the speech set
     */
    public Avatar speak(InputStream audio) {
        Objects.requireNonNull(audio, "audio");
        return withSpeech(null, null, StreamInput.of("the speech stream", audio));
    }

    /**
     * The speech to lip-sync as mono samples in [-1, 1] at {@code sampleRate} Hz, replacing any
     * speech given before. The array is copied; the samples are resampled to the model's rate when
     * a generation starts.
     *
     * @param samples mono PCM samples in [-1, 1]; not null
     * @param sampleRate their sample rate in Hz (positive)
     * @return a new request with this speech
     * @throws NullPointerException if {@code samples} is null
     * @throws InvalidInputException if {@code sampleRate} is not positive
     */
    public Avatar speak(float[] samples, int sampleRate) {
        Objects.requireNonNull(samples, "samples");
        checkSampleRate(sampleRate);
        return withSpeech(null, new AudioClip(samples.clone(), sampleRate), null);
    }

    /**
     * Adds a speaker for a multi-person generation: the audio file drives the faces inside
     * {@code region}. Several calls add several speakers (e.g. {@link Region#leftHalf()} and
     * {@link Region#rightHalf()}); their tracks are laid out by {@link #audioMode(AudioMode)} and
     * mixed into the video. With speakers, {@link #speak(Path)} is not needed (and is ignored).
     * Only model families that animate several persons accept more than one speaker
     * ({@code longcat-avatar}); others fail with {@link InvalidInputException}.
     *
     * @param region the part of the frame this speaker drives
     * @param audio the speaker's speech (WAV, or any format the media codec reads)
     * @return a new request with the speaker added
     */
    public Avatar speaker(Region region, Path audio) {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(audio, "audio");
        return copy(b -> b.speakers.add(new SpeakerInput(region, audio, null)));
    }

    /**
     * Adds a speaker whose region is the reference's default for their position: the whole frame
     * when they are the only person; with two persons the first drives {@link Region#leftPerson()}
     * and the second {@link Region#rightPerson()} (the left and right halves inset by a 10 % margin,
     * as LongCat-Video-Avatar and MultiTalk place two persons without boxes). With three or more
     * persons every region must be given ({@link #speaker(Region, Path)}), as in the reference.
     *
     * @param audio the speaker's speech (WAV, or any format the media codec reads)
     * @return a new request with the speaker added
     */
    public Avatar speaker(Path audio) {
        Objects.requireNonNull(audio, "audio");
        return copy(b -> b.speakers.add(new SpeakerInput(null, audio, null)));
    }

    /**
     * Adds a speaker given as mono samples with the default region of their position (see
     * {@link #speaker(Path)}).
     *
     * @param samples the speech
     * @param sampleRate its sample rate in Hz, positive
     * @return a new request with the speaker added
     * @throws InvalidInputException if {@code sampleRate} is not positive
     */
    public Avatar speaker(float[] samples, int sampleRate) {
        Objects.requireNonNull(samples, "samples");
        checkSampleRate(sampleRate);
        AudioClip clip = new AudioClip(samples.clone(), sampleRate);
        return copy(b -> b.speakers.add(new SpeakerInput(null, null, clip)));
    }

    /**
     * Adds a speaker given as mono samples in [-1, 1] (see {@link #speaker(Region, Path)}).
     *
     * @param region the part of the frame this speaker drives
     * @param samples the speech
     * @param sampleRate its sample rate in Hz, positive
     * @return a new request with the speaker added
     * @throws InvalidInputException if {@code sampleRate} is not positive
     */
    public Avatar speaker(Region region, float[] samples, int sampleRate) {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(samples, "samples");
        checkSampleRate(sampleRate);
        AudioClip clip = new AudioClip(samples.clone(), sampleRate);
        return copy(b -> b.speakers.add(new SpeakerInput(region, null, clip)));
    }

    /**
     * Adds a person who does not speak: their region hears silence for the whole video (the
     * reference's silent track for background characters).
     *
     * @param region the person's part of the frame
     * @return a new request with the silent person added
     */
    public Avatar silent(Region region) {
        Objects.requireNonNull(region, "region");
        return copy(b -> b.speakers.add(new SpeakerInput(region, null, new AudioClip(new float[0], 16_000))));
    }

    /**
     * How several speakers' tracks are laid out in time. Default: {@link AudioMode#PARALLEL}.
     *
     * @param mode parallel (overlapping) or sequential (turn-taking)
     * @return a new request with the mode set
     */
    public Avatar audioMode(AudioMode mode) {
        Objects.requireNonNull(mode, "mode");
        return copy(b -> b.audioMode = mode);
    }

    /**
     * Denoising steps: more is slower (each step runs the denoiser once per window) and finer.
     * Default: the model's ({@link AvatarModel#defaultSteps()}).
     *
     * @param steps number of steps, at least 1
     * @return a new request with the steps set
     * @throws InvalidInputException if {@code steps} is less than 1
     */
    public Avatar steps(int steps) {
        if (steps < 1) {
            throw new InvalidInputException("steps must be at least 1, got " + steps);
        }
        return copy(b -> b.steps = steps);
    }

    /**
     * Seed of the initial noise; the same seed, inputs, options, model and backend give the same
     * video. Default: a random seed per generation (reported in {@link RenderResult#seed()}).
     *
     * @param seed any value
     * @return a new request with the seed set
     */
    public Avatar seed(long seed) {
        return copy(b -> b.seed = seed);
    }

    /**
     * Output size in pixels; the reference image is scaled and cropped to it. Default: the model's
     * ({@link AvatarModel#defaultWidth()} x {@link AvatarModel#defaultHeight()}).
     *
     * @param width frame width in pixels, a positive multiple of 16
     * @param height frame height in pixels, a positive multiple of 16
     * @return a new request with the size set
     * @throws InvalidInputException if either is not a positive multiple of 16 (the message
     *                               suggests the nearest valid size)
     */
    public Avatar size(int width, int height) {
        if (width <= 0 || height <= 0 || width % 16 != 0 || height % 16 != 0) {
            throw new InvalidInputException("size must be positive multiples of 16, got " + width + "x" + height
                    + " (try " + Math.max(16, width / 16 * 16) + "x" + Math.max(16, height / 16 * 16) + ")");
        }
        return copy(b -> {
            b.width = width;
            b.height = height;
        });
    }

    /**
     * Text prompt describing the video (used by families with a text encoder; others ignore it).
     * Default: the model's default prompt.
     *
     * @param text the prompt; not null
     * @return a new request with the prompt set
     * @throws NullPointerException if {@code text} is null
     */
    public Avatar prompt(String text) {
        Objects.requireNonNull(text, "text");
        return copy(b -> b.prompt = text);
    }

    /**
     * Classifier-free guidance scales: how strongly to follow the prompt and the audio (higher
     * follows more closely; 0 disables that guidance). Default: the model's.
     *
     * @param text text guidance scale, finite and at least 0
     * @param audio audio guidance scale, finite and at least 0
     * @return a new request with both scales set
     * @throws InvalidInputException if either scale is negative, infinite or NaN
     */
    public Avatar guidance(double text, double audio) {
        if (!(text >= 0) || !(audio >= 0) || Double.isInfinite(text) || Double.isInfinite(audio)) {
            throw new InvalidInputException("guidance scales must be finite and >= 0, got " + text + ", " + audio);
        }
        return copy(b -> {
            b.textGuidance = text;
            b.audioGuidance = audio;
        });
    }

    /**
     * The model to run. The model is shared, not owned: closing it stays the caller's job, after
     * the generations that use it have finished. Default: {@link AvatarModel#defaultModel()}.
     *
     * @param model a loaded model; not null
     * @return a new request using {@code model}
     * @throws NullPointerException if {@code model} is null
     */
    public Avatar model(AvatarModel model) {
        Objects.requireNonNull(model, "model");
        return copy(b -> b.model = model);
    }

    /**
     * Adds a listener that receives every frame as soon as it is final, in order, on the
     * generation's thread (a slow listener slows the generation). Listeners run in the order added.
     *
     * @param listener the listener; not null
     * @return a new request with the listener added
     * @throws NullPointerException if {@code listener} is null
     */
    public Avatar onFrame(FrameListener listener) {
        Objects.requireNonNull(listener, "listener");
        return copy(b -> b.frameListeners.add(listener));
    }

    /**
     * Adds a listener that receives progress updates, on the generation's thread.
     *
     * @param listener the listener; not null
     * @return a new request with the listener added
     * @throws NullPointerException if {@code listener} is null
     */
    public Avatar onProgress(ProgressListener listener) {
        Objects.requireNonNull(listener, "listener");
        return copy(b -> b.progressListeners.add(listener));
    }

    /**
     * Frames kept for {@link Generation#frames()} before the oldest are dropped (default
     * {@value #DEFAULT_FRAME_BUFFER}). Only generations started with {@link #start()} or
     * {@link #start(Path)} keep frames; each frame holds {@code width * height * 3} bytes.
     *
     * @param frames buffer capacity in frames, at least 1
     * @return a new request with the buffer size set
     * @throws InvalidInputException if {@code frames} is less than 1
     */
    public Avatar frameBuffer(int frames) {
        if (frames < 1) {
            throw new InvalidInputException("frameBuffer must be >= 1, got " + frames);
        }
        return copy(b -> b.frameBuffer = frames);
    }

    /**
     * The video quality of {@link #render(Path)} and {@link #start(Path)}, on a CRF-like scale:
     * {@value VideoSpec#MIN_QUALITY} (best, largest file) to {@value VideoSpec#MAX_QUALITY}
     * (smallest), {@value VideoSpec#DEFAULT_QUALITY} by default (see {@link VideoSpec#quality()}).
     *
     * @param quality 1..51
     * @return the new request
     */
    public Avatar quality(int quality) {
        if (quality < VideoSpec.MIN_QUALITY || quality > VideoSpec.MAX_QUALITY) {
            throw new InvalidInputException("quality must be " + VideoSpec.MIN_QUALITY + ".."
                    + VideoSpec.MAX_QUALITY + " (lower is better), got " + quality);
        }
        return copy(b -> b.quality = quality);
    }

    /**
     * The video bit rate {@link #render(Path)} and {@link #start(Path)} aim at, in bit/s. Alone
     * it rate-controls the encoder; with {@link #quality(int)} the quality still caps the loss.
     *
     * @param bitsPerSecond at least 10 000
     * @return the new request
     */
    public Avatar bitrate(long bitsPerSecond) {
        if (bitsPerSecond < 10_000) {
            throw new InvalidInputException("bitrate must be at least 10000 bit/s, got " + bitsPerSecond);
        }
        return copy(b -> b.bitrate = bitsPerSecond);
    }

    /**
     * Generates and writes an MP4 (H.264 + AAC, the speech muxed in) to {@code out}, blocking until
     * done. The extension chooses the container: {@code .mp4}, {@code .m4v}, {@code .mov},
     * {@code .mkv} (H.264 + AAC) or {@code .webm} (VP9 + Opus); others are refused with an
     * {@link InvalidInputException}. The file appears only when complete (atomic rename); on any failure nothing is left.
     * Needs {@code sdk-media} on the class path.
     *
     * @param out the video file to write; its extension chooses the container; not null
     * @return what was produced: {@link RenderResult#output()} holds {@code out} as an absolute path
     * @throws InvalidInputException if {@code out} is one of the input files (the same file, also
     *                               through a link): it would be replaced; also if the request has
     *                               no image or no speech, or the inputs cannot be decoded
     * @throws AvatarException (one of its subtypes) if the generation fails, or
     *                         {@link GenerationCancelledException} if the calling thread is interrupted
     */
    public RenderResult render(Path out) {
        return launchVideo(out, 1).await(); // nobody can iterate: keep no frames for frames()
    }

    /**
     * Generates into a caller-supplied sink, blocking until done. The sink receives the frames in
     * order and is then completed, or aborted on failure or cancellation; it is not closed here
     * beyond that.
     *
     * @param sink where the frames go; not null
     * @return what was produced ({@link RenderResult#output()} is empty)
     * @throws InvalidInputException if the request has no image or no speech, or an input is invalid
     * @throws AvatarException (one of its subtypes) if the generation fails or is cancelled
     */
    public RenderResult render(FrameSink sink) {
        Objects.requireNonNull(sink, "sink");
        return launch(new GenerationRunner.Output.Sink(sink), 1).await();
    }

    /**
     * Starts generating in the background, on a new thread; frames go to the listeners and to
     * {@link Generation#frames()} (which keeps at most {@link #frameBuffer(int)} unread frames).
     * Errors in the inputs are reported by the returned generation ({@link Generation#await()}).
     * The generation runs on a daemon thread: wait for it ({@link Generation#await()}) before
     * {@code main} returns, or the JVM exits without it.
     *
     * @return the running generation, to await, iterate, or cancel
     * @throws InvalidInputException if the request has no image or no speech
     */
    public Generation start() {
        return launch(new GenerationRunner.Output.None(), frameBuffer);
    }

    /**
     * Starts generating a video to {@code out} in the background, as {@link #render(Path)} does
     * (same containers, same atomic write). The generation runs on a daemon thread: call
     * {@link Generation#await()} before {@code main} returns, or the JVM exits and {@code out} is
     * never written.
     *
     * @param out the video file to write; not null
     * @return the running generation, to await or cancel
     * @throws InvalidInputException if {@code out} is one of the input files, or the request has
     *                               no image or no speech
     */
    public Generation start(Path out) {
        return launchVideo(out, frameBuffer);
    }

    private Generation launchVideo(Path out, int buffer) {
        Objects.requireNonNull(out, "out");
        List<Path> inputs = new ArrayList<>();
        inputs.add(imagePath);
        inputs.add(audioPath);
        for (SpeakerInput sp : speakers) {
            inputs.add(sp.path());
        }
        refuseOverwritingInputs(out, inputs);
        return launch(new GenerationRunner.Output.File(out.toAbsolutePath()), buffer);
    }

    /**
     * Generates a fragmented MP4 (H.264 + AAC, the speech muxed in as {@link #render(Path)} muxes
     * it) and writes it to {@code out} as the frames are generated, blocking until done: an HTTP
     * response body, say. The bytes go out in order and are never sought back
     * ({@code movflags frag_keyframe+empty_moov+default_base_moof}: an empty index first, then one
     * self-contained fragment per key frame, every two seconds of video), so a browser
     * ({@code <video>} or Media Source Extensions) can play what has arrived while the rest is still
     * being generated. {@link #quality(int)} and {@link #bitrate(long)} apply.
     *
     * <p>The caller owns {@code out}: it is flushed at the end, never closed. Writes come from an
     * encoder thread of the SDK, one at a time. If the generation fails or is cancelled, writing
     * stops where it was: what was written cannot be taken back, so the stream then holds a
     * truncated (still playable up to its last fragment) video; tell your client from the
     * exception. A write that throws (the client went away) fails the generation with an
     * {@link java.io.UncheckedIOException} as its cause. Needs {@code sdk-media} on the class path.
     *
     * @param out where the video goes
     * @return the result (with no output path)
     * @throws AvatarException (one of its subtypes) when the generation failed or was cancelled
     */
    public RenderResult render(OutputStream out) {
        return launchStream(out, 1).await();
    }

    /**
     * Starts generating a fragmented MP4 to {@code out} in the background, as
     * {@link #render(OutputStream)} does in the foreground; frames also go to the listeners and to
     * {@link Generation#frames()} / {@link Generation#publisher()}.
     *
     * @param out where the video goes; owned by the caller (never closed by the SDK)
     * @return the running generation
     */
    public Generation start(OutputStream out) {
        return launchStream(out, frameBuffer);
    }

    private Generation launchStream(OutputStream out, int buffer) {
        Objects.requireNonNull(out, "out");
        return launch(new GenerationRunner.Output.Stream(out), buffer);
    }

    /**
     * Refuses an output that is one of the inputs: writing it would replace the input. Files are
     * compared as the file system sees them ({@link Files#isSameFile}: real paths, links and hard
     * links resolved), so {@code ./a.wav}, {@code /abs/a.wav} and a link to it are all the same.
     *
     * @param inputs input paths, {@code null} entries ignored
     * @throws InvalidInputException if {@code out} is one of them
     */
    /** Argument check of the sample-based speech setters (here and in {@link Dub}). */
    static void checkSampleRate(int sampleRate) {
        if (sampleRate <= 0) {
            throw new InvalidInputException("the sample rate of the speech must be positive, got " + sampleRate);
        }
    }

    static void refuseOverwritingInputs(Path out, List<Path> inputs) {
        if (!Files.exists(out)) {
            return; // a file that does not exist is no input (a dangling link is replaced, not followed)
        }
        for (Path in : inputs) {
            if (in == null) {
                continue;
            }
            boolean same;
            try {
                same = Files.isSameFile(out, in);
            } catch (IOException e) {
                same = false; // an unreadable or missing input fails later with its own message
            }
            if (same) {
                throw new InvalidInputException("the output " + out + " is the input file " + in
                        + ": writing it would replace the input; choose another output name");
            }
        }
    }

    /**
     * Starts generating into {@code sink} in the background, as {@link #render(FrameSink)} does, on
     * a daemon thread (see {@link #start(Path)}: wait for it with {@link Generation#await()}).
     *
     * @param sink where the frames go; not null
     * @return the running generation, to await or cancel
     * @throws InvalidInputException if the request has no image or no speech
     */
    public Generation start(FrameSink sink) {
        Objects.requireNonNull(sink, "sink");
        return launch(new GenerationRunner.Output.Sink(sink), frameBuffer);
    }

    /**
     * Starts a live session with the {@link LiveOptions#defaults() default options}: speech is pushed
     * while it is spoken and frames come out at the model's rate (see {@link LiveSession}).
     *
     * @return the running session; close it when done
     * @throws InvalidInputException if the request has no image, has speech ({@link #speak} and
     *                               {@link #speaker} do not apply: speech is pushed), or its model
     *                               has no live mode (the preview, stableavatar and longcat-avatar families have one)
     */
    public LiveSession live() {
        return live(LiveOptions.defaults());
    }

    /**
     * Starts a live session at {@code fps} frames per second with otherwise the default options:
     * {@code live(LiveOptions.defaults().fps(fps))} (see {@link LiveOptions#fps(int)}: the preview
     * family renders at any rate, a diffusion model only at its own).
     *
     * @param fps 1 to {@value LiveOptions#MAX_FPS}
     * @return the running session; close it when done
     * @throws InvalidInputException as {@link #live()}, if {@code fps} is out of range, or if the
     *                               model renders only at another rate
     */
    public LiveSession live(int fps) {
        if (fps == 0) {
            throw new InvalidInputException("fps must be 1.." + LiveOptions.MAX_FPS + ", got 0");
        }
        return live(LiveOptions.defaults().fps(fps));
    }

    /**
     * Starts a live session (see {@link LiveSession}). The image, {@link #model}, {@link #seed} (the
     * idle motion, or a diffusion model's noise), {@link #size}, a diffusion model's {@link #steps},
     * {@link #prompt} and {@link #guidance}, and the {@link #onFrame} / {@link #onProgress} listeners apply;
     * {@link #frameBuffer(int)} does not ({@link LiveOptions#frameBuffer(int)} does). The image is
     * decoded and its face found on the session's thread: a failure there ends the session (pushes
     * then throw it as their cause).
     *
     * @param options how the session buffers, and its frame rate; not null
     * @return the running session; close it when done
     * @throws InvalidInputException as {@link #live()}, or if {@link LiveOptions#fps(int)} asks a
     *                               diffusion model for another rate than its own
     */
    public LiveSession live(LiveOptions options) {
        return live(options, LiveClock.SYSTEM);
    }

    /** {@link #live(LiveOptions)} paced by {@code clock} (tests). */
    LiveSession live(LiveOptions options, LiveClock clock) {
        Objects.requireNonNull(options, "options");
        if (imagePath == null && image == null && imageInput == null) {
            throw new InvalidInputException("no image: use Avatar.from(image)");
        }
        if (audioPath != null || audio != null || audioInput != null || !speakers.isEmpty()) {
            throw new InvalidInputException("a live session takes its speech from push(...), not from speak(...) "
                    + "or speaker(...): start it from a request without speech");
        }
        AvatarModel m = model != null ? model : AvatarModel.defaultModel();
        var engine = m.engine().runs(dev.avatar4j.family.LiveRequest.class)
                .orElseThrow(() -> InputResolver.Live.liveUnsupported(m));
        int fps = options.fps() == 0 ? engine.fps() : options.fps();
        if (fps != engine.fps() && !engine.rendersAnyFps()) {
            throw new InvalidInputException("model '" + m.name() + "' (family " + m.family() + ") renders at "
                    + engine.fps() + " fps, the rate it was trained at, and cannot run live at " + fps
                    + " fps: ask for " + engine.fps() + " fps (or leave LiveOptions.fps unset), or resample the "
                    + "video where it is shown");
        }
        SpeechFeed feed = new SpeechFeed(engine.sampleRate(), fps, options.maxQueuedSpeech(), clock);
        FrameBuffer.Mode mode = options.slowConsumer() == LiveOptions.SlowConsumer.DROP_OLDEST
                ? FrameBuffer.Mode.LIVE_DROP : FrameBuffer.Mode.LIVE_BACK_PRESSURE;
        Generation g = GenerationRunner.start(new GenerationRunner.Spec<>(m, InputResolver.live(this, feed, options.lowLatency(), fps),
                new GenerationRunner.Output.None(), frameListeners, progressListeners, options.frameBuffer(), mode));
        return new LiveSession(feed, g);
    }

    /** Starts the generation of this request into {@code output}: its inputs are resolved on its thread. */
    private Generation launch(GenerationRunner.Output output, int buffer) {
        if (imagePath == null && image == null && imageInput == null) {
            throw new InvalidInputException("no image: use Avatar.from(image)");
        }
        if (audioPath == null && audio == null && audioInput == null && speakers.isEmpty()) {
            throw new InvalidInputException("no speech: call speak(audio) before rendering");
        }
        AvatarModel m = model != null ? model : AvatarModel.defaultModel();
        if (audioInput != null && speakers.isEmpty()) {
            audioInput.claim(); // an InputStream is read once: a second generation is refused here
        }
        return GenerationRunner.start(new GenerationRunner.Spec<>(m, InputResolver.of(this), output, frameListeners,
                progressListeners, buffer));
    }

    private Avatar copy(java.util.function.Consumer<Mutable> change) {
        Mutable b = new Mutable(this);
        change.accept(b);
        return new Avatar(imagePath, image, audioPath, audio, b.steps, b.seed, b.width, b.height, b.prompt,
                b.textGuidance, b.audioGuidance, b.model, b.frameListeners, b.progressListeners, b.frameBuffer,
                b.speakers, b.audioMode, b.quality, b.bitrate, imageInput, audioInput);
    }

    /** Scratch copy of the options while deriving a new request. */
    private static final class Mutable {
        Integer steps;
        Long seed;
        Integer width;
        Integer height;
        String prompt;
        double textGuidance;
        double audioGuidance;
        AvatarModel model;
        final List<FrameListener> frameListeners;
        final List<ProgressListener> progressListeners;
        int frameBuffer;
        final List<SpeakerInput> speakers;
        AudioMode audioMode;
        int quality;
        long bitrate;

        Mutable(Avatar a) {
            steps = a.steps;
            seed = a.seed;
            width = a.width;
            height = a.height;
            prompt = a.prompt;
            textGuidance = a.textGuidance;
            audioGuidance = a.audioGuidance;
            model = a.model;
            frameListeners = new ArrayList<>(a.frameListeners);
            progressListeners = new ArrayList<>(a.progressListeners);
            frameBuffer = a.frameBuffer;
            speakers = new ArrayList<>(a.speakers);
            audioMode = a.audioMode;
            quality = a.quality;
            bitrate = a.bitrate;
        }
    }

    @Override
    public String toString() {
        return "Avatar[image=" + (imagePath != null ? imagePath : image != null ? image : imageInput) + ", audio="
                + (audioPath != null ? audioPath : audio != null ? audio.duration() : audioInput) + "]";
    }
}
