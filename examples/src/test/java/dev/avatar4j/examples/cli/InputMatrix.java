package dev.avatar4j.examples.cli;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.global.avformat;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.ffmpeg.global.swresample;
import org.bytedeco.ffmpeg.swresample.SwrContext;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Input files for {@link InputMatrixTest}, all made at test time: WAV files of any format tag,
 * bit depth, rate and channel count (written byte by byte, so that broken ones can be made too),
 * compressed audio encoded with the FFmpeg that {@code sdk-media} bundles, and images whose
 * header is patched.
 */
final class InputMatrix {
    private InputMatrix() {
    }

    /** WAV format tags. */
    static final int PCM = 1;
    static final int IEEE_FLOAT = 3;

    /** {@code seconds} of speech-like sound (a 220 Hz tone, amplitude-modulated at 3 Hz) at {@code rate}. */
    static float[] speech(double seconds, int rate) {
        float[] s = new float[(int) Math.round(seconds * rate)];
        for (int i = 0; i < s.length; i++) {
            double t = (double) i / rate;
            s[i] = (float) (0.4 * Math.sin(2 * Math.PI * 220 * t) * (0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t)));
        }
        return s;
    }

    /**
     * Writes a WAV with the given format chunk fields and raw sample bytes.
     *
     * @param tag the format tag (1 PCM, 3 IEEE float, anything else)
     */
    static Path wav(Path file, int tag, int channels, int rate, int bits, byte[] data) throws IOException {
        int blockAlign = Math.max(1, channels * bits / 8);
        ByteBuffer b = ByteBuffer.allocate(44 + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(36 + data.length).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(16).putShort((short) tag).putShort((short) channels).putInt(rate)
                .putInt(rate * blockAlign).putShort((short) blockAlign).putShort((short) bits);
        b.put("data".getBytes()).putInt(data.length).put(data);
        Files.write(file, b.array());
        return file;
    }

    /** A 16-bit PCM WAV; every channel carries {@code samples}. */
    static Path wav16(Path file, float[] samples, int rate, int channels) throws IOException {
        ByteBuffer d = ByteBuffer.allocate(samples.length * channels * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : samples) {
            for (int c = 0; c < channels; c++) {
                d.putShort((short) Math.max(-32768, Math.min(32767, Math.round(v * 32767f))));
            }
        }
        return wav(file, PCM, channels, rate, 16, d.array());
    }

    /** A mono 32-bit float WAV. */
    static Path wavFloat(Path file, float[] samples, int rate) throws IOException {
        ByteBuffer d = ByteBuffer.allocate(samples.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : samples) {
            d.putFloat(v);
        }
        return wav(file, IEEE_FLOAT, 1, rate, 32, d.array());
    }

    /** A mono 32-bit float WAV of speech with {@code poison} at sample 1000. */
    static Path wavFloatWith(Path file, float poison) throws IOException {
        float[] s = speech(0.6, 16000);
        s[1000] = poison;
        return wavFloat(file, s, 16000);
    }

    /**
     * Encodes mono {@code samples} with FFmpeg.
     *
     * @param format    the container ({@code mp3}, {@code mp4}, {@code wav})
     * @param codec     the {@code AV_CODEC_ID_*} of the audio codec
     * @param sampleFormat the {@code AV_SAMPLE_FMT_*} the encoder takes, or -1 for the encoder's first
     * @param faststart for MP4: the index before the samples (else after them, FFmpeg's default)
     */
    static Path encode(Path file, String format, int codec, int sampleFormat, float[] samples, int rate,
                       boolean faststart) throws IOException {
        AVFormatContext oc = new AVFormatContext(null);
        check(avformat.avformat_alloc_output_context2(oc, null, format, file.toString()), "alloc output", file);
        AVCodec c = avcodec.avcodec_find_encoder(codec);
        if (c == null || c.isNull()) {
            throw new IOException("cannot encode " + file + ": no encoder for codec " + codec);
        }
        AVCodecContext ctx = avcodec.avcodec_alloc_context3(c);
        AVPacket pkt = avcodec.av_packet_alloc();
        AVFrame frame = avutil.av_frame_alloc();
        SwrContext swr = new SwrContext(null);
        try {
            int fmt = sampleFormat >= 0 ? sampleFormat : c.sample_fmts().get(0);
            ctx.sample_fmt(fmt).sample_rate(rate).bit_rate(64_000);
            avutil.av_channel_layout_default(ctx.ch_layout(), 1);
            ctx.time_base(avutil.av_make_q(1, rate));
            if ((oc.oformat().flags() & avformat.AVFMT_GLOBALHEADER) != 0) {
                ctx.flags(ctx.flags() | avcodec.AV_CODEC_FLAG_GLOBAL_HEADER);
            }
            check(avcodec.avcodec_open2(ctx, c, (AVDictionary) null), "open encoder", file);
            AVStream st = avformat.avformat_new_stream(oc, null);
            avcodec.avcodec_parameters_from_context(st.codecpar(), ctx);
            st.time_base(ctx.time_base());
            AVIOContext pb = new AVIOContext(null);
            check(avformat.avio_open(pb, file.toString(), avformat.AVIO_FLAG_WRITE), "open", file);
            oc.pb(pb);
            AVDictionary opts = new AVDictionary(null);
            if (faststart) {
                avutil.av_dict_set(opts, "movflags", "+faststart", 0);
            }
            check(avformat.avformat_write_header(oc, opts), "write header", file);
            avutil.av_dict_free(opts);
            check(swresample.swr_alloc_set_opts2(swr, ctx.ch_layout(), fmt, rate, ctx.ch_layout(),
                    avutil.AV_SAMPLE_FMT_FLT, rate, 0, null), "swr", file);
            check(swresample.swr_init(swr), "swr_init", file);
            int frameSize = ctx.frame_size() > 0 ? ctx.frame_size() : 1024;
            frame.format(fmt).sample_rate(rate).nb_samples(frameSize);
            avutil.av_channel_layout_copy(frame.ch_layout(), ctx.ch_layout());
            check(avutil.av_frame_get_buffer(frame, 0), "frame buffer", file);
            long pts = 0;
            try (FloatPointer all = new FloatPointer(samples); PointerPointer<FloatPointer> in = new PointerPointer<>(1)) {
                for (int at = 0; at < samples.length; at += frameSize) {
                    int n = Math.min(frameSize, samples.length - at);
                    check(avutil.av_frame_make_writable(frame), "writable", file);
                    in.put(0, all.position(at));
                    int got = swresample.swr_convert(swr, frame.extended_data(), frameSize, in, n);
                    frame.nb_samples(got).pts(pts);
                    pts += got;
                    write(oc, ctx, st, frame, pkt, file);
                }
            }
            write(oc, ctx, st, null, pkt, file);
            check(avformat.av_write_trailer(oc), "trailer", file);
            avformat.avio_closep(pb);
            oc.pb(null);
        } finally {
            swresample.swr_free(swr);
            avutil.av_frame_free(frame);
            avcodec.av_packet_free(pkt);
            avcodec.avcodec_free_context(ctx);
            avformat.avformat_free_context(oc);
        }
        return file;
    }

    private static void write(AVFormatContext oc, AVCodecContext ctx, AVStream st, AVFrame f, AVPacket pkt, Path file)
            throws IOException {
        check(avcodec.avcodec_send_frame(ctx, f), "send frame", file);
        while (true) {
            int ret = avcodec.avcodec_receive_packet(ctx, pkt);
            if (ret == avutil.AVERROR_EAGAIN() || ret == avutil.AVERROR_EOF()) {
                return;
            }
            check(ret, "receive packet", file);
            avcodec.av_packet_rescale_ts(pkt, ctx.time_base(), st.time_base());
            pkt.stream_index(st.index());
            check(avformat.av_interleaved_write_frame(oc, pkt), "write", file);
        }
    }

    private static void check(int ret, String what, Path file) throws IOException {
        if (ret < 0) {
            throw new IOException("cannot encode " + file + ": " + what + " failed with FFmpeg error " + ret);
        }
    }

    static Path mp3(Path file, double seconds) throws IOException {
        return mp3(file, seconds, 16000);
    }

    static Path mp3(Path file, double seconds, int rate) throws IOException {
        return encode(file, "mp3", avcodec.AV_CODEC_ID_MP3, -1, speech(seconds, rate), rate, false);
    }

    static Path m4a(Path file, double seconds, boolean faststart) throws IOException {
        return encode(file, "mp4", avcodec.AV_CODEC_ID_AAC, -1, speech(seconds, 44100), 44100, faststart);
    }

    /** Writes the first {@code fraction} of {@code from}'s bytes to {@code to}. */
    static Path cut(Path from, Path to, double fraction) throws IOException {
        byte[] all = Files.readAllBytes(from);
        Files.write(to, Arrays.copyOf(all, (int) (all.length * fraction)));
        return to;
    }

    /** {@code from} with {@code count} random bytes written over it from {@code at} on. */
    static Path damage(Path from, Path to, int at, int count) throws IOException {
        byte[] all = Files.readAllBytes(from);
        Random r = new Random(at * 31L + count);
        for (int i = at; i < Math.min(all.length, at + count); i++) {
            all[i] = (byte) r.nextInt(256);
        }
        Files.write(to, all);
        return to;
    }

    /** Where the two bytes {@code a b} first occur in {@code file}. */
    static int indexOf(Path file, int a, int b) throws IOException {
        byte[] all = Files.readAllBytes(file);
        for (int i = 0; i + 1 < all.length; i++) {
            if ((all[i] & 0xFF) == a && (all[i + 1] & 0xFF) == b) {
                return i;
            }
        }
        throw new IOException(String.format("no %02X %02X in %s", a, b, file));
    }

    /** A gradient portrait as PNG or JPEG (ImageIO format name). */
    static Path image(Path file, String format, int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, (x * 255 / Math.max(1, w - 1)) << 16 | (y * 255 / Math.max(1, h - 1)) << 8 | 0x60);
            }
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, bytes)) {
            throw new IOException("no ImageIO writer for " + format);
        }
        Files.write(file, bytes.toByteArray());
        return file;
    }

    /**
     * A real {@code w x h} PNG whose IHDR (CRC recomputed) then declares {@code declared x declared}:
     * a valid-looking header over far fewer pixels than it claims.
     */
    static Path pngDeclaring(Path file, int declared) throws IOException {
        image(file, "png", 32, 32);
        byte[] png = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(png).order(ByteOrder.BIG_ENDIAN);
        // signature (8), IHDR length (4), "IHDR" at 12, width at 16, height at 20, CRC at 29
        if (b.getInt(12) != 0x49484452) {
            throw new IOException("no IHDR first in " + file);
        }
        b.putInt(16, declared).putInt(20, declared);
        CRC32 crc = new CRC32();
        crc.update(png, 12, 17);
        b.putInt(29, (int) crc.getValue());
        Files.write(file, png);
        return file;
    }

    /** A real JPEG whose frame header (SOF0) then declares {@code declared x declared}. */
    static Path jpegDeclaring(Path file, int declared) throws IOException {
        image(file, "jpg", 32, 32);
        byte[] jpg = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(jpg).order(ByteOrder.BIG_ENDIAN);
        int at = 2;
        while (at + 4 < jpg.length) {
            int marker = b.getShort(at) & 0xFFFF;
            int length = b.getShort(at + 2) & 0xFFFF;
            if (marker == 0xFFC0) {
                // length (2), precision (1), height (2), width (2)
                b.putShort(at + 5, (short) declared).putShort(at + 7, (short) declared);
                Files.write(file, jpg);
                return file;
            }
            at += 2 + length;
        }
        throw new IOException("no SOF0 in " + file);
    }
}
