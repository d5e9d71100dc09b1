package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avformat.AVFMT_DURATION_FROM_BITRATE;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_AUDIO;
import static org.bytedeco.ffmpeg.global.avutil.AV_CHANNEL_ORDER_UNSPEC;
import static org.bytedeco.ffmpeg.global.avutil.AV_TIME_BASE;
import static org.bytedeco.ffmpeg.global.avutil.AV_NOPTS_VALUE;
import static org.bytedeco.ffmpeg.global.avutil.AV_SAMPLE_FMT_DBL;
import static org.bytedeco.ffmpeg.global.avutil.AV_SAMPLE_FMT_DBLP;
import static org.bytedeco.ffmpeg.global.avutil.AV_SAMPLE_FMT_FLT;
import static org.bytedeco.ffmpeg.global.avutil.AV_SAMPLE_FMT_FLTP;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_compare;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_copy;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_default;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_uninit;
import static org.bytedeco.ffmpeg.global.avutil.av_opt_set_double;
import static org.bytedeco.ffmpeg.global.swresample.swr_alloc_set_opts2;
import static org.bytedeco.ffmpeg.global.swresample.swr_convert;
import static org.bytedeco.ffmpeg.global.swresample.swr_free;
import static org.bytedeco.ffmpeg.global.swresample.swr_get_out_samples;
import static org.bytedeco.ffmpeg.global.swresample.swr_init;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.io.AudioSamples;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVChannelLayout;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.ffmpeg.swresample.SwrContext;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams the first audio track of any file FFmpeg reads as interleaved float32 at a chosen rate
 * and channel count.
 *
 * <p>Decoding goes through libavformat and libavcodec ({@link AvInput}); the
 * conversion is one {@code libswresample} context owned here, flushed at the end of the stream, so
 * the output has exactly the length of the input at the new rate. A down-mix averages the channels
 * ({@code rematrix_maxval = 1}), which keeps the level of a signal present in every channel.
 *
 * <p>Not thread-safe. The file is read as it is decoded; only one decoded frame is held at a time.
 */
final class FfmpegAudioDecoder implements AutoCloseable {
    /** See {@link #checkSamples()}. */
    private boolean checkSamples;
    private static final Logger log = LoggerFactory.getLogger(FfmpegAudioDecoder.class);

    private final Path file;
    private final AvInput input;
    private final int nativeRate;
    private final int nativeChannels;
    private int outRate;
    private int outChannels;

    private SwrContext swr;
    private final AVChannelLayout outLayout = new AVChannelLayout();
    private final AVChannelLayout inLayout = new AVChannelLayout();
    private int inFormat = -1;
    private int inRate = -1;
    private boolean configured;

    private FloatPointer out;
    private FloatBuffer outView;
    private int outCapacity; // samples per channel
    private final PointerPointer<FloatPointer> outPlanes = new PointerPointer<>(1);

    /** A frame held back while the converter is flushed for a format change. */
    private AVFrame pending;
    private boolean eof;
    private boolean done;
    /** Interleaved samples decoded so far (at the file's rate), for the index in a bad-sample error. */
    private long decodedSamples;
    private float[] checkBuffer = new float[0];
    private float[] planeBuffer = new float[0];
    private double[] doubleBuffer = new double[0];
    private boolean closed;

    /**
     * Opens {@code file} and finds its audio track.
     *
     * @throws InvalidInputException if FFmpeg cannot open the file or it has no audio track
     */
    FfmpegAudioDecoder(Path file) {
        this.file = file;
        String image;
        try {
            image = ImageHeaderProbe.imageSignature(file);
        } catch (java.io.IOException e) {
            throw new InvalidInputException("cannot read audio " + file + ": " + e.getMessage(), e);
        }
        if (image != null) {
            // refuse at once: probing the streams of an image would decode all its pixels
            throw new InvalidInputException("cannot read audio " + file + ": it is a " + image
                    + " image, it contains no audio stream");
        }
        this.input = AvInput.open(file, true, "audio");
        try {
            int index = input.findStream(AVMEDIA_TYPE_AUDIO);
            if (index < 0) {
                throw new InvalidInputException("cannot read audio " + file + ": it contains no audio stream");
            }
            input.openDecoder(index, java.util.Map.of(), "audio");
        } catch (RuntimeException e) {
            input.close();
            throw e;
        }
        nativeRate = input.decoder().sample_rate();
        nativeChannels = input.decoder().ch_layout().nb_channels();
        if (nativeRate <= 0 || nativeChannels <= 0) {
            closeQuietly();
            throw new InvalidInputException("cannot read audio " + file + ": its audio stream declares "
                    + nativeRate + " Hz, " + nativeChannels + " channels");
        }
        outRate = nativeRate;
        outChannels = nativeChannels;
    }

    /** Sample rate of the audio track. */
    int nativeRate() {
        return nativeRate;
    }

    /** Channels of the audio track. */
    int nativeChannels() {
        return nativeChannels;
    }

    /** Duration the container declares, in microseconds, or a value {@code <= 0} when unknown. */
    long declaredDurationMicros() {
        AVFormatContext fc = input.format();
        return fc.duration() == AV_NOPTS_VALUE ? -1 : fc.duration() * 1_000_000L / AV_TIME_BASE;
    }

    /**
     * The length the container declares for the audio track, in seconds, when it is exact (taken
     * from the stream's own index or header, as in MP4, MP3 with a Xing/Info header, FLAC), or
     * {@code -1} when it is unknown or only estimated from the bit rate.
     */
    double declaredAudioSeconds() {
        AVFormatContext fc = input.format();
        if (fc.duration_estimation_method() == AVFMT_DURATION_FROM_BITRATE) {
            return -1;
        }
        AVStream st = input.stream();
        AVRational tb = st.time_base();
        if (st.duration() == AV_NOPTS_VALUE || st.duration() <= 0 || tb.num() <= 0 || tb.den() <= 0) {
            return -1;
        }
        return st.duration() * (double) tb.num() / tb.den();
    }

    /**
     * Samples per coded frame of the audio track (e.g. 1152 for MP3, 1024 for AAC), or 0 when
     * the codec has no fixed frame size (PCM).
     */
    int codedFrameSize() {
        return Math.max(0, input.stream().codecpar().frame_size());
    }

    /** Chooses the output format; call before the first {@link #next()}. Defaults to the native one. */
    void setOutput(int sampleRate, int channels) {
        if (configured) {
            throw new IllegalStateException("output format already fixed");
        }
        if (sampleRate <= 0 || channels <= 0) {
            throw new IllegalArgumentException("bad output format " + sampleRate + " Hz, " + channels + " channels");
        }
        outRate = sampleRate;
        outChannels = channels;
    }

    int outputRate() {
        return outRate;
    }

    int outputChannels() {
        return outChannels;
    }

    /**
     * The next chunk of interleaved samples ({@code remaining()} is a multiple of the channel
     * count), or {@code null} at the end. The buffer is direct, reused, and valid until the next
     * call.
     *
     * @throws InvalidInputException if decoding fails
     */
    FloatBuffer next() {
        if (!configured) {
            configured = true;
            av_channel_layout_default(outLayout, outChannels);
        }
        {
            while (!done) {
                if (pending != null) {
                    AVFrame f = pending;
                    pending = null;
                    initSwr(f);
                    int n = convert(f);
                    if (n > 0) {
                        return view(n);
                    }
                    continue;
                }
                if (eof) {
                    done = true;
                    int n = swr == null ? 0 : flush();
                    return n > 0 ? view(n) : null;
                }
                AVFrame af = input.next();
                if (af == null) {
                    eof = true;
                    continue;
                }
                if (af.nb_samples() <= 0) {
                    continue;
                }
                if (swr == null) {
                    initSwr(af);
                } else if (changed(af)) {
                    log.debug("audio format of {} changes mid-stream; re-initialising the resampler", file);
                    pending = af; // the input keeps the frame until the next call
                    int n = flush();
                    if (n > 0) {
                        return view(n);
                    }
                    continue;
                }
                int n = convert(af);
                if (n > 0) {
                    return view(n);
                }
            }
            return null;
        }
    }

    private int rateOf(AVFrame af) {
        return af.sample_rate() > 0 ? af.sample_rate() : nativeRate;
    }

    private boolean changed(AVFrame af) {
        if (af.format() != inFormat || rateOf(af) != inRate) {
            return true;
        }
        AVChannelLayout l = af.ch_layout();
        return l.order() == AV_CHANNEL_ORDER_UNSPEC ? l.nb_channels() != inLayout.nb_channels()
                : av_channel_layout_compare(l, inLayout) != 0;
    }

    private void initSwr(AVFrame af) {
        inFormat = af.format();
        inRate = rateOf(af);
        av_channel_layout_uninit(inLayout);
        AVChannelLayout l = af.ch_layout();
        if (l.order() == AV_CHANNEL_ORDER_UNSPEC || av_channel_layout_copy(inLayout, l) < 0) {
            av_channel_layout_default(inLayout, l.nb_channels() > 0 ? l.nb_channels() : nativeChannels);
        }
        if (swr == null) {
            swr = new SwrContext(null);
        }
        int ret = swr_alloc_set_opts2(swr, outLayout, AV_SAMPLE_FMT_FLT, outRate, inLayout, inFormat, inRate, 0, null);
        if (ret < 0) {
            throw new InvalidInputException("cannot convert the audio of " + file + " (" + inLayout.nb_channels()
                    + " channels, sample format " + inFormat + ", " + inRate + " Hz): error " + ret);
        }
        if (outChannels < inLayout.nb_channels()) {
            av_opt_set_double(swr, "rematrix_maxval", 1.0, 0); // down-mix = average, never louder
        }
        if ((ret = swr_init(swr)) < 0) {
            throw new InvalidInputException("cannot convert the audio of " + file + " (" + inLayout.nb_channels()
                    + " channels, " + inRate + " Hz): swr_init error " + ret);
        }
    }

    /**
     * Makes every decoded chunk pass {@link AudioSamples#check} before it is resampled. Only the
     * counting pass that precedes every use of a file asks for it: later passes over the same file
     * (the second pass of a whole read, the streamed pass, the muxer's) would check it again.
     */
    void checkSamples() {
        checkSamples = true;
    }

    private int convert(AVFrame af) {
        if (checkSamples) {
            checkDecoded(af);
        }
        int need = swr_get_out_samples(swr, af.nb_samples());
        ensureCapacity(need);
        int n = swr_convert(swr, outPlanes, outCapacity, af.extended_data(), af.nb_samples());
        if (n < 0) {
            throw new InvalidInputException("cannot convert the audio of " + file + ": swr_convert error " + n);
        }
        return n;
    }

    /**
     * Checks the decoded float or double samples of {@code af} ({@link AudioSamples#check}) before
     * the resampler sees them: mixing and resampling turn +Inf into NaN and spread one bad sample
     * over its neighbours, so the check after them could not report what the file holds. Indices
     * count interleaved samples at the file's own rate, as the JDK decoder's do. Integer formats
     * cannot hold a bad value.
     */
    private void checkDecoded(AVFrame af) {
        int format = af.format();
        boolean planar = format == AV_SAMPLE_FMT_FLTP || format == AV_SAMPLE_FMT_DBLP;
        boolean dbl = format == AV_SAMPLE_FMT_DBL || format == AV_SAMPLE_FMT_DBLP;
        if (!(planar || dbl || format == AV_SAMPLE_FMT_FLT)) {
            return;
        }
        int channels = Math.max(1, af.ch_layout().nb_channels());
        int frames = af.nb_samples();
        int total = frames * channels;
        if (checkBuffer.length < total) {
            checkBuffer = new float[total];
        }
        float[] inter = checkBuffer;
        int planes = planar ? channels : 1;
        int perPlane = planar ? frames : total;
        for (int p = 0; p < planes; p++) {
            org.bytedeco.javacpp.BytePointer data = af.extended_data(p);
            if (dbl) {
                if (doubleBuffer.length < perPlane) {
                    doubleBuffer = new double[perPlane];
                }
                new DoublePointer(data).get(doubleBuffer, 0, perPlane);
                for (int i = 0; i < perPlane; i++) {
                    double d = doubleBuffer[i]; // a finite double beyond float range stays finite
                    float v = Double.isFinite(d) && Math.abs(d) > Float.MAX_VALUE
                            ? Math.copySign(Float.MAX_VALUE, (float) d) : (float) d;
                    inter[planar ? i * channels + p : i] = v;
                }
            } else if (planar) {
                if (planeBuffer.length < perPlane) {
                    planeBuffer = new float[perPlane];
                }
                new FloatPointer(data).get(planeBuffer, 0, perPlane);
                for (int i = 0; i < perPlane; i++) {
                    inter[i * channels + p] = planeBuffer[i];
                }
            } else {
                new FloatPointer(data).get(inter, 0, perPlane);
            }
        }
        AudioSamples.check(inter, 0, total, decodedSamples, "audio " + file);
        decodedSamples += total;
    }

    private int flush() {
        ensureCapacity(Math.max(swr_get_out_samples(swr, 0), 1));
        int n = swr_convert(swr, outPlanes, outCapacity, (PointerPointer<?>) null, 0);
        if (n < 0) {
            throw new InvalidInputException("cannot convert the audio of " + file + ": swr_convert error " + n);
        }
        return n;
    }

    private void ensureCapacity(int samples) {
        if (out != null && outCapacity >= samples) {
            return;
        }
        if (out != null) {
            out.close();
        }
        outCapacity = Math.max(samples, Math.max(4096, outCapacity * 2));
        out = new FloatPointer((long) outCapacity * outChannels);
        outView = out.asBuffer();
        outPlanes.put(0, out);
    }

    private FloatBuffer view(int samples) {
        outView.clear().limit(samples * outChannels);
        return outView;
    }

    private void closeQuietly() {
        input.close();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly();
        if (swr != null) {
            swr_free(swr);
            swr = null;
        }
        av_channel_layout_uninit(inLayout);
        av_channel_layout_uninit(outLayout);
        if (out != null) {
            out.close();
            out = null;
        }
        outPlanes.close();
        inLayout.close();
        outLayout.close();
    }
}
