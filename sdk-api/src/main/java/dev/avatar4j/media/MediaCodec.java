package dev.avatar4j.media;

import java.io.OutputStream;
import java.nio.file.Path;

/**
 * Service-provider interface for reading images and audio and writing videos, found through
 * {@link java.util.ServiceLoader}. The SDK always has a JDK-only codec (WAV, PNG, JPEG, PNG
 * sequences); {@code sdk-media} adds FFmpeg (every format it reads, MP4 output). Codecs are tried
 * in {@link #rank()} order, lowest first.
 *
 * <p>The names say which way the data goes: the decoders read ({@link #readImage}, {@link #readAudio}
 * and {@link #readVideo} whole, {@link #readAudioStream} and {@link #readVideoStream} on demand,
 * {@link #countAudio}); the encoder is opened as a writer ({@link #openVideoWriter}).
 */
public interface MediaCodec {

    /**
     * The codec's name, for logs and error messages.
     *
     * @return a short name, e.g. {@code ffmpeg} or {@code jdk}
     */
    String name();

    /**
     * The order in which codecs are tried: for each operation the SDK asks the codecs from the
     * lowest rank up, until one does not throw {@link UnsupportedMediaException}.
     *
     * @return the rank; lower is tried first
     */
    int rank();

    /**
     * Decodes an image to RGB, turned upright where the format says how (e.g. EXIF orientation).
     *
     * @param file the image file
     * @return the decoded image (alpha, if any, dropped)
     * @throws UnsupportedMediaException if this codec does not read the file's format
     * @throws dev.avatar4j.InvalidInputException if the file is broken
     */
    RgbImage readImage(Path file) throws UnsupportedMediaException;

    /**
     * Decodes audio, mixed down to mono and resampled to {@code sampleRate}.
     *
     * @param file the audio (or video, for its audio track) file
     * @param sampleRate the sample rate wanted, in Hz, positive
     * @return the whole decoded track as samples in [-1, 1] at {@code sampleRate}
     * @throws UnsupportedMediaException if this codec does not read the file's format
     * @throws dev.avatar4j.InvalidInputException if the file is broken or holds no samples
     */
    AudioClip readAudio(Path file, int sampleRate) throws UnsupportedMediaException;

    /**
     * Decodes the first video track, turned upright, and converts it to {@code fps} frames per second
     * with the rule of FFmpeg's {@code fps} filter: output frame k shows the last decoded frame whose
     * timestamp, in units of {@code 1/fps} and rounded to nearest (halves away from zero), is at most
     * k; the video ends at the last frame's end time, rounded the same way. Decoding stops once
     * {@code maxFrames} output frames exist. The default reads no video.
     *
     * @param file the video file
     * @param fps output frames per second, positive
     * @param maxFrames most output frames to return, positive
     * @return the frames
     * @throws UnsupportedMediaException if this codec does not read the file's format (or no video)
     * @throws dev.avatar4j.InvalidInputException if the file is broken or holds no video frame
     */
    default VideoClip readVideo(Path file, int fps, int maxFrames) throws UnsupportedMediaException {
        throw new UnsupportedMediaException("the " + name() + " codec does not read video");
    }

    /**
     * Opens the video of {@code file} as a stream: the frames {@link #readVideo(Path, int, int)}
     * would return, in the same order and bit for bit, decoded on demand so that a long input is
     * never held at once. The default decodes the whole clip with {@code readVideo}; codecs that
     * decode incrementally override it.
     *
     * @param file the video file
     * @param fps output frames per second, positive
     * @param maxFrames most frames the stream returns, positive
     * @return the stream, which the caller must close
     * @throws UnsupportedMediaException if this codec does not read the file's format (exactly
     *         when {@code readVideo} would throw it)
     * @throws dev.avatar4j.InvalidInputException if the file is broken or holds no video frame
     */
    default VideoStream readVideoStream(Path file, int fps, int maxFrames) throws UnsupportedMediaException {
        return VideoStream.of(readVideo(file, fps, maxFrames));
    }

    /**
     * The number of samples {@link #readAudio(Path, int)} would return, ideally without holding
     * them all (for planning long inputs). The default decodes the file with {@code readAudio};
     * codecs that can stream override it.
     *
     * @param file the audio file
     * @param sampleRate the sample rate the samples are counted at, in Hz, positive
     * @return the number of mono samples at {@code sampleRate}
     * @throws UnsupportedMediaException if this codec does not read the file's format
     * @throws dev.avatar4j.InvalidInputException if the file is broken
     */
    default long countAudio(Path file, int sampleRate) throws UnsupportedMediaException {
        return readAudio(file, sampleRate).length();
    }

    /**
     * Opens the audio of {@code file} as a stream: the samples {@link #readAudio(Path, int)} would
     * return, in the same order and bit for bit, read in chunks so that generation never holds a
     * long input at once. The default decodes the whole file with {@code readAudio}; codecs that
     * decode incrementally override it.
     *
     * @param file the audio file
     * @param sampleRate the sample rate wanted, in Hz, positive
     * @return the stream, which the caller must close
     * @throws UnsupportedMediaException if this codec does not read the file's format (exactly
     *         when {@code readAudio} would throw it)
     * @throws dev.avatar4j.InvalidInputException if the file is broken
     */
    default AudioStream readAudioStream(Path file, int sampleRate) throws UnsupportedMediaException {
        return AudioStream.of(readAudio(file, sampleRate));
    }

    /**
     * Opens an MP4 (H.264 + AAC) writer that writes to a temporary file and renames it to
     * {@code out} on {@link FrameSink#complete()}.
     *
     * <p>The SDK reuses the buffer of a {@link dev.avatar4j.Frame} it hands to this sink once
     * {@code accept} returns: the sink converts or copies what it needs during {@code accept} and
     * keeps no reference to the frame.
     *
     * @param out the file to write; its extension may choose the container
     * @param spec frame size and rate, the audio to mux, and the encoding settings
     * @return the sink; the caller feeds it frames of {@code spec}'s size, then completes it (or
     *         aborts it) and closes it
     * @throws UnsupportedMediaException if this codec cannot write video
     */
    FrameSink openVideoWriter(Path out, VideoSpec spec) throws UnsupportedMediaException;

    /**
     * Opens a video writer that streams a fragmented MP4 (H.264 + AAC; {@code movflags}
     * {@code frag_keyframe+empty_moov+default_base_moof}) to {@code out} as the frames arrive: the
     * bytes are written in order, never sought back, so a browser or player can play what has
     * arrived while the rest is still being generated. The writer never closes {@code out}; it
     * flushes it on {@link FrameSink#complete()}. {@link FrameSink#abort()} stops writing (what was
     * written stays written: a stream cannot be taken back). The default writes no streams.
     *
     * @param out where the bytes go; owned by the caller
     * @param spec the video's size, rate, audio and encoding
     * @return the writer
     * @throws UnsupportedMediaException if this codec cannot write video to a stream
     */
    default FrameSink openVideoWriter(OutputStream out, VideoSpec spec) throws UnsupportedMediaException {
        throw new UnsupportedMediaException("the " + name() + " codec does not write video to a stream");
    }
}
