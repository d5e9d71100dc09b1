package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.av_free;
import static org.bytedeco.ffmpeg.global.avutil.av_malloc;
import static org.bytedeco.ffmpeg.global.swscale.SWS_ACCURATE_RND;
import static org.bytedeco.ffmpeg.global.swscale.SWS_BICUBIC;
import static org.bytedeco.ffmpeg.global.swscale.SWS_FULL_CHR_H_INT;
import static org.bytedeco.ffmpeg.global.swscale.sws_freeContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_getCachedContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_scale;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.RgbImage;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Decoded pictures to packed RGB with libswscale (bicubic, accurate rounding, full chroma
 * interpolation), optionally scaled, into one reused native buffer; then copied into a Java
 * {@link RgbImage}, turned upright. Not thread-safe; {@link #close()} frees the native memory.
 */
final class RgbConverter implements AutoCloseable {
    private static final int FLAGS = SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT;

    private SwsContext sws;
    private BytePointer buf;
    private long bufSize;
    private final PointerPointer<BytePointer> dst = new PointerPointer<>(4);
    private final IntPointer dstStride = new IntPointer(4);

    /**
     * Converts {@code f} to RGB at {@code outW x outH} (before orientation), then applies {@code o}.
     */
    RgbImage convert(AVFrame f, int outW, int outH, FfmpegImageReader.Orientation o) {
        sws = sws_getCachedContext(sws, f.width(), f.height(), f.format(), outW, outH, AV_PIX_FMT_RGB24, FLAGS,
                null, null, (DoublePointer) null);
        if (sws == null) {
            throw new InvalidInputException("cannot convert a " + f.width() + "x" + f.height()
                    + " picture of pixel format " + f.format() + " to RGB");
        }
        int stride = (outW * 3 + 63) & ~63;
        long size = (long) stride * outH + 64;
        if (buf == null || bufSize < size) {
            if (buf != null) {
                av_free(buf);
            }
            buf = new BytePointer(av_malloc(size)).capacity(size);
            if (buf.isNull()) {
                throw new OutOfMemoryError("av_malloc(" + size + ")");
            }
            bufSize = size;
        }
        dst.put(0, buf);
        dstStride.put(0, stride);
        sws_scale(sws, f.data(), f.linesize(), 0, f.height(), dst, dstStride);
        return FfmpegImageReader.toRgb(buf.asByteBuffer(), stride, outW, outH, o);
    }

    @Override
    public void close() {
        if (sws != null) {
            sws_freeContext(sws);
            sws = null;
        }
        if (buf != null) {
            av_free(buf);
            buf = null;
        }
        dst.close();
        dstStride.close();
    }
}
