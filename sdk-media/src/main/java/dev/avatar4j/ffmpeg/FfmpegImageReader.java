package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_ANSI;
import static org.bytedeco.ffmpeg.global.avformat.AV_DISPOSITION_ATTACHED_PIC;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_AUDIO;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_VIDEO;
import static org.bytedeco.ffmpeg.global.avutil.AV_FRAME_DATA_DISPLAYMATRIX;
import static org.bytedeco.ffmpeg.global.avutil.av_display_rotation_get;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_get_side_data;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.RgbImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.ffmpeg.avcodec.AVCodecParameters;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVFrameSideData;
import org.bytedeco.javacpp.IntPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decodes the first picture of any image (or video) file FFmpeg reads to packed RGB, applying the
 * orientation the file declares (EXIF orientation of JPEGs, display matrices), as FFmpeg's own
 * command line tools do.
 *
 * <p>Pictures of more than {@link #MAX_DECODED_PIXELS} pixels are scaled down (keeping their aspect
 * ratio) by libswscale right after decoding, so that a huge but well-compressed image does not
 * fill the Java heap.
 *
 * <p>The declared size is checked before any pixel is decoded: from the file header for the common
 * formats ({@link ImageHeaderProbe}), from the container when it declares one, and with the
 * decoder's {@code max_pixels} limit as the backstop for everything else.
 */
final class FfmpegImageReader {
    private static final Logger log = LoggerFactory.getLogger(FfmpegImageReader.class);

    /** At most this many pixels per side. */
    static final int MAX_SIDE = 16384;
    /** At most this many pixels in all. */
    static final long MAX_PIXELS = 100_000_000L;
    /**
     * Larger pictures are scaled down to this many pixels (4096 x 4096) as they are decoded, in
     * native memory, so that the Java heap never holds more than 48 MiB of RGB for one image; every
     * model renders far smaller frames (a 12 Mpx photo is kept as it is).
     */
    static final long MAX_DECODED_PIXELS = 4096L * 4096L;

    private FfmpegImageReader() {
    }

    static RgbImage read(Path file) {
        ImageHeaderProbe.Size declared;
        try {
            declared = ImageHeaderProbe.probe(file);
        } catch (IOException e) {
            throw new InvalidInputException("cannot read image " + file + ": " + e.getMessage(), e);
        }
        if (declared != null) {
            checkSize(file, declared.width(), declared.height());
        }
        // no avformat_find_stream_info: for image demuxers it would decode the whole picture
        // (without the max_pixels limit) just to learn its size
        try (AvInput in = AvInput.open(file, false, "image")) {
            int vs = checkIsImage(file, in);
            AVCodecParameters par = in.format().streams(vs).codecpar();
            if (par.width() > 0 && par.height() > 0) {
                checkSize(file, par.width(), par.height());
            }
            Map<String, String> options = new HashMap<>();
            options.put("max_pixels", Long.toString(MAX_PIXELS));
            if (strictDecode(file)) {
                // a truncated or damaged picture is an error, not a picture with grey or smeared
                // parts: FFmpeg conceals such errors by default (a JPEG cut in half decodes, "EOI
                // missing, emulating"); "explode" fails the decode instead, "crccheck" checks PNG
                // chunk CRCs. Only for PNG and JPEG: FFmpeg's TIFF decoder, for one, fails on valid
                // files (ImageIO's) with "explode"
                options.put("err_detect", "crccheck+explode");
            }
            in.openDecoder(vs, options, "image");
            AVFrame f = in.next();
            if (f == null || f.width() <= 0 || f.height() <= 0 || f.data(0) == null) {
                throw new InvalidInputException("cannot decode image " + file + ": the file is corrupt or truncated"
                        + (declared == null ? " (or larger than " + MAX_PIXELS / 1_000_000 + " Mpx)" : ""));
            }
            checkSize(file, f.width(), f.height());
            int[] size = boundedSize(f.width(), f.height(), MAX_DECODED_PIXELS);
            if (size[0] != f.width()) {
                log.debug("scaling {} down from {}x{} to {}x{} as it is decoded", file, f.width(), f.height(),
                        size[0], size[1]);
            }
            try (RgbConverter conv = new RgbConverter()) {
                return conv.convert(f, size[0], size[1], orientation(f));
            }
        }
    }

    /**
     * The size to decode a {@code w x h} picture to so that it has at most {@code maxPixels}
     * pixels: the picture itself when it is small enough, else scaled down keeping its aspect
     * ratio (each side at least 1).
     */
    static int[] boundedSize(int w, int h, long maxPixels) {
        if ((long) w * h <= maxPixels) {
            return new int[] {w, h};
        }
        double s = Math.sqrt(maxPixels / ((double) w * h));
        int nw = Math.max(1, (int) Math.floor(w * s));
        int nh = Math.max(1, (int) Math.floor(h * s));
        return new int[] {nw, nh};
    }

    /** Whether {@code file} is a PNG or JPEG, decoded with FFmpeg's error detection on. */
    private static boolean strictDecode(Path file) {
        try {
            String sig = ImageHeaderProbe.imageSignature(file);
            return "PNG".equals(sig) || "JPEG".equals(sig);
        } catch (IOException e) {
            throw new InvalidInputException("cannot read image " + file + ": " + e.getMessage(), e);
        }
    }

    static void checkSize(Path file, long w, long h) {
        if (w <= 0 || h <= 0) {
            throw new InvalidInputException("image " + file + " has no pixels (" + w + "x" + h + ")");
        }
        if (w > MAX_SIDE || h > MAX_SIDE || w * h > MAX_PIXELS) {
            throw new InvalidInputException("image " + file + " is too large: " + w + "x" + h + " pixels (at most "
                    + MAX_SIDE + " per side and " + MAX_PIXELS / 1_000_000 + " Mpx); scale it down");
        }
    }

    /** The index of the picture's stream; refuses audio, audio with cover art and text. */
    private static int checkIsImage(Path file, AvInput in) {
        AVFormatContext oc = in.format();
        boolean hasAudio = false;
        for (int i = 0; i < oc.nb_streams(); i++) {
            hasAudio |= oc.streams(i).codecpar().codec_type() == AVMEDIA_TYPE_AUDIO;
        }
        int vs = in.findStream(AVMEDIA_TYPE_VIDEO);
        if (vs < 0) {
            throw new InvalidInputException(file + " is not an image" + (hasAudio ? " (it holds audio only)" : ""));
        }
        AVStream st = oc.streams(vs);
        if (hasAudio && (st.disposition() & AV_DISPOSITION_ATTACHED_PIC) != 0) {
            throw new InvalidInputException(file + " is not an image (it is audio with cover art)");
        }
        String format = oc.iformat() == null ? "" : oc.iformat().name().getString();
        if (st.codecpar().codec_id() == AV_CODEC_ID_ANSI || format.equals("tty")) {
            throw new InvalidInputException(file + " is not an image (it is text)");
        }
        return vs;
    }

    /**
     * How to turn the decoded picture upright. Mirrors the auto-rotation of FFmpeg's command line
     * tools: multiples of 90 degrees and flips; other angles are ignored.
     */
    enum Orientation {
        NONE, ROTATE_CW, ROTATE_CCW, TRANSPOSE, TRANSVERSE, HFLIP, VFLIP, ROTATE_180;

        boolean swapsAxes() {
            return this == ROTATE_CW || this == ROTATE_CCW || this == TRANSPOSE || this == TRANSVERSE;
        }
    }

    static Orientation orientation(AVFrame frame) {
        AVFrameSideData sd = av_frame_get_side_data(frame, AV_FRAME_DATA_DISPLAYMATRIX);
        if (sd == null || sd.isNull() || sd.size() < 9 * 4) {
            return Orientation.NONE;
        }
        IntPointer m = new IntPointer(sd.data()).capacity(9);
        int[] dm = new int[9];
        m.get(dm);
        return orientation(dm);
    }

    /** The orientation for a display matrix, exactly as {@code ffmpeg}/{@code ffplay} auto-rotate. */
    static Orientation orientation(int[] dm) {
        double theta = -Math.round(av_display_rotation_get(dm));
        theta -= 360 * Math.floor(theta / 360 + 0.9 / 360);
        if (Math.abs(theta - 90) < 1.0) {
            return dm[3] > 0 ? Orientation.TRANSPOSE : Orientation.ROTATE_CW;
        } else if (Math.abs(theta - 180) < 1.0) {
            boolean h = dm[0] < 0;
            boolean v = dm[4] < 0;
            return h && v ? Orientation.ROTATE_180 : h ? Orientation.HFLIP : v ? Orientation.VFLIP : Orientation.NONE;
        } else if (Math.abs(theta - 270) < 1.0) {
            return dm[3] < 0 ? Orientation.TRANSVERSE : Orientation.ROTATE_CCW;
        } else if (Math.abs(theta) < 1.0) {
            return dm[4] < 0 ? Orientation.VFLIP : Orientation.NONE;
        }
        log.debug("ignoring a display rotation of {} degrees", theta);
        return Orientation.NONE;
    }

    /**
     * Copies packed RGB24 rows of {@code w x h} pixels ({@code stride} bytes apart in {@code src})
     * into an image, turned upright.
     */
    static RgbImage toRgb(ByteBuffer src, int stride, int w, int h, Orientation o) {
        byte[] packed = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        if (o == Orientation.NONE) {
            for (int y = 0; y < h; y++) {
                src.get(y * stride, packed, y * w * 3, w * 3);
            }
            return RgbImage.ofOwned(w, h, packed); // packed is ours: no second copy
        }
        byte[] row = new byte[w * 3];
        int ow = o.swapsAxes() ? h : w;
        int oh = o.swapsAxes() ? w : h;
        for (int y = 0; y < h; y++) {
            src.get(y * stride, row, 0, w * 3);
            for (int x = 0; x < w; x++) {
                // output pixel (ox, oy) that source pixel (x, y) lands on
                int ox;
                int oy;
                switch (o) {
                    case ROTATE_CW -> { ox = h - 1 - y; oy = x; }
                    case ROTATE_CCW -> { ox = y; oy = w - 1 - x; }
                    case TRANSPOSE -> { ox = y; oy = x; }
                    case TRANSVERSE -> { ox = h - 1 - y; oy = w - 1 - x; }
                    case HFLIP -> { ox = w - 1 - x; oy = y; }
                    case VFLIP -> { ox = x; oy = h - 1 - y; }
                    default -> { ox = w - 1 - x; oy = h - 1 - y; } // ROTATE_180
                }
                int d = (oy * ow + ox) * 3;
                packed[d] = row[x * 3];
                packed[d + 1] = row[x * 3 + 1];
                packed[d + 2] = row[x * 3 + 2];
            }
        }
        return RgbImage.ofOwned(ow, oh, packed);
    }
}
