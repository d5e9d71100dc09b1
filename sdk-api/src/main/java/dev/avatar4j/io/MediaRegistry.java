package dev.avatar4j.io;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.audio.Resampler;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.AudioStream;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.MediaCodec;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.UnsupportedMediaException;
import dev.avatar4j.media.VideoClip;
import dev.avatar4j.media.VideoStream;
import dev.avatar4j.media.VideoSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link MediaCodec}s on the class path (plus the built-in JDK codec), tried in rank order:
 * the first codec that recognises a format decodes it; a broken file fails at once.
 */
public final class MediaRegistry {
    private static final Logger log = LoggerFactory.getLogger(MediaRegistry.class);
    private static final MediaRegistry GLOBAL = new MediaRegistry(load());

    private final List<MediaCodec> codecs;

    /** A registry over the given codecs (tests use their own). */
    public MediaRegistry(List<MediaCodec> codecs) {
        List<MediaCodec> sorted = new ArrayList<>(codecs);
        sorted.sort(Comparator.comparingInt(MediaCodec::rank));
        this.codecs = List.copyOf(sorted);
    }

    /** The registry of the codecs found by {@link ServiceLoader}, plus the JDK codec. */
    public static MediaRegistry global() {
        return GLOBAL;
    }

    private static List<MediaCodec> load() {
        List<MediaCodec> list = new ArrayList<>();
        list.add(new JdkMediaCodec());
        for (ServiceLoader.Provider<MediaCodec> p : ServiceLoader.load(MediaCodec.class).stream().toList()) {
            try {
                list.add(p.get());
            } catch (Throwable t) {
                log.warn("media codec {} failed to load: {}", p.type().getName(), t.toString());
            }
        }
        return list;
    }

    /** The codecs in the order they are tried. */
    public List<MediaCodec> codecs() {
        return codecs;
    }

    /** One operation of a codec, which throws {@link UnsupportedMediaException} for what it does not handle. */
    @FunctionalInterface
    private interface CodecCall<T> {
        T on(MediaCodec codec) throws UnsupportedMediaException;
    }

    /**
     * Runs {@code call} on the codecs in rank order and returns the first result: the one place the
     * codecs are tried. A codec that does not handle the input says so ({@link UnsupportedMediaException})
     * and the next is tried; any other failure (a broken file) ends the search at once.
     *
     * @param failure what could not be done, for the message ("cannot read image x.png: unsupported format")
     * @throws InvalidInputException naming what each codec said, if none handles it
     */
    private <T> T firstCodec(String failure, CodecCall<T> call) {
        List<String> tried = new ArrayList<>();
        for (MediaCodec c : codecs) {
            try {
                return call.on(c);
            } catch (UnsupportedMediaException e) {
                tried.add(c.name() + ": " + e.getMessage());
            }
        }
        throw new InvalidInputException(failure + " (" + String.join("; ", tried) + ")" + hint());
    }

    /** Decodes an image with the first codec that reads its format. */
    public RgbImage readImage(Path file) {
        checkReadable(file, "image");
        return firstCodec("cannot read image " + file + ": unsupported format", c -> c.readImage(file));
    }

    /** Decodes audio to mono at {@code sampleRate} with the first codec that reads its format. */
    public AudioClip readAudio(Path file, int sampleRate) {
        checkReadable(file, "audio");
        WavIntegrity.check(file);
        return checkSamples(firstCodec("cannot read audio " + file + ": unsupported format",
                c -> c.readAudio(file, sampleRate)), file.toString());
    }

    /**
     * Decodes a video at {@code fps} (at most {@code maxFrames} frames) with the first codec that
     * reads video; see {@link MediaCodec#readVideo(Path, int, int)}.
     */
    public VideoClip readVideo(Path file, int fps, int maxFrames) {
        checkReadable(file, "video");
        return firstCodec("cannot read video " + file + ": unsupported format", c -> c.readVideo(file, fps, maxFrames));
    }

    /**
     * Opens a video at {@code fps} (at most {@code maxFrames} frames) as a stream with the first
     * codec that reads video; see {@link MediaCodec#readVideoStream(Path, int, int)}.
     */
    public VideoStream readVideoStream(Path file, int fps, int maxFrames) {
        checkReadable(file, "video");
        return firstCodec("cannot read video " + file + ": unsupported format",
                c -> c.readVideoStream(file, fps, maxFrames));
    }

    /**
     * The number of mono samples {@link #readAudio(Path, int)} would return, without holding
     * them: a linear PCM or float WAV stored at {@code sampleRate} is measured from its header
     * (a 10-hour file in microseconds); anything else is counted by the first codec that reads
     * it (FFmpeg decodes it as a stream in fixed-size chunks). For planning long inputs.
     *
     * @throws InvalidInputException as {@link #readAudio(Path, int)} would for a broken file
     */
    public long countAudio(Path file, int sampleRate) {
        checkReadable(file, "audio");
        long fromHeader = WavIntegrity.samplesAt(file, sampleRate);
        if (fromHeader > 0) {
            return fromHeader;
        }
        long n = firstCodec("cannot read audio " + file + ": unsupported format", c -> c.countAudio(file, sampleRate));
        if (n <= 0) {
            throw new InvalidInputException(file + " contains no audio samples");
        }
        return n;
    }

    /**
     * The audio of {@code file} as a streamed source at {@code sampleRate}: its length counted
     * first ({@link #countAudio}: the WAV header, or a decoding pass holding one chunk at a time),
     * then its samples decoded as they are read, by the same codec and bit for bit as
     * {@link #readAudio(Path, int)} returns them. Generation from a 10-hour file holds a bounded
     * window of it, not the whole audio.
     *
     * @throws InvalidInputException as {@link #readAudio(Path, int)} would for a broken file
     */
    public AudioSource openAudioSource(Path file, int sampleRate) {
        return openAudioSource(file, sampleRate, AudioSource.DEFAULT_WINDOW);
    }

    /** {@link #openAudioSource(Path, int)} keeping {@code window} samples for backward reads (tests use small ones). */
    public AudioSource openAudioSource(Path file, int sampleRate, int window) {
        long length = countAudio(file, sampleRate);
        if (length > Integer.MAX_VALUE - 16) {
            // engines index samples with int ranges inside windows, but the whole length must
            // also fit the plan's arithmetic; this is 37 hours at 16 kHz
            throw new InvalidInputException("audio " + file + " is too long (more than "
                    + (Integer.MAX_VALUE - 16) / sampleRate / 3600 + " hours at " + sampleRate + " Hz)");
        }
        return AudioSource.streamed(file.toString(), length, sampleRate, () -> openStream(file, sampleRate),
                () -> readAudio(file, sampleRate), window);
    }

    private AudioStream openStream(Path file, int sampleRate) {
        return firstCodec("cannot read audio " + file + ": unsupported format", c -> c.readAudioStream(file, sampleRate));
    }

    /** Resamples in-memory audio to {@code sampleRate} and validates it. */
    public AudioClip resample(AudioClip clip, int sampleRate) {
        checkSamples(clip, "the given audio");
        return clip.sampleRate() == sampleRate ? clip
                : new AudioClip(Resampler.resample(clip.samples(), clip.sampleRate(), sampleRate), sampleRate);
    }

    /** Opens an MP4 writer with the first codec that writes video. */
    public FrameSink openVideoWriter(Path out, VideoSpec spec) {
        return firstCodec("cannot write video " + out, c -> c.openVideoWriter(out, spec));
    }

    /**
     * Opens a fragmented-MP4 writer to {@code out} with the first codec that writes video to a
     * stream; see {@link MediaCodec#openVideoWriter(java.io.OutputStream, VideoSpec)}.
     *
     * @param out the caller's stream (never closed here)
     * @param spec the video's size, rate, audio and encoding
     * @return the writer
     * @throws InvalidInputException if no codec writes video to a stream
     */
    public FrameSink openVideoWriter(java.io.OutputStream out, VideoSpec spec) {
        return firstCodec("cannot write video to the output stream", c -> c.openVideoWriter(out, spec));
    }

    private String hint() {
        return codecs.stream().anyMatch(c -> !c.name().equals("jdk")) ? ""
                : "; add dev.avatar4j:sdk-media for every format FFmpeg reads and MP4 output";
    }

    /**
     * Checks that {@code file} is an existing, readable, non-empty regular file.
     *
     * @param what what the file is for, used in the message ("image", "audio")
     * @throws InvalidInputException saying what is wrong with it
     */
    public static void checkReadable(Path file, String what) {
        if (file == null) {
            throw new InvalidInputException("no " + what + " file given");
        }
        if (!Files.exists(file)) {
            throw new InvalidInputException(what + " file not found: " + file);
        }
        if (Files.isDirectory(file)) {
            throw new InvalidInputException(what + " path is a directory, not a file: " + file);
        }
        if (!Files.isReadable(file)) {
            throw new InvalidInputException(what + " file is not readable: " + file);
        }
        try {
            if (Files.size(file) == 0) {
                throw new InvalidInputException(what + " file is empty: " + file);
            }
        } catch (java.io.IOException e) {
            throw new InvalidInputException("cannot read " + what + " file " + file + ": " + e.getMessage(), e);
        }
    }

    private static AudioClip checkSamples(AudioClip clip, String name) {
        float[] s = clip.samples();
        if (s.length == 0) {
            throw new InvalidInputException(name + " contains no audio samples");
        }
        AudioSamples.check(s, 0, s.length, 0, name);
        return clip;
    }
}
