package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_NONE;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_free;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_unref;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_alloc_context3;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_decoder;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_free_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_open2;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_to_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_frame;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_packet;
import static org.bytedeco.ffmpeg.global.avformat.avformat_close_input;
import static org.bytedeco.ffmpeg.global.avformat.avformat_find_stream_info;
import static org.bytedeco.ffmpeg.global.avformat.avformat_open_input;
import static org.bytedeco.ffmpeg.global.avformat.av_read_frame;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AV_NOPTS_VALUE;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_free;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_set;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_free;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_unref;

import dev.avatar4j.InvalidInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.javacpp.BytePointer;

/**
 * One input file opened with libavformat and one of its streams decoded with libavcodec: the
 * demux/decode loop the readers share (FFmpeg's {@code send_packet}/{@code receive_frame} API,
 * flushed at the end). Decoding errors of single packets are skipped, as FFmpeg's command line
 * tools do; a read error ends the stream.
 *
 * <p>Not thread-safe; {@link #close()} frees every native structure.
 */
final class AvInput implements AutoCloseable {
    final Path file;
    private AVFormatContext fmt;
    private AVCodecContext dec;
    private AVStream stream;
    private int index = -1;
    private AVPacket pkt;
    private AVFrame frame;
    private boolean inputEnded;
    private boolean drained;

    private AvInput(Path file) {
        this.file = file;
    }

    /**
     * Opens {@code file}.
     *
     * @param findStreamInfo whether to probe the streams (decodes a little of each; for an image
     *                       demuxer it would decode the whole picture)
     * @return the input, or throws
     * @throws InvalidInputException when FFmpeg cannot open it, with FFmpeg's reason
     */
    static AvInput open(Path file, boolean findStreamInfo, String what) {
        AvInput in = new AvInput(file);
        AVFormatContext ctx = new AVFormatContext(null);
        int ret;
        try (BytePointer name = new BytePointer(file.toString(), StandardCharsets.UTF_8)) {
            ret = avformat_open_input(ctx, name, null, null);
        }
        if (ret < 0) {
            throw new InvalidInputException("cannot read " + what + " " + file
                    + ": not a format FFmpeg recognises, or the file is corrupt ("
                    + FfmpegNatives.describe("avformat_open_input", ret) + ")");
        }
        in.fmt = ctx;
        if (findStreamInfo && (ret = avformat_find_stream_info(ctx, (org.bytedeco.javacpp.PointerPointer<?>) null)) < 0) {
            in.close();
            throw new InvalidInputException("cannot read " + what + " " + file
                    + ": not a format FFmpeg recognises, or the file is corrupt ("
                    + FfmpegNatives.describe("avformat_find_stream_info", ret) + ")");
        }
        return in;
    }

    AVFormatContext format() {
        return fmt;
    }

    /**
     * The first stream of {@code mediaType} FFmpeg has a codec id for, preferring one without
     * disposition flags (not a cover picture or a comment track), or -1.
     */
    int findStream(int mediaType) {
        int any = -1;
        for (int i = 0; i < fmt.nb_streams(); i++) {
            AVStream st = fmt.streams(i);
            if (st.codecpar().codec_type() != mediaType || st.codecpar().codec_id() == AV_CODEC_ID_NONE) {
                continue;
            }
            if (st.disposition() == 0) {
                return i;
            }
            if (any < 0) {
                any = i;
            }
        }
        return any;
    }

    /**
     * Opens the decoder of stream {@code i} with decoder options (FFmpeg's AVOptions, e.g.
     * {@code max_pixels}).
     */
    void openDecoder(int i, Map<String, String> options, String what) {
        stream = fmt.streams(i);
        index = i;
        AVCodec codec = avcodec_find_decoder(stream.codecpar().codec_id());
        if (codec == null) {
            throw new InvalidInputException("cannot read " + what + " " + file + ": FFmpeg has no decoder for its "
                    + "codec (id " + stream.codecpar().codec_id() + ")");
        }
        dec = avcodec_alloc_context3(codec);
        if (dec == null) {
            throw new OutOfMemoryError("avcodec_alloc_context3");
        }
        int ret = avcodec_parameters_to_context(dec, stream.codecpar());
        if (ret < 0) {
            throw new InvalidInputException("cannot read " + what + " " + file + ": "
                    + FfmpegNatives.describe("avcodec_parameters_to_context", ret));
        }
        dec.pkt_timebase(stream.time_base());
        dec.thread_count(0);
        AVDictionary opts = new AVDictionary(null);
        for (Map.Entry<String, String> e : options.entrySet()) {
            av_dict_set(opts, e.getKey(), e.getValue(), 0);
        }
        ret = avcodec_open2(dec, codec, opts);
        av_dict_free(opts);
        if (ret < 0) {
            throw new InvalidInputException("cannot read " + what + " " + file + ": cannot open its decoder ("
                    + FfmpegNatives.describe("avcodec_open2", ret) + ")");
        }
        pkt = av_packet_alloc();
        frame = av_frame_alloc();
    }

    AVStream stream() {
        return stream;
    }

    AVCodecContext decoder() {
        return dec;
    }

    /**
     * The next decoded frame of the stream, or null at its end. The frame belongs to this input
     * and is valid until the next call.
     */
    AVFrame next() {
        if (drained) {
            return null;
        }
        av_frame_unref(frame);
        while (true) {
            int ret = avcodec_receive_frame(dec, frame);
            if (ret >= 0) {
                return frame;
            }
            if (ret == AVERROR_EOF()) {
                drained = true;
                return null;
            }
            // a decoding error skips the frame (as the ffmpeg CLI does); EAGAIN asks for input
            if (inputEnded) {
                // the flush packet was sent and the decoder still wants input: nothing more will come
                drained = true;
                return null;
            }
            feed();
        }
    }

    /** Sends the next packet of the stream to the decoder (the flush packet at the end). */
    private void feed() {
        while (true) {
            int ret = av_read_frame(fmt, pkt);
            if (ret < 0) {
                inputEnded = true;
                avcodec_send_packet(dec, null);
                return;
            }
            try {
                if (pkt.stream_index() != index) {
                    continue;
                }
                avcodec_send_packet(dec, pkt); // a refused packet is skipped, as the ffmpeg CLI does
                return;
            } finally {
                av_packet_unref(pkt);
            }
        }
    }

    /** A timestamp of the stream in microseconds, or {@code fallback} when it has none. */
    long micros(long ts, long fallback) {
        if (ts == AV_NOPTS_VALUE) {
            return fallback;
        }
        AVRational tb = stream.time_base();
        if (tb.den() == 0) {
            return fallback;
        }
        try {
            return Math.multiplyExact(Math.multiplyExact(1_000_000L, ts), (long) tb.num()) / tb.den();
        } catch (ArithmeticException e) {
            return (long) (1_000_000.0 * ts * tb.num() / tb.den());
        }
    }

    @Override
    public void close() {
        if (frame != null) {
            av_frame_free(frame);
            frame = null;
        }
        if (pkt != null) {
            av_packet_free(pkt);
            pkt = null;
        }
        if (dec != null) {
            avcodec_free_context(dec);
            dec = null;
        }
        if (fmt != null) {
            avformat_close_input(fmt);
            fmt = null;
        }
    }
}
