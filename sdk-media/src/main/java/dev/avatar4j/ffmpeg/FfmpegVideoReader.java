package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.swscale.SWS_ACCURATE_RND;
import static org.bytedeco.ffmpeg.global.swscale.SWS_BICUBIC;
import static org.bytedeco.ffmpeg.global.swscale.SWS_FULL_CHR_H_INT;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoClip;
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
 * ({@link FpsResampler}), turned upright by the display matrix of the first frame. Duplicated output
 * frames share one {@link RgbImage}. Every distinct frame is held in memory (as LatentSync does);
 * {@code maxFrames} bounds that.
 */
final class FfmpegVideoReader {
    private static final Logger log = LoggerFactory.getLogger(FfmpegVideoReader.class);

    private FfmpegVideoReader() {
    }

    static VideoClip read(Path file, int fps, int maxFrames) {
        if (fps <= 0 || maxFrames <= 0) {
            throw new IllegalArgumentException("fps and maxFrames must be positive, got " + fps + ", " + maxFrames);
        }
        FFmpegFrameGrabber g = new FFmpegFrameGrabber(file.toFile());
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
            double sourceFps = g.getFrameRate();
            FpsResampler resampler = new FpsResampler(fps);
            List<RgbImage> out = new ArrayList<>();
            RgbImage held = null;
            FfmpegImageReader.Orientation orientation = null;
            long lastTs = 0;
            long lastGap = 0;
            int decoded = 0;
            while (out.size() < maxFrames) {
                Frame f;
                try {
                    f = g.grabImage();
                } catch (FrameGrabber.Exception e) {
                    throw new InvalidInputException("cannot decode video " + file + " after " + decoded
                            + " frames: " + FfmpegImageReader.reason(e), e);
                }
                if (f == null) {
                    break;
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
                if (held != null) {
                    lastGap = ts - lastTs;
                    add(out, held, n, maxFrames);
                }
                RgbImage img = FfmpegImageReader.toRgb(f, orientation);
                if (held != null && (img.width() != held.width() || img.height() != held.height())) {
                    throw new InvalidInputException("video " + file + " changes size at frame " + decoded + " ("
                            + held.width() + "x" + held.height() + " to " + img.width() + "x" + img.height() + ")");
                }
                held = img;
                lastTs = ts;
                decoded++;
            }
            if (held == null) {
                throw new InvalidInputException("video " + file + " holds no decodable frame");
            }
            if (out.size() < maxFrames) {
                // the last frame lasts one source frame interval (the container's average rate,
                // else the last gap between frames, else one output frame)
                long duration = sourceFps > 0 && Double.isFinite(sourceFps) ? Math.round(1e6 / sourceFps)
                        : lastGap > 0 ? lastGap : Math.round(1e6 / fps);
                add(out, held, resampler.finish(lastTs + duration), maxFrames);
            }
            log.debug("decoded {} frames of {} ({} fps) into {} frames at {} fps", decoded, file, sourceFps,
                    out.size(), fps);
            return new VideoClip(held.width(), held.height(), fps, out);
        } finally {
            try {
                g.close();
            } catch (Exception e) {
                log.debug("closing the grabber of {} failed: {}", file, e.toString());
            }
        }
    }

    private static void add(List<RgbImage> out, RgbImage frame, int copies, int maxFrames) {
        for (int i = 0; i < copies && out.size() < maxFrames; i++) {
            out.add(frame);
        }
    }
}
