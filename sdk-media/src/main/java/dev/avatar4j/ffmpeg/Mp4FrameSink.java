package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_AAC;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_H264;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_encoder;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_YUV420P;

import dev.avatar4j.Frame;
import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.AudioStream;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.VideoSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.FrameRecorder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes an MP4 (H.264 yuv420p + AAC) while frames arrive.
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
 * <p><b>Atomicity.</b> Everything is written to {@code .<name>.<random>.part} next to the output;
 * {@link #complete()} finishes the file and renames it onto the output atomically (replacing an
 * existing file); {@link #abort()} or {@link #close()} before completion deletes it.
 *
 * <p><b>Threads.</b> {@link #accept} and {@link #complete()} must be called from one thread, in
 * order. The methods are synchronized, so {@link #abort()} may come from another thread (a
 * cancellation): it waits for a frame being encoded and then discards the file.
 *
 * <p><b>Cost.</b> One reused direct buffer for the RGB frame and one for audio chunks; the RGB to
 * yuv420p conversion and encoding happen in FFmpeg (swscale, the H.264 encoder).
 */
final class Mp4FrameSink implements FrameSink {
    private static final Logger log = LoggerFactory.getLogger(Mp4FrameSink.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Sample rates the FFmpeg AAC encoder accepts. */
    private static final int[] AAC_RATES = {7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000,
            64000, 88200, 96000};
    private static final int AUDIO_CHUNK = 4096;

    private final Path out;
    private final Path temp;
    private final int width;
    private final int height;
    private final int fps;
    private final FFmpegFrameRecorder recorder;
    private final ByteBuffer rgb;
    private final AudioSource audio;
    private long audioWritten; // samples per channel
    private int lastIndex = -1;
    private int frames;
    private boolean finished;

    Mp4FrameSink(Path out, VideoSpec spec) {
        this.out = out.toAbsolutePath().normalize();
        this.width = spec.width();
        this.height = spec.height();
        this.fps = spec.fps();
        Path dir = this.out.getParent();
        if (dir == null || this.out.getFileName() == null) {
            throw new InvalidInputException("cannot write video " + out + ": not a file path");
        }
        if (!Files.isDirectory(dir)) {
            throw new InvalidInputException("cannot write video " + out + ": directory " + dir + " does not exist");
        }
        if (Files.isDirectory(this.out)) {
            throw new InvalidInputException("cannot write video " + out + ": it is a directory");
        }
        try {
            this.temp = Files.createFile(dir.resolve("." + this.out.getFileName() + "."
                    + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".part"));
        } catch (IOException | SecurityException e) {
            throw new InvalidInputException("cannot write video " + out + ": cannot create a file in " + dir
                    + " (" + e + ")", e);
        }
        AudioSource source = null;
        FFmpegFrameRecorder rec = null;
        try {
            source = AudioSource.open(spec);
            // H.264 4:2:0 needs even dimensions; odd ones are scaled up by one pixel by swscale
            int encW = width + (width & 1);
            int encH = height + (height & 1);
            rec = new FFmpegFrameRecorder(temp.toString(), encW, encH, source == null ? 0 : source.channels());
            rec.setFormat("mp4");
            rec.setVideoCodec(AV_CODEC_ID_H264); // libx264 when a -gpl FFmpeg is present, else libopenh264
            rec.setPixelFormat(AV_PIX_FMT_YUV420P);
            rec.setFrameRate(fps);
            rec.setGopSize(Math.max(1, 2 * fps));
            rec.setVideoBitrate((int) Math.clamp((long) encW * encH * fps / 8, 250_000L, 40_000_000L));
            rec.setOption("movflags", "+faststart");
            if (source != null) {
                rec.setAudioCodec(AV_CODEC_ID_AAC);
                rec.setSampleRate(source.encoderRate());
                rec.setAudioBitrate(64_000 * source.channels());
            }
            rec.start();
            log.debug("writing {} ({}x{} @ {} fps, {}, audio {})", out, encW, encH, fps, h264EncoderName(), source);
        } catch (FrameRecorder.Exception | RuntimeException e) {
            release(rec);
            if (source != null) {
                source.close();
            }
            deleteQuietly(temp);
            if (e instanceof InvalidInputException iie) {
                throw iie;
            }
            throw new InvalidInputException("cannot write video " + out + ": " + FfmpegImageReader.reason(e), e);
        }
        this.recorder = rec;
        this.audio = source;
        this.rgb = ByteBuffer.allocateDirect(width * height * 3);
    }

    @Override
    public synchronized void accept(Frame frame) {
        if (finished) {
            throw new IllegalStateException("video " + out + " is already completed or aborted");
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
            rgb.clear();
            rgb.put(frame.rgb());
            rgb.flip();
            recorder.setFrameNumber(frame.index()); // pts = index in the 1/fps time base
            recorder.recordImage(width, height, org.bytedeco.javacv.Frame.DEPTH_UBYTE, 3, width * 3,
                    AV_PIX_FMT_RGB24, rgb);
            lastIndex = frame.index();
            frames++;
            // keep the audio just ahead of the video so that the muxer interleaves as it goes
            writeAudioUntil((long) Math.ceil((frame.index() + 1) * (double) (audio == null ? 0 : audio.rate()) / fps));
        } catch (FrameRecorder.Exception | RuntimeException e) {
            abort();
            if (e instanceof InvalidInputException iie) {
                throw iie;
            }
            throw new UncheckedIOException("cannot write video " + out + ": " + FfmpegImageReader.reason(e),
                    e instanceof IOException io ? io : new IOException(e));
        }
    }

    private void writeAudioUntil(long samples) throws FrameRecorder.Exception {
        while (audio != null && audioWritten < samples) {
            FloatBuffer chunk = audio.next();
            if (chunk == null) {
                return;
            }
            int n = chunk.remaining() / audio.channels();
            recorder.recordSamples(audio.rate(), audio.channels(), chunk);
            audioWritten += n;
        }
    }

    @Override
    public synchronized void complete() {
        if (finished) {
            throw new IllegalStateException("video " + out + " is already completed or aborted");
        }
        if (frames == 0) {
            abort();
            throw new IllegalStateException("no frames were written to " + out);
        }
        try {
            writeAudioUntil(Long.MAX_VALUE);
            recorder.stop(); // flushes the encoders, writes the trailer (and moves the index up front)
            recorder.release();
            if (audio != null) {
                audio.close();
            }
            try {
                Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, out, StandardCopyOption.REPLACE_EXISTING);
            }
            finished = true;
            log.debug("wrote {}: {} frames, {} audio samples", out, frames, audioWritten);
        } catch (IOException | RuntimeException e) {
            abort();
            throw new UncheckedIOException("cannot finish video " + out + ": " + FfmpegImageReader.reason(e),
                    e instanceof IOException io ? io : new IOException(e));
        }
    }

    @Override
    public synchronized void abort() {
        if (finished) {
            return;
        }
        finished = true;
        release(recorder);
        if (audio != null) {
            try {
                audio.close();
            } catch (RuntimeException e) {
                log.debug("closing the audio of {} failed: {}", out, e.toString());
            }
        }
        deleteQuietly(temp);
    }

    private static void release(FFmpegFrameRecorder rec) {
        if (rec == null) {
            return;
        }
        try {
            rec.release();
        } catch (Exception | Error e) {
            log.debug("releasing the recorder failed: {}", e.toString());
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException | RuntimeException e) {
            log.warn("cannot delete the temporary file {}: {}", p, e.toString());
        }
    }

    /** The H.264 encoder FFmpeg picks: {@code libx264} in a -gpl build, {@code libopenh264} otherwise. */
    static String h264EncoderName() {
        AVCodec c = avcodec_find_encoder(AV_CODEC_ID_H264);
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

    /** Where the audio track comes from: the decoded original file, or the in-memory clip. */
    abstract static class AudioSource implements AutoCloseable {
        /** Rate of the samples handed to the recorder. */
        abstract int rate();

        abstract int channels();

        /** Rate the AAC encoder runs at (the recorder resamples when it differs from {@link #rate()}). */
        int encoderRate() {
            return aacRate(rate());
        }

        /** Next interleaved chunk (direct buffer, valid until the next call), or null at the end. */
        abstract FloatBuffer next();

        @Override
        public void close() {
        }

        /** The source for {@code spec}, or null when there is no audio at all. */
        static AudioSource open(VideoSpec spec) {
            if (spec.audioFile() != null) {
                FfmpegAudioDecoder dec = null;
                try {
                    dec = new FfmpegAudioDecoder(spec.audioFile());
                    dec.setOutput(aacRate(dec.nativeRate()), Math.min(2, dec.nativeChannels()));
                    FloatBuffer first = dec.next();
                    if (first != null && first.hasRemaining()) {
                        return new FileSource(dec, first);
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
                StreamSource src = new StreamSource(stream, spec.audio().sampleRate());
                if (src.hasSamples()) {
                    return src;
                }
                src.close();
                return null;
            }
            return spec.audio().length() == 0 ? null : new ClipSource(spec.audio());
        }
    }

    /** Mono samples read chunk by chunk from a stream (e.g. the mix of several speakers' tracks). */
    private static final class StreamSource extends AudioSource {
        private final AudioStream stream;
        private final int rate;
        private final float[] samples = new float[AUDIO_CHUNK];
        private final FloatBuffer chunk = ByteBuffer.allocateDirect(AUDIO_CHUNK * Float.BYTES)
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        private int pending = -1; // samples read ahead by hasSamples(), -1 when none

        StreamSource(AudioStream stream, int rate) {
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

    private static final class FileSource extends AudioSource {
        private final FfmpegAudioDecoder dec;
        private FloatBuffer first;

        FileSource(FfmpegAudioDecoder dec, FloatBuffer first) {
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

    private static final class ClipSource extends AudioSource {
        private final AudioClip clip;
        private final FloatBuffer chunk = ByteBuffer.allocateDirect(AUDIO_CHUNK * Float.BYTES)
                .order(ByteOrder.nativeOrder()).asFloatBuffer();
        private int pos;

        ClipSource(AudioClip clip) {
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
