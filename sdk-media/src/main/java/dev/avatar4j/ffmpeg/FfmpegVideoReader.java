package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_VIDEO;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoClip;
import dev.avatar4j.media.VideoStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes the first video track of any file FFmpeg reads to RGB frames at a constant frame rate
 * ({@link FpsResampler}), turned upright by the display matrix of the first frame, one decoded frame
 * at a time: {@link #open} returns a {@link VideoStream} that holds at most the frame being repeated
 * and the one just decoded. Duplicated output frames are the same {@link RgbImage}. {@link #read}
 * collects the stream (every distinct frame in memory; {@code maxFrames} bounds that).
 */
final class FfmpegVideoReader implements VideoStream {
    private static final Logger log = LoggerFactory.getLogger(FfmpegVideoReader.class);

    private final Path file;
    private final int fps;
    private final int maxFrames;
    private final AvInput input;
    private final RgbConverter converter = new RgbConverter();
    private final FpsResampler resampler;
    private final double sourceFps;
    private FfmpegImageReader.Orientation orientation;
    /** The last decoded frame: its output copies are known once the next frame (or the end) arrives. */
    private RgbImage held;
    private long lastTs;
    private long lastGap;
    private int decoded;
    /** The frame being handed out and how many more times. */
    private RgbImage repeating;
    private int repeatsLeft;
    private int returned;
    private boolean ended;
    private boolean closed;
    private int width;
    private int height;

    private FfmpegVideoReader(Path file, int fps, int maxFrames, AvInput input) {
        this.file = file;
        this.fps = fps;
        this.maxFrames = maxFrames;
        this.input = input;
        this.resampler = new FpsResampler(fps);
        AVRational r = input.stream().avg_frame_rate();
        if (r.num() == 0 && r.den() == 0) {
            r = input.stream().r_frame_rate();
        }
        this.sourceFps = (double) r.num() / r.den();
    }

    /** Decodes the whole clip (at most {@code maxFrames} frames). */
    static VideoClip read(Path file, int fps, int maxFrames) {
        try (FfmpegVideoReader r = open(file, fps, maxFrames)) {
            List<RgbImage> out = new ArrayList<>();
            for (RgbImage f = r.next(); f != null; f = r.next()) {
                out.add(f);
            }
            log.debug("decoded {} frames of {} ({} fps) into {} frames at {} fps", r.decoded, file, r.sourceFps,
                    out.size(), fps);
            return new VideoClip(r.width(), r.height(), fps, out);
        }
    }

    /**
     * Opens the file and decodes its first frame (so that the size is known).
     *
     * @throws InvalidInputException if the file is not a video FFmpeg reads or holds no decodable frame
     */
    static FfmpegVideoReader open(Path file, int fps, int maxFrames) {
        if (fps <= 0 || maxFrames <= 0) {
            throw new IllegalArgumentException("fps and maxFrames must be positive, got " + fps + ", " + maxFrames);
        }
        AvInput in = AvInput.open(file, true, "video");
        FfmpegVideoReader r = null;
        try {
            int vs = in.findStream(AVMEDIA_TYPE_VIDEO);
            if (vs < 0) {
                throw new InvalidInputException(file + " holds no video track");
            }
            in.openDecoder(vs, Map.of("max_pixels", Long.toString(FfmpegImageReader.MAX_PIXELS)), "video");
            r = new FfmpegVideoReader(file, fps, maxFrames, in);
            if (!r.decodeOne()) {
                throw new InvalidInputException("video " + file + " holds no decodable frame");
            }
            r.width = r.held.width();
            r.height = r.held.height();
            return r;
        } catch (RuntimeException e) {
            if (r != null) {
                r.close();
            } else {
                in.close();
            }
            throw e;
        }
    }

    @Override
    public int width() {
        return width;
    }

    @Override
    public int height() {
        return height;
    }

    @Override
    public int fps() {
        return fps;
    }

    @Override
    public RgbImage next() {
        if (closed) {
            throw new IllegalStateException("the video stream of " + file + " is closed");
        }
        while (repeatsLeft == 0 && returned < maxFrames && !ended) {
            decodeOne();
        }
        if (repeatsLeft == 0 || returned >= maxFrames) {
            return null;
        }
        repeatsLeft--;
        returned++;
        return repeating;
    }

    /**
     * Decodes one more frame (or reaches the end) and sets how often the previous one is repeated.
     *
     * @return false at the end of the file
     */
    private boolean decodeOne() {
        while (true) {
            AVFrame f = input.next();
            if (f == null) {
                ended = true;
                if (held != null) {
                    // the last frame lasts one source frame interval (the container's average rate,
                    // else the last gap between frames, else one output frame)
                    long duration = sourceFps > 0 && Double.isFinite(sourceFps) ? Math.round(1e6 / sourceFps)
                            : lastGap > 0 ? lastGap : Math.round(1e6 / fps);
                    repeating = held;
                    repeatsLeft = resampler.finish(lastTs + duration);
                    held = null;
                }
                return false;
            }
            if (f.data(0) == null || f.width() <= 0 || f.height() <= 0) {
                continue;
            }
            FfmpegImageReader.checkSize(file, f.width(), f.height());
            if (orientation == null) {
                orientation = FfmpegImageReader.orientation(f);
            }
            long ts = input.micros(f.best_effort_timestamp(), lastTs);
            int n = resampler.push(ts);
            RgbImage img = converter.convert(f, f.width(), f.height(), orientation);
            if (held != null) {
                if (img.width() != held.width() || img.height() != held.height()) {
                    throw new InvalidInputException("video " + file + " changes size at frame " + decoded + " ("
                            + held.width() + "x" + held.height() + " to " + img.width() + "x" + img.height() + ")");
                }
                lastGap = ts - lastTs;
                repeating = held;
                repeatsLeft = n;
            }
            held = img;
            lastTs = ts;
            decoded++;
            return true;
        }
    }

    /** The video track's declared bit rate, else the file's overall rate, else 0. */
    @Override
    public long bitRate() {
        long r = input.stream().codecpar().bit_rate();
        if (r <= 0 && input.format() != null) {
            r = input.format().bit_rate();
        }
        return Math.max(0, r);
    }

    /** Source frames decoded so far (for tests). */
    int decodedFrames() {
        return decoded;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            held = null;
            repeating = null;
            converter.close();
            input.close();
        }
    }
}
