package dev.avatar4j.engine;

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

    /** Decodes an image with the first codec that reads its format. */
    public RgbImage readImage(Path file) {
        checkReadable(file, "image");
        List<String> tried = new ArrayList<>();
        for (MediaCodec c : codecs) {
            try {
                return c.readImage(file);
            } catch (UnsupportedMediaException e) {
                tried.add(c.name() + ": " + e.getMessage());
            }
        }
        throw new InvalidInputException("cannot read image " + file + ": unsupported format (" + String.join("; ", tried)
                + ")" + hint());
    }

    /** Decodes audio to mono at {@code sampleRate} with the first codec that reads its format. */
    public AudioClip readAudio(Path file, int sampleRate) {
        checkReadable(file, "audio");
        WavIntegrity.check(file);
        List<String> tried = new ArrayList<>();
        for (MediaCodec c : codecs) {
            try {
                AudioClip clip = c.readAudio(file, sampleRate);
                return checkSamples(clip, file.toString());
            } catch (UnsupportedMediaException e) {
                tried.add(c.name() + ": " + e.getMessage());
            }
        }
        throw new InvalidInputException("cannot read audio " + file + ": unsupported format (" + String.join("; ", tried)
                + ")" + hint());
    }

    /**
     * Decodes a video at {@code fps} (at most {@code maxFrames} frames) with the first codec that
     * reads video; see {@link MediaCodec#readVideo(Path, int, int)}.
     */
    public VideoClip readVideo(Path file, int fps, int maxFrames) {
        checkReadable(file, "video");
        List<String> tried = new ArrayList<>();
        for (MediaCodec c : codecs) {
            try {
                return c.readVideo(file, fps, maxFrames);
            } catch (UnsupportedMediaException e) {
                tried.add(c.name() + ": " + e.getMessage());
            }
        }
        throw new InvalidInputException("cannot read video " + file + ": unsupported format (" + String.join("; ", tried)
                + ")" + hint());
    }

    /**
     * Opens a video at {@code fps} (at most {@code maxFrames} frames) as a stream with the first
     * codec that reads video; see {@link MediaCodec#openVideoStream(Path, int, int)}.
     */
    public VideoStream openVideoStream(Path file, int fps, int maxFrames) {
        checkReadable(file, "video");
        List<String> tried = new ArrayList<>();
        for (MediaCodec c : codecs) {
            try {
                return c.openVideoStream(file, fps, maxFrames);
            } catch (UnsupportedMediaException e) {
                tried.add(c.name() + ": " + e.getMessage());
            }
        }
        throw new InvalidInputException("cannot read video " + file + ": unsupported format (" + String.join("; ", tried)
                + ")" + hint());
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
        List<String> tried = new ArrayList<>();
        for (MediaCodec c : codecs) {
            try {
                long n = c.countAudio(file, sampleRate);
                if (n <= 0) {
                    throw new InvalidInputException(file + " contains no audio samples");
                }
                return n;
            } catch (UnsupportedMediaException e) {
                tried.add(c.name() + ": " + e.getMessage());
            }
        }
        throw new InvalidInputException("cannot read audio " + file + ": unsupported format (" + String.join("; ", tried)
                + ")" + hint());
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
    public AudioSource openAudio(Path file, int sampleRate) {
        return openAudio(file, sampleRate, AudioSource.DEFAULT_WINDOW);
    }

    /** {@link #openAudio(Path, int)} keeping {@code window} samples for backward reads (tests use small ones). */
    public AudioSource openAudio(Path file, int sampleRate, int window) {
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
        List<String> tried = new ArrayList<>();
        for (MediaCodec c : codecs) {
            try {
                return c.openAudio(file, sampleRate);
            } catch (UnsupportedMediaException e) {
                tried.add(c.name() + ": " + e.getMessage());
            }
        }
        throw new InvalidInputException("cannot read audio " + file + ": unsupported format (" + String.join("; ", tried)
                + ")" + hint());
    }

    /** Resamples in-memory audio to {@code sampleRate} and validates it. */
    public AudioClip resample(AudioClip clip, int sampleRate) {
        checkSamples(clip, "the given audio");
        return clip.sampleRate() == sampleRate ? clip
                : new AudioClip(Resampler.resample(clip.samples(), clip.sampleRate(), sampleRate), sampleRate);
    }

    /** Opens an MP4 writer with the first codec that writes video. */
    public FrameSink openVideo(Path out, VideoSpec spec) {
        List<String> tried = new ArrayList<>();
        for (MediaCodec c : codecs) {
            try {
                return c.openVideo(out, spec);
            } catch (UnsupportedMediaException e) {
                tried.add(c.name() + ": " + e.getMessage());
            }
        }
        throw new InvalidInputException("cannot write video " + out + " (" + String.join("; ", tried) + ")" + hint());
    }

    /**
     * Opens a fragmented-MP4 writer to {@code out} with the first codec that writes video to a
     * stream; see {@link MediaCodec#openVideo(java.io.OutputStream, VideoSpec)}.
     *
     * @param out the caller's stream (never closed here)
     * @param spec the video's size, rate, audio and encoding
     * @return the writer
     * @throws InvalidInputException if no codec writes video to a stream
     */
    public FrameSink openVideo(java.io.OutputStream out, VideoSpec spec) {
        List<String> tried = new ArrayList<>();
        for (MediaCodec c : codecs) {
            try {
                return c.openVideo(out, spec);
            } catch (UnsupportedMediaException e) {
                tried.add(c.name() + ": " + e.getMessage());
            }
        }
        throw new InvalidInputException("cannot write video to the output stream (" + String.join("; ", tried) + ")"
                + hint());
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
