package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_CAP_VARIABLE_FRAME_SIZE;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_FLAG_GLOBAL_HEADER;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_free;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_rescale_ts;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_alloc_context3;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_encoder_by_name;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_free_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_open2;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_from_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_packet;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_frame;
import static org.bytedeco.ffmpeg.global.avformat.AVFMT_GLOBALHEADER;
import static org.bytedeco.ffmpeg.global.avformat.AVIO_FLAG_WRITE;
import static org.bytedeco.ffmpeg.global.avformat.av_interleaved_write_frame;
import static org.bytedeco.ffmpeg.global.avformat.av_write_trailer;
import static org.bytedeco.ffmpeg.global.avformat.avformat_alloc_output_context2;
import static org.bytedeco.ffmpeg.global.avformat.avformat_free_context;
import static org.bytedeco.ffmpeg.global.avformat.avformat_new_stream;
import static org.bytedeco.ffmpeg.global.avformat.avformat_write_header;
import static org.bytedeco.ffmpeg.global.avformat.avio_closep;
import static org.bytedeco.ffmpeg.global.avformat.avio_flush;
import static org.bytedeco.ffmpeg.global.avformat.avio_open;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EAGAIN;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV420P;
import static org.bytedeco.ffmpeg.global.avutil.AV_SAMPLE_FMT_FLT;
import static org.bytedeco.ffmpeg.global.avutil.av_audio_fifo_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_audio_fifo_free;
import static org.bytedeco.ffmpeg.global.avutil.av_audio_fifo_read;
import static org.bytedeco.ffmpeg.global.avutil.av_audio_fifo_size;
import static org.bytedeco.ffmpeg.global.avutil.av_audio_fifo_write;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_default;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_uninit;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_free;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_set;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_free;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_get_buffer;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_make_writable;
import static org.bytedeco.ffmpeg.global.avutil.av_make_q;
import static org.bytedeco.ffmpeg.global.avutil.av_samples_alloc_array_and_samples;
import static org.bytedeco.ffmpeg.global.avutil.av_freep;
import static org.bytedeco.ffmpeg.global.swresample.swr_alloc_set_opts2;
import static org.bytedeco.ffmpeg.global.swresample.swr_convert;
import static org.bytedeco.ffmpeg.global.swresample.swr_free;
import static org.bytedeco.ffmpeg.global.swresample.swr_get_out_samples;
import static org.bytedeco.ffmpeg.global.swresample.swr_init;
import static org.bytedeco.ffmpeg.global.swscale.SWS_ACCURATE_RND;
import static org.bytedeco.ffmpeg.global.swscale.SWS_BICUBIC;
import static org.bytedeco.ffmpeg.global.swscale.SWS_FULL_CHR_H_INP;
import static org.bytedeco.ffmpeg.global.swscale.sws_freeContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_getContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_scale;

import dev.avatar4j.Frame;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.AudioStream;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.PartFiles;
import dev.avatar4j.media.VideoSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVAudioFifo;
import org.bytedeco.ffmpeg.avutil.AVChannelLayout;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.swresample.SwrContext;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a video file (MP4 with H.264 yuv420p + AAC by default) while frames arrive, with
 * libavformat, libavcodec, libswscale and libswresample directly (no JavaCV, no libavdevice).
 *
 * <p><b>Containers.</b> The file name's extension chooses the container: {@code .mp4},
 * {@code .m4v}, {@code .mov}, {@code .mkv} (H.264 + AAC) and {@code .webm} (VP9 + Opus, when the
 * FFmpeg build has libvpx and libopus, as the default natives do); any other extension is refused
 * with an {@link InvalidInputException} naming these. A name without an extension gets MP4.
 *
 * <p><b>Quality.</b> {@link VideoSpec#quality()} caps the H.264 quantiser (libopenh264, in its
 * quality rate-control mode; the CRF with libx264; VP9's CRF scaled to 0–63), and
 * {@link VideoSpec#bitrate()} is the rate the encoder aims at; with a bit rate and no quality the
 * encoder is rate-controlled by the bit rate alone.
 *
 * <p><b>Timestamps.</b> The video time base is {@code 1/fps}; frame {@code i} gets presentation
 * timestamp {@code i} (from {@link Frame#index()}, which must increase), so a frame's time is
 * exactly {@code index / fps}.
 *
 * <p><b>Audio.</b> The track comes from {@link VideoSpec#audioFile()} when FFmpeg can decode it
 * (re-encoded at its own sample rate, mono or stereo), otherwise from {@link VideoSpec#audio()},
 * or, when that is empty, from {@link VideoSpec#audioStream()} (read chunk by chunk).
 * It is written in full, whatever the number of frames, and interleaved with the video as the
 * frames arrive: the audio is decoded and encoded at most one chunk (a fraction of a second) ahead
 * of the video, never all at once.
 *
 * <p><b>Atomicity.</b> Everything is written to a {@link PartFiles} file
 * {@code .<name>.a4j-<pid>-<start>-<random>.part} next to the output;
 * {@link #complete()} finishes the file and renames it onto the output atomically (replacing an
 * existing file); {@link #abort()} or {@link #close()} before completion deletes it. Opening a sink
 * first removes the parts in that folder left by processes that died while writing. A write
 * error says what the operating system said ("No space left on device") and which file.
 *
 * <p><b>Threads.</b> {@link #accept} and {@link #complete()} must be called from one thread, in
 * order. The methods are synchronized, so {@link #abort()} may come from another thread (a
 * cancellation): it waits for a frame being encoded and then discards the file.
 *
 * <p><b>Cost.</b> One reused native frame for the picture and one for audio; the RGB to yuv420p
 * conversion and encoding happen in FFmpeg (swscale, the encoders).
 */
final class Mp4FrameSink implements FrameSink {
    private static final Logger log = LoggerFactory.getLogger(Mp4FrameSink.class);
    /** Sample rates the FFmpeg AAC encoder accepts. */
    private static final int[] AAC_RATES = {7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000,
            64000, 88200, 96000};
    private static final int AUDIO_CHUNK = 4096;
    /** The extensions written, for messages. */
    static final String SUPPORTED = ".mp4, .m4v, .mov, .mkv, .webm";

    /** A container and the encoders written into it. */
    record Container(String format, String[] videoEncoders, String[] audioEncoders, boolean faststart) {
        boolean webm() {
            return format.equals("webm");
        }
    }

    private static final String[] H264 = {"libx264", "libopenh264"};
    private static final Container MP4 = new Container("mp4", H264, new String[] {"aac"}, true);
    /** MP4 to a stream: fragmented (the {@code movflags} are set when the header is written). */
    private static final Container FRAGMENTED_MP4 = new Container("mp4", H264, new String[] {"aac"}, false);

    /** The container for a file name, or an {@link InvalidInputException} naming the supported ones. */
    static Container containerFor(Path out) {
        String name = out.getFileName() == null ? "" : out.getFileName().toString();
        int dot = name.lastIndexOf('.');
        if (dot <= 0) {
            return MP4;
        }
        return switch (name.substring(dot + 1).toLowerCase(Locale.ROOT)) {
            case "mp4", "m4v" -> MP4;
            case "mov" -> new Container("mov", H264, new String[] {"aac"}, true);
            case "mkv" -> new Container("matroska", H264, new String[] {"aac"}, false);
            case "webm" -> new Container("webm", new String[] {"libvpx-vp9", "libvpx"},
                    new String[] {"libopus"}, false);
            default -> throw new InvalidInputException("cannot write video " + out + ": the extension "
                    + name.substring(dot) + " names no container avatar4j writes (" + SUPPORTED + ")");
        };
    }

    /** Test seam: when set, the encoded bytes go to this file instead (e.g. {@code /dev/full}). */
    static volatile Path writeToForTest;

    /** The output file, or null when writing to {@link #stream}. */
    private final Path out;
    /** The temporary file written before the rename onto {@link #out}, or null with a stream. */
    private final Path temp;
    /** The caller's stream (fragmented MP4, written through {@link StreamOutput}), or null with a file. */
    private final StreamOutput stream;
    /** What is written, for messages: the file, or "to the output stream". */
    private final String name;
    private final int width;
    private final int height;
    private final int fps;
    private final Container container;
    private AVFormatContext oc;
    private AVCodecContext video;
    private AVStream videoStream;
    private AVCodecContext audioEnc;
    private AVStream audioStream;
    private SwsContext sws;
    private SwrContext swr;
    private AVAudioFifo fifo;
    private AVFrame picture;
    private AVFrame audioFrame;
    private AVFrame converted;
    private AVPacket packet;
    private final AVChannelLayout audioLayout = new AVChannelLayout();
    private BytePointer rgb;
    private final PointerPointer<BytePointer> rgbPlanes = new PointerPointer<>(1);
    private final IntPointer rgbStride = new IntPointer(1);
    private final PointerPointer<FloatPointer> inPlanes = new PointerPointer<>(1);
    private int audioFrameSize;
    private long audioPts;
    private String videoEncoderName;
    private final MuxAudio audio;
    private long audioWritten; // samples per channel
    private int lastIndex = -1;
    private int frames;
    private boolean finished;
    private boolean released;

    Mp4FrameSink(Path out, VideoSpec spec) {
        this.out = out.toAbsolutePath().normalize();
        this.stream = null;
        this.name = out.toString();
        this.width = spec.width();
        this.height = spec.height();
        this.fps = spec.fps();
        Path dir = this.out.getParent();
        if (dir == null || this.out.getFileName() == null) {
            throw new InvalidInputException("cannot write video " + out + ": not a file path");
        }
        this.container = containerFor(this.out);
        if (!Files.isDirectory(dir)) {
            throw new InvalidInputException("cannot write video " + out + ": directory " + dir + " does not exist");
        }
        if (Files.isDirectory(this.out)) {
            throw new InvalidInputException("cannot write video " + out + ": it is a directory");
        }
        try {
            PartFiles.sweep(dir); // the parts of runs that died before they could remove them
            this.temp = PartFiles.createFile(dir, this.out.getFileName().toString());
        } catch (IOException | SecurityException e) {
            throw new InvalidInputException("cannot write video " + out + ": cannot create a file in " + dir
                    + " (" + e + ")", e);
        }
        this.audio = start(spec);
    }

    /**
     * A writer of fragmented MP4 (H.264 + AAC) to the caller's {@code stream}: {@code movflags}
     * {@code frag_keyframe+empty_moov+default_base_moof}, through an AVIOContext whose write
     * callback hands the bytes to the stream in order, with no seek callback (the muxer never
     * seeks back). What is muxed is pushed to the stream after every frame, so a player receives
     * each fragment as soon as it is complete. The stream is flushed by {@link #complete()}, never
     * closed; {@link #abort()} stops writing (what was written stays written).
     */
    Mp4FrameSink(java.io.OutputStream stream, VideoSpec spec) {
        this.out = null;
        this.temp = null;
        this.name = "to the output stream";
        this.stream = new StreamOutput(stream);
        this.width = spec.width();
        this.height = spec.height();
        this.fps = spec.fps();
        this.container = FRAGMENTED_MP4;
        this.audio = start(spec);
    }

    /** Opens the audio, the encoders and the output; on failure releases everything and throws. */
    private MuxAudio start(VideoSpec spec) {
        MuxAudio source = null;
        try {
            source = MuxAudio.open(spec);
            open(spec, source);
            log.debug("writing {} ({}x{} @ {} fps, {} {}, audio {})", out, video.width(), video.height(), fps,
                    container.format(), videoEncoderName, source);
        } catch (RuntimeException | IOException e) {
            releaseNative();
            if (source != null) {
                source.close();
            }
            if (temp != null) {
                deleteQuietly(temp);
                PartFiles.release(temp);
            }
            if (stream != null) {
                stream.release();
            }
            if (e instanceof InvalidInputException iie) {
                throw iie;
            }
            if (e instanceof UncheckedIOException uio) {
                throw uio;
            }
            throw new UncheckedIOException("cannot write video " + name + ": " + e.getMessage(),
                    e instanceof IOException io ? io : new IOException(e.getMessage(), e));
        }
        return source;
    }

    private void open(VideoSpec spec, MuxAudio source) throws IOException {
        oc = new AVFormatContext(null);
        // the file name is kept as the context's url: +faststart reopens the file by it
        int ret;
        try (BytePointer fmtName = new BytePointer(container.format());
             BytePointer url = new BytePointer(temp != null ? temp.toString() : "", StandardCharsets.UTF_8)) {
            ret = avformat_alloc_output_context2(oc, null, fmtName, url);
        }
        if (ret < 0 || oc.isNull()) {
            oc = null;
            throw new InvalidInputException("cannot write video " + name + ": this FFmpeg build has no "
                    + container.format() + " muxer");
        }
        packet = av_packet_alloc();
        openVideo(spec);
        if (source != null) {
            openAudio(source);
        }
        AVIOContext pb;
        if (stream != null) {
            pb = stream.open();
        } else {
            pb = new AVIOContext(null);
            Path target = writeToForTest != null ? writeToForTest : temp;
            try (BytePointer file = new BytePointer(target.toString(), StandardCharsets.UTF_8)) {
                ret = avio_open(pb, file, AVIO_FLAG_WRITE);
            }
            if (ret < 0) {
                throw ioError("cannot open", ret);
            }
        }
        oc.pb(pb);
        AVDictionary opts = new AVDictionary(null);
        if (stream != null) {
            av_dict_set(opts, "movflags", "+frag_keyframe+empty_moov+default_base_moof", 0);
        } else if (container.faststart()) {
            av_dict_set(opts, "movflags", "+faststart", 0);
        }
        ret = avformat_write_header(oc, opts);
        av_dict_free(opts);
        if (ret < 0) {
            throw ioError("cannot write the header of", ret);
        }
    }

    private static AVCodec findEncoder(String[] names) {
        for (String n : names) {
            AVCodec c = avcodec_find_encoder_by_name(n);
            if (c != null && !c.isNull()) {
                return c;
            }
        }
        return null;
    }

    private void openVideo(VideoSpec spec) {
        AVCodec codec = findEncoder(container.videoEncoders());
        if (codec == null) {
            throw new InvalidInputException("cannot write video " + name + ": this FFmpeg build has none of the "
                    + "encoders " + String.join(", ", container.videoEncoders()) + " that " + container.format()
                    + " needs");
        }
        videoEncoderName = codec.name().getString();
        // 4:2:0 needs even dimensions; odd ones are scaled up by one pixel by swscale
        int encW = width + (width & 1);
        int encH = height + (height & 1);
        video = avcodec_alloc_context3(codec);
        video.width(encW).height(encH).pix_fmt(AV_PIX_FMT_YUV420P);
        video.time_base(av_make_q(1, fps)).framerate(av_make_q(fps, 1));
        video.gop_size(Math.max(1, 2 * fps));
        video.thread_count(0);
        video.colorspace(org.bytedeco.ffmpeg.global.avutil.AVCOL_SPC_SMPTE170M);
        video.color_range(org.bytedeco.ffmpeg.global.avutil.AVCOL_RANGE_MPEG);
        if ((oc.oformat().flags() & AVFMT_GLOBALHEADER) != 0) {
            video.flags(video.flags() | AV_CODEC_FLAG_GLOBAL_HEADER);
        }
        AVDictionary opts = new AVDictionary(null);
        // generic context options (b, qmin, qmax, maxrate, bufsize) and the encoder's private ones
        // alike: avcodec_open2 applies them all before the encoder starts
        for (Map.Entry<String, String> e : EncoderSettings.video(videoEncoderName, spec, encW, encH).entrySet()) {
            av_dict_set(opts, e.getKey(), e.getValue(), 0);
        }
        int ret = avcodec_open2(video, codec, opts);
        av_dict_free(opts);
        if (ret < 0) {
            throw new InvalidInputException("cannot write video " + name + ": cannot open the " + videoEncoderName
                    + " encoder at " + encW + "x" + encH + " (" + FfmpegNatives.describe("avcodec_open2", ret) + ")");
        }
        videoStream = avformat_new_stream(oc, null);
        avcodec_parameters_from_context(videoStream.codecpar(), video);
        videoStream.time_base(video.time_base());
        videoStream.avg_frame_rate(av_make_q(fps, 1));
        picture = av_frame_alloc();
        picture.format(AV_PIX_FMT_YUV420P).width(encW).height(encH);
        check(av_frame_get_buffer(picture, 0), "av_frame_get_buffer");
        sws = sws_getContext(width, height, AV_PIX_FMT_RGB24, encW, encH, AV_PIX_FMT_YUV420P,
                SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, null, null, (DoublePointer) null);
        if (sws == null || sws.isNull()) {
            throw new IllegalStateException("sws_getContext failed for " + width + "x" + height);
        }
        long stride = (long) width * 3;
        rgb = new BytePointer(stride * height);
        rgbPlanes.put(0, rgb);
        rgbStride.put(0, (int) stride);
    }

    private void openAudio(MuxAudio source) {
        AVCodec codec = findEncoder(container.audioEncoders());
        if (codec == null) {
            throw new InvalidInputException("cannot write video " + name + ": this FFmpeg build has none of the "
                    + "audio encoders " + String.join(", ", container.audioEncoders()) + " that "
                    + container.format() + " needs");
        }
        String encoder = codec.name().getString();
        boolean opus = encoder.contains("opus");
        int rate = opus ? 48_000 : aacRate(source.rate());
        int channels = source.channels();
        int sampleFormat = opus ? AV_SAMPLE_FMT_FLT : org.bytedeco.ffmpeg.global.avutil.AV_SAMPLE_FMT_FLTP;
        audioEnc = avcodec_alloc_context3(codec);
        av_channel_layout_default(audioLayout, channels);
        audioEnc.sample_fmt(sampleFormat).sample_rate(rate).bit_rate((opus ? 48_000L : 64_000L) * channels);
        audioEnc.ch_layout(audioLayout);
        audioEnc.time_base(av_make_q(1, rate));
        if ((oc.oformat().flags() & AVFMT_GLOBALHEADER) != 0) {
            audioEnc.flags(audioEnc.flags() | AV_CODEC_FLAG_GLOBAL_HEADER);
        }
        int ret = avcodec_open2(audioEnc, codec, (AVDictionary) null);
        if (ret < 0) {
            throw new InvalidInputException("cannot write video " + name + ": cannot open the " + encoder
                    + " encoder (" + FfmpegNatives.describe("avcodec_open2", ret) + ")");
        }
        audioStream = avformat_new_stream(oc, null);
        avcodec_parameters_from_context(audioStream.codecpar(), audioEnc);
        audioStream.time_base(audioEnc.time_base());
        audioFrameSize = audioEnc.frame_size() > 0
                && (codec.capabilities() & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) == 0 ? audioEnc.frame_size() : 1024;
        swr = new SwrContext(null);
        check(swr_alloc_set_opts2(swr, audioLayout, sampleFormat, rate, audioLayout, AV_SAMPLE_FMT_FLT,
                source.rate(), 0, null), "swr_alloc_set_opts2");
        check(swr_init(swr), "swr_init");
        fifo = av_audio_fifo_alloc(sampleFormat, channels, audioFrameSize * 4);
        audioFrame = av_frame_alloc();
        audioFrame.format(sampleFormat).sample_rate(rate).nb_samples(audioFrameSize);
        org.bytedeco.ffmpeg.global.avutil.av_channel_layout_copy(audioFrame.ch_layout(), audioLayout);
        check(av_frame_get_buffer(audioFrame, 0), "av_frame_get_buffer");
        converted = av_frame_alloc();
        converted.format(sampleFormat).sample_rate(rate).nb_samples(
                (int) ((long) AUDIO_CHUNK * rate / Math.max(1, source.rate()) + 256));
        org.bytedeco.ffmpeg.global.avutil.av_channel_layout_copy(converted.ch_layout(), audioLayout);
        check(av_frame_get_buffer(converted, 0), "av_frame_get_buffer");
    }

    private static void check(int ret, String call) {
        if (ret < 0) {
            throw new IllegalStateException(FfmpegNatives.describe(call, ret));
        }
    }

    /** An error writing the temporary file, in the words of the operating system. */
    private UncheckedIOException ioError(String doing, int ret) {
        if (stream != null) {
            IOException failure = stream.failure();
            String what = failure != null ? failure.toString()
                    : FfmpegNatives.errorText(ret) + " (" + doing + ", FFmpeg error " + ret + ")";
            return new UncheckedIOException("cannot write video " + name + ": " + what,
                    failure != null ? failure : new IOException(what));
        }
        String what = FfmpegNatives.diskFull(ret)
                ? "no space left on device (or quota exceeded) writing " + temp
                : FfmpegNatives.errorText(ret) + " (" + doing + " " + temp + ", FFmpeg error " + ret + ")";
        return new UncheckedIOException("cannot write video " + name + ": " + what, new IOException(what));
    }

    @Override
    public synchronized void accept(Frame frame) {
        if (finished) {
            throw new IllegalStateException("video " + name + " is already completed or aborted");
        }
        if (frame.width() != width || frame.height() != height) {
            throw new IllegalArgumentException("frame " + frame.index() + " is " + frame.width() + "x" + frame.height()
                    + ", the video is " + width + "x" + height);
        }
        if (frame.index() <= lastIndex) {
            throw new IllegalArgumentException("frame index " + frame.index() + " after " + lastIndex
                    + ": indices must increase");
        }
        if (Math.abs(frame.fps() - fps) > 1e-6) {
            throw new IllegalArgumentException("frame " + frame.index() + " is at " + frame.fps() + " fps, the video at "
                    + fps);
        }
        try {
            ByteBuffer dst = rgb.asByteBuffer();
            dst.put(frame.image().pixels());
            check(av_frame_make_writable(picture), "av_frame_make_writable");
            sws_scale(sws, rgbPlanes, rgbStride, 0, height, picture.data(), picture.linesize());
            picture.pts(frame.index()); // pts = index in the 1/fps time base
            encode(video, videoStream, picture);
            AVIOContext pb = oc.pb();
            if (stream != null) {
                avio_flush(pb); // hand a finished fragment to the stream now, not when the buffer fills
            }
            if (pb != null && !pb.isNull() && pb.error() < 0) {
                throw ioError("writing", pb.error());
            }
            lastIndex = frame.index();
            frames++;
            // keep the audio just ahead of the video so that the muxer interleaves as it goes
            writeAudioUntil((long) Math.ceil((frame.index() + 1) * (double) (audio == null ? 0 : audio.rate()) / fps));
        } catch (RuntimeException e) {
            abort();
            if (e instanceof InvalidInputException || e instanceof UncheckedIOException) {
                throw e;
            }
            throw new UncheckedIOException("cannot write video " + name + ": " + e.getMessage(),
                    new IOException(e.getMessage(), e));
        }
    }

    /** Sends a frame (null: the end) to an encoder and writes every packet it returns. */
    private void encode(AVCodecContext enc, AVStream st, AVFrame f) {
        int ret = avcodec_send_frame(enc, f);
        if (ret < 0 && ret != AVERROR_EOF()) {
            throw new IllegalStateException("encoding failed: " + FfmpegNatives.describe("avcodec_send_frame", ret));
        }
        while (true) {
            ret = avcodec_receive_packet(enc, packet);
            if (ret == AVERROR_EAGAIN() || ret == AVERROR_EOF()) {
                return;
            }
            if (ret < 0) {
                throw new IllegalStateException("encoding failed: "
                        + FfmpegNatives.describe("avcodec_receive_packet", ret));
            }
            av_packet_rescale_ts(packet, enc.time_base(), st.time_base());
            packet.stream_index(st.index());
            ret = av_interleaved_write_frame(oc, packet); // takes the packet's data
            if (ret < 0) {
                throw ioError("writing", ret);
            }
        }
    }

    private void writeAudioUntil(long samples) {
        while (audio != null && audioWritten < samples) {
            FloatBuffer chunk = audio.next();
            if (chunk == null) {
                return;
            }
            int n = chunk.remaining() / audio.channels();
            inPlanes.put(0, new FloatPointer(chunk));
            convertAudio(inPlanes, n);
            audioWritten += n;
        }
    }

    /**
     * Resamples {@code n} interleaved input samples into the FIFO and encodes every full frame;
     * with {@code in == null} flushes the resampler.
     */
    private void convertAudio(PointerPointer<?> in, int n) {
        int need = swr_get_out_samples(swr, n);
        if (need > converted.nb_samples()) {
            int format = converted.format();
            int rate = converted.sample_rate();
            av_frame_free(converted);
            converted = av_frame_alloc();
            converted.format(format).sample_rate(rate).nb_samples(need + 256);
            org.bytedeco.ffmpeg.global.avutil.av_channel_layout_copy(converted.ch_layout(), audioLayout);
            check(av_frame_get_buffer(converted, 0), "av_frame_get_buffer");
        }
        check(av_frame_make_writable(converted), "av_frame_make_writable");
        int got = swr_convert(swr, converted.extended_data(), converted.nb_samples(), in, n);
        check(got, "swr_convert");
        if (got > 0) {
            av_audio_fifo_write(fifo, converted.extended_data(), got);
        }
        while (av_audio_fifo_size(fifo) >= audioFrameSize) {
            encodeAudioFrame(audioFrameSize);
        }
    }

    private void encodeAudioFrame(int samples) {
        check(av_frame_make_writable(audioFrame), "av_frame_make_writable");
        audioFrame.nb_samples(samples);
        av_audio_fifo_read(fifo, audioFrame.extended_data(), samples);
        audioFrame.pts(audioPts);
        audioPts += samples;
        encode(audioEnc, audioStream, audioFrame);
    }

    @Override
    public synchronized void complete() {
        if (finished) {
            throw new IllegalStateException("video " + name + " is already completed or aborted");
        }
        if (frames == 0) {
            abort();
            throw new IllegalStateException("no frames were written to " + name);
        }
        try {
            writeAudioUntil(Long.MAX_VALUE);
            if (audioEnc != null) {
                convertAudio(null, 0); // flush the resampler
                int left = av_audio_fifo_size(fifo);
                if (left > 0) {
                    encodeAudioFrame(left);
                }
                encode(audioEnc, audioStream, null);
            }
            encode(video, videoStream, null);
            int ret = av_interleaved_write_frame(oc, null);
            if (ret < 0) {
                throw ioError("writing", ret);
            }
            ret = av_write_trailer(oc); // with +faststart, moves the index up front
            if (ret < 0) {
                throw ioError("finishing", ret);
            }
            AVIOContext pb = oc.pb();
            if (pb != null && !pb.isNull() && pb.error() < 0) {
                throw ioError("writing", pb.error());
            }
            ret = closeOutput();
            if (ret < 0) {
                throw ioError("closing", ret);
            }
            releaseNative();
            if (audio != null) {
                audio.close();
            }
            if (stream != null) {
                stream.flushCaller();
            } else {
                try {
                    Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(temp, out, StandardCopyOption.REPLACE_EXISTING);
                }
            }
            if (temp != null) {
                PartFiles.release(temp);
            }
            finished = true;
            log.debug("wrote {}: {} frames, {} audio samples", out, frames, audioWritten);
        } catch (IOException | RuntimeException e) {
            abort();
            if (e instanceof UncheckedIOException uio) {
                throw uio;
            }
            throw new UncheckedIOException("cannot finish video " + name + ": " + e.getMessage(),
                    e instanceof IOException io ? io : new IOException(e.getMessage(), e));
        }
    }

    @Override
    public synchronized void abort() {
        if (finished) {
            return;
        }
        finished = true;
        releaseNative();
        if (audio != null) {
            try {
                audio.close();
            } catch (RuntimeException e) {
                log.debug("closing the audio of {} failed: {}", name, e.toString());
            }
        }
        if (temp != null) {
            deleteQuietly(temp);
            PartFiles.release(temp);
        }
    }

    /**
     * Flushes and closes the output (once), returning FFmpeg's result: the file, or the stream's
     * AVIOContext (freed; the caller's stream stays open).
     */
    private int closeOutput() {
        AVIOContext pb = oc.pb();
        if (pb == null || pb.isNull()) {
            return 0;
        }
        oc.pb(null);
        if (stream != null) {
            return stream.close(pb, !finished);
        }
        return avio_closep(pb);
    }

    /** Frees every native structure (idempotent). */
    private void releaseNative() {
        if (released) {
            return;
        }
        released = true;
        if (oc != null) {
            closeOutput();
            avformat_free_context(oc);
            oc = null;
        }
        if (video != null) {
            avcodec_free_context(video);
            video = null;
        }
        if (audioEnc != null) {
            avcodec_free_context(audioEnc);
            audioEnc = null;
        }
        if (sws != null) {
            sws_freeContext(sws);
            sws = null;
        }
        if (swr != null) {
            swr_free(swr);
            swr = null;
        }
        if (fifo != null) {
            av_audio_fifo_free(fifo);
            fifo = null;
        }
        if (picture != null) {
            av_frame_free(picture);
        }
        if (audioFrame != null) {
            av_frame_free(audioFrame);
        }
        if (converted != null) {
            av_frame_free(converted);
        }
        if (packet != null) {
            av_packet_free(packet);
        }
        av_channel_layout_uninit(audioLayout);
        if (rgb != null) {
            rgb.close();
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException | RuntimeException e) {
            log.warn("cannot delete the temporary file {}: {}", p, e.toString());
        }
    }

    /** The H.264 encoder used: {@code libx264} in a -gpl build, {@code libopenh264} otherwise. */
    static String h264EncoderName() {
        AVCodec c = findEncoder(H264);
        return c == null ? "none" : c.name().getString();
    }

    static int aacRate(int rate) {
        for (int r : AAC_RATES) {
            if (r >= rate) {
                return r;
            }
        }
        return AAC_RATES[AAC_RATES.length - 1];
    }

    /**
     * The audio the sink muxes: PCM chunks for the AAC encoder, from the decoded original file, a
     * stream (e.g. the mix of several speakers) or the in-memory clip. Not to be confused with the
     * engines' streamed speech, {@code dev.avatar4j.io.AudioSource}.
     */
    abstract static class MuxAudio implements AutoCloseable {
        /** Rate of the samples handed to the encoder (resampled to the encoder's rate). */
        abstract int rate();

        abstract int channels();

        /** Next interleaved chunk (direct buffer, valid until the next call), or null at the end. */
        abstract FloatBuffer next();

        @Override
        public void close() {
        }

        /** The source for {@code spec}, or null when there is no audio at all. */
        static MuxAudio open(VideoSpec spec) {
            if (spec.audioFile() != null) {
                FfmpegAudioDecoder dec = null;
                try {
                    dec = new FfmpegAudioDecoder(spec.audioFile());
                    dec.setOutput(aacRate(dec.nativeRate()), Math.min(2, dec.nativeChannels()));
                    FloatBuffer first = dec.next();
                    if (first != null && first.hasRemaining()) {
                        return new FileMuxAudio(dec, first);
                    }
                    log.debug("{} decodes to no samples; muxing the decoded clip instead", spec.audioFile());
                    dec.close();
                } catch (RuntimeException e) {
                    log.debug("cannot decode {} for muxing ({}); muxing the decoded clip instead", spec.audioFile(),
                            e.getMessage());
                    if (dec != null) {
                        dec.close();
                    }
                }
            }
            if (spec.audio().length() == 0 && spec.audioStream() != null) {
                AudioStream stream = spec.audioStream().get();
                StreamMuxAudio src = new StreamMuxAudio(stream, spec.audio().sampleRate());
                if (src.hasSamples()) {
                    return src;
                }
                src.close();
                return null;
            }
            return spec.audio().length() == 0 ? null : new ClipMuxAudio(spec.audio());
        }
    }

    /** Mono samples read chunk by chunk from a stream (e.g. the mix of several speakers' tracks). */
    private static final class StreamMuxAudio extends MuxAudio {
        private final AudioStream stream;
        private final int rate;
        private final float[] samples = new float[AUDIO_CHUNK];
        private final FloatBuffer chunk = ByteBuffer.allocateDirect(AUDIO_CHUNK * Float.BYTES)
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        private int pending = -1; // samples read ahead by hasSamples(), -1 when none

        StreamMuxAudio(AudioStream stream, int rate) {
            this.stream = stream;
            this.rate = rate;
        }

        boolean hasSamples() {
            pending = stream.read(samples, 0, samples.length);
            return pending > 0;
        }

        @Override
        int rate() {
            return rate;
        }

        @Override
        int channels() {
            return 1;
        }

        @Override
        FloatBuffer next() {
            int n = pending >= 0 ? pending : stream.read(samples, 0, samples.length);
            pending = -1;
            if (n <= 0) {
                return null;
            }
            chunk.clear();
            chunk.put(samples, 0, n).flip();
            return chunk;
        }

        @Override
        public void close() {
            stream.close();
        }

        @Override
        public String toString() {
            return "stream " + rate + " Hz mono";
        }
    }

    private static final class FileMuxAudio extends MuxAudio {
        private final FfmpegAudioDecoder dec;
        private FloatBuffer first;

        FileMuxAudio(FfmpegAudioDecoder dec, FloatBuffer first) {
            this.dec = dec;
            this.first = first;
        }

        @Override
        int rate() {
            return dec.outputRate();
        }

        @Override
        int channels() {
            return dec.outputChannels();
        }

        @Override
        FloatBuffer next() {
            if (first != null) {
                FloatBuffer b = first;
                first = null;
                return b;
            }
            return dec.next();
        }

        @Override
        public void close() {
            dec.close();
        }

        @Override
        public String toString() {
            return "file " + dec.outputRate() + " Hz x" + dec.outputChannels();
        }
    }

    private static final class ClipMuxAudio extends MuxAudio {
        private final AudioClip clip;
        private final FloatBuffer chunk = ByteBuffer.allocateDirect(AUDIO_CHUNK * Float.BYTES)
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        private int pos;

        ClipMuxAudio(AudioClip clip) {
            this.clip = clip;
        }

        @Override
        int rate() {
            return clip.sampleRate();
        }

        @Override
        int channels() {
            return 1;
        }

        @Override
        FloatBuffer next() {
            float[] s = clip.samples();
            if (pos >= s.length) {
                return null;
            }
            int n = Math.min(AUDIO_CHUNK, s.length - pos);
            chunk.clear();
            chunk.put(s, pos, n).flip();
            pos += n;
            return chunk;
        }

        @Override
        public String toString() {
            return "clip " + clip.sampleRate() + " Hz mono";
        }
    }
}
