package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.swscale.SWS_ACCURATE_RND;
import static org.bytedeco.ffmpeg.global.swscale.SWS_BICUBIC;
import static org.bytedeco.ffmpeg.global.swscale.SWS_FULL_CHR_H_INT;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoClip;
import dev.avatar4j.media.VideoStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.Frame;
import org.bytedeco.javacv.FrameGrabber;
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
    private final FFmpegFrameGrabber grabber;
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

    private FfmpegVideoReader(Path file, int fps, int maxFrames, FFmpegFrameGrabber grabber) {
        this.file = file;
        this.fps = fps;
        this.maxFrames = maxFrames;
        this.grabber = grabber;
        this.resampler = new FpsResampler(fps);
        this.sourceFps = grabber.getFrameRate();
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
        FFmpegFrameGrabber g = new FFmpegFrameGrabber(file.toFile());
        FfmpegVideoReader r = null;
        try {
            g.setPixelFormat(AV_PIX_FMT_RGB24);
            g.setImageScalingFlags(SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT);
            g.setVideoOption("max_pixels", Long.toString(FfmpegImageReader.MAX_PIXELS));
            try {
                g.start();
            } catch (FrameGrabber.Exception e) {
                throw new InvalidInputException("cannot read video " + file
                        + ": not a format FFmpeg recognises, or the file is corrupt ("
                        + FfmpegImageReader.reason(e) + ")", e);
            }
            if (!g.hasVideo() || g.getVideoStream() < 0) {
                throw new InvalidInputException(file + " holds no video track");
            }
            r = new FfmpegVideoReader(file, fps, maxFrames, g);
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
                release(g, file);
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
            Frame f;
            try {
                f = grabber.grabImage();
            } catch (FrameGrabber.Exception e) {
                throw new InvalidInputException("cannot decode video " + file + " after " + decoded
                        + " frames: " + FfmpegImageReader.reason(e), e);
            }
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
            if (f.image == null || f.imageWidth <= 0 || f.imageHeight <= 0) {
                continue;
            }
            FfmpegImageReader.checkSize(file, f.imageWidth, f.imageHeight);
            if (orientation == null) {
                orientation = FfmpegImageReader.orientation(f);
            }
            long ts = f.timestamp;
            int n = resampler.push(ts);
            RgbImage img = FfmpegImageReader.toRgb(f, orientation);
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
            release(grabber, file);
        }
    }

    private static void release(FFmpegFrameGrabber g, Path file) {
        try {
            g.close();
        } catch (Exception e) {
            log.debug("closing the grabber of {} failed: {}", file, e.toString());
        }
    }
}
