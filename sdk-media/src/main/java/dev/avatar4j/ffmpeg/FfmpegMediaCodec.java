package dev.avatar4j.ffmpeg;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.AudioStream;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.MediaCodec;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.UnsupportedMediaException;
import dev.avatar4j.media.VideoClip;
import dev.avatar4j.media.VideoStream;
import dev.avatar4j.media.VideoSpec;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The FFmpeg {@link MediaCodec} ({@code ffmpeg}, rank 10, tried before the JDK codec): reads every
 * image and audio format FFmpeg reads and writes MP4 (H.264 + AAC). Found through
 * {@link java.util.ServiceLoader}; the natives load on first use, and when they are missing for the
 * platform every method throws {@link UnsupportedMediaException} so that the next codec is tried.
 *
 * <ul>
 *   <li>{@link #readImage}: the first picture, as RGB, turned upright by its EXIF orientation or
 *       display matrix; images declaring more than 16384 pixels per side or 100 Mpx are refused
 *       before their pixels are decoded.</li>
 *   <li>{@link #readAudio}: the first audio track, mixed down to mono (channel average) and
 *       resampled by libswresample, decoded as a stream.</li>
 *   <li>{@link #readVideo}: the first video track as RGB frames at a constant rate, converted with
 *       the rule of FFmpeg's {@code fps} filter, turned upright by its display matrix;
 *       {@link #readVideoStream} gives the same frames decoded on demand.</li>
 *   <li>{@link #openVideoWriter}: a streaming video writer, the container chosen by the extension (MP4,
 *       MOV, MKV with H.264 yuv420p + AAC; WebM with VP9 + Opus; others refused), at
 *       {@link VideoSpec#quality()} and {@link VideoSpec#bitrate()}. Frame {@code i} is
 *       presented at exactly {@code i / fps}; the audio track (the original file when FFmpeg
 *       decodes it, else the decoded clip) is written in full; the file appears atomically on
 *       {@link FrameSink#complete()} and nothing is left behind on {@link FrameSink#abort()}.
 *       {@code accept} and {@code complete} must come from one thread; {@code abort} may come
 *       from another.</li>
 * </ul>
 *
 * <p>Images of more than 16 Mpx are decoded scaled down (see {@code FfmpegImageReader}).
 *
 * <p>Stateless and thread-safe; every call opens its own FFmpeg contexts.
 */
public final class FfmpegMediaCodec implements MediaCodec {

    /** Creates the codec; cheap (natives are loaded on first use). */
    public FfmpegMediaCodec() {
    }

    @Override
    public String name() {
        return "ffmpeg";
    }

    @Override
    public int rank() {
        return 10;
    }

    @Override
    public RgbImage readImage(Path file) throws UnsupportedMediaException {
        checkReadable(file, "image");
        FfmpegNatives.ensureLoaded();
        return FfmpegImageReader.read(file);
    }

    @Override
    public AudioClip readAudio(Path file, int sampleRate) throws UnsupportedMediaException {
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sampleRate must be positive, got " + sampleRate);
        }
        checkReadable(file, "audio");
        FfmpegNatives.ensureLoaded();
        // Two passes: the first counts (and checks) the samples, the second decodes them straight
        // into an exact-size array. Decoding twice costs little next to a generation; in exchange
        // the Java heap holds the audio once and nothing else, whatever the (possibly wrong)
        // duration the container declares: buffering chunks and copying them into the final array
        // would touch twice the audio's size in heap pages, which stay resident for the whole run
        // (tens of MB for a 10-minute speech).
        long n = count(file, sampleRate);
        float[] samples = new float[(int) n];
        int at = 0;
        try (FfmpegAudioDecoder dec = new FfmpegAudioDecoder(file)) {
            dec.setOutput(sampleRate, 1);
            FloatBuffer b;
            while ((b = dec.next()) != null) {
                if (b.remaining() > samples.length - at) {
                    throw changed(file);
                }
                int k = b.remaining();
                b.get(samples, at, k);
                at += k;
            }
        }
        if (at != samples.length) {
            throw changed(file);
        }
        return new AudioClip(samples, sampleRate);
    }

    /**
     * Streams the decoding pass of {@link #readAudio}: the same decoder and converter, so the
     * same chunks in the same order, one chunk held at a time. The caller counts (and checks) the
     * file first ({@link #countAudio}), as {@code readAudio} does.
     */
    @Override
    public AudioStream readAudioStream(Path file, int sampleRate) throws UnsupportedMediaException {
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sampleRate must be positive, got " + sampleRate);
        }
        checkReadable(file, "audio");
        FfmpegNatives.ensureLoaded();
        FfmpegAudioDecoder dec = new FfmpegAudioDecoder(file);
        dec.setOutput(sampleRate, 1);
        return new AudioStream() {
            private FloatBuffer chunk;
            private boolean ended;

            @Override
            public int read(float[] dst, int off, int len) {
                Objects.checkFromIndexSize(off, len, dst.length);
                if (len == 0) {
                    return 0;
                }
                while (!ended && (chunk == null || !chunk.hasRemaining())) {
                    chunk = dec.next();
                    if (chunk == null) {
                        ended = true;
                    }
                }
                if (ended) {
                    return -1;
                }
                int n = Math.min(len, chunk.remaining());
                chunk.get(dst, off, n);
                return n;
            }

            @Override
            public void close() {
                ended = true;
                chunk = null;
                dec.close();
            }
        };
    }

    /**
     * Refuses a file that ends well before the length its container declares exactly: a cut
     * download or copy. FFmpeg decodes what is there without an error, which would animate only
     * the first part of the speech. Encoder delay and padding make a valid file decode shorter
     * than declared (an 8 kHz MP3 with a LAME header: 0.21 s, about three 576-sample frames),
     * hence the tolerance: 0.3 s, plus four coded frames when the frame size is known, plus 2 %.
     */
    static void checkComplete(Path file, double decodedSeconds, double declaredSeconds, int frameSize, int rate) {
        if (declaredSeconds <= 0) {
            return;
        }
        double tolerance = 0.3 + (frameSize > 0 && rate > 0 ? 4.0 * frameSize / rate : 0) + 0.02 * declaredSeconds;
        if (decodedSeconds < declaredSeconds - tolerance) {
            throw new InvalidInputException(String.format(java.util.Locale.ROOT,
                    "audio %s is truncated: its container declares %.2f s of audio but the file ends after %.2f s",
                    file, declaredSeconds, decodedSeconds));
        }
    }

    /** Counts (and checks) the samples in a streaming decode pass: one decoded chunk is held at a time. */
    @Override
    public long countAudio(Path file, int sampleRate) throws UnsupportedMediaException {
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sampleRate must be positive, got " + sampleRate);
        }
        checkReadable(file, "audio");
        FfmpegNatives.ensureLoaded();
        return count(file, sampleRate);
    }

    /**
     * The first pass of {@link #readAudio}: decodes {@code file} as a stream, checking every
     * sample is finite and the file is as long as its container declares.
     *
     * @return the number of samples, at least one
     */
    private static long count(Path file, int sampleRate) {
        long n = 0;
        double declared;
        int frameSize;
        int nativeRate;
        try (FfmpegAudioDecoder dec = new FfmpegAudioDecoder(file)) {
            declared = dec.declaredAudioSeconds();
            frameSize = dec.codedFrameSize();
            nativeRate = dec.nativeRate();
            dec.setOutput(sampleRate, 1);
            dec.checkSamples(); // every sample, as decoded (before resampling can blur a bad one)
            FloatBuffer b;
            while ((b = dec.next()) != null) {
                n += b.remaining();
                if (n > Integer.MAX_VALUE - 16) {
                    throw new InvalidInputException("audio " + file + " is too long (more than "
                            + (Integer.MAX_VALUE - 16) / sampleRate / 3600 + " hours at " + sampleRate + " Hz)");
                }
            }
        }
        if (n == 0) {
            throw new InvalidInputException(file + " contains no audio samples");
        }
        checkComplete(file, n / (double) sampleRate, declared, frameSize, nativeRate);
        return n;
    }

    private static InvalidInputException changed(Path file) {
        return new InvalidInputException("audio " + file + " changed while it was being read");
    }

    @Override
    public VideoClip readVideo(Path file, int fps, int maxFrames) throws UnsupportedMediaException {
        if (fps <= 0 || maxFrames <= 0) {
            throw new IllegalArgumentException("fps and maxFrames must be positive, got " + fps + ", " + maxFrames);
        }
        checkReadable(file, "video");
        FfmpegNatives.ensureLoaded();
        return FfmpegVideoReader.read(file, fps, maxFrames);
    }

    @Override
    public VideoStream readVideoStream(Path file, int fps, int maxFrames) throws UnsupportedMediaException {
        if (fps <= 0 || maxFrames <= 0) {
            throw new IllegalArgumentException("fps and maxFrames must be positive, got " + fps + ", " + maxFrames);
        }
        checkReadable(file, "video");
        FfmpegNatives.ensureLoaded();
        return FfmpegVideoReader.open(file, fps, maxFrames);
    }

    @Override
    public FrameSink openVideoWriter(Path out, VideoSpec spec) throws UnsupportedMediaException {
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(spec, "spec");
        FfmpegNatives.ensureLoaded();
        return new Mp4FrameSink(out, spec);
    }

    /** Fragmented MP4 (H.264 + AAC) streamed to {@code out} as the frames arrive; see {@link Mp4FrameSink}. */
    @Override
    public FrameSink openVideoWriter(java.io.OutputStream out, VideoSpec spec) throws UnsupportedMediaException {
        Objects.requireNonNull(out, "out");
        Objects.requireNonNull(spec, "spec");
        FfmpegNatives.ensureLoaded();
        return new Mp4FrameSink(out, spec);
    }

    private static void checkReadable(Path file, String what) {
        if (file == null) {
            throw new InvalidInputException("no " + what + " file given");
        }
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(Files.isDirectory(file) ? what + " path is a directory, not a file: " + file
                    : what + " file not found: " + file);
        }
        if (!Files.isReadable(file)) {
            throw new InvalidInputException(what + " file is not readable: " + file);
        }
        try {
            if (Files.size(file) == 0) {
                throw new InvalidInputException(what + " file is empty: " + file);
            }
        } catch (IOException e) {
            throw new InvalidInputException("cannot read " + what + " file " + file + ": " + e.getMessage(), e);
        }
    }
}
