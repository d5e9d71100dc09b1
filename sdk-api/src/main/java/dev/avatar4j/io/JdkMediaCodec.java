package dev.avatar4j.io;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.audio.Resampler;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.AudioStream;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.MediaCodec;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.UnsupportedMediaException;
import dev.avatar4j.media.VideoSpec;
import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;
import javax.sound.sampled.UnsupportedAudioFileException;

/**
 * Media with the JDK alone: PNG/JPEG (and whatever else ImageIO reads) and WAV (PCM 8–32 bit,
 * float32). Always present, tried after richer codecs such as FFmpeg. Cannot write video.
 */
final class JdkMediaCodec implements MediaCodec {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(JdkMediaCodec.class);
    /** Sample frames converted per chunk when streaming. */
    private static final int CHUNK_FRAMES = 8192;
    /** Images whose header declares more pixels than this are refused before decoding. */
    static final long MAX_PIXELS = 100_000_000L;
    static final int MAX_SIDE = 16384;

    @Override
    public String name() {
        return "jdk";
    }

    @Override
    public int rank() {
        return 100;
    }

    @Override
    public RgbImage readImage(Path file) throws UnsupportedMediaException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) {
                throw new InvalidInputException("cannot open image " + file);
            }
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new UnsupportedMediaException("ImageIO reads PNG, JPEG, GIF, BMP, WBMP, TIFF");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                int w = reader.getWidth(0);
                int h = reader.getHeight(0);
                checkSize(file, w, h);
                BufferedImage img = reader.read(0);
                return RgbImage.fromBufferedImage(img);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof InvalidInputException iie) {
                throw iie;
            }
            throw new InvalidInputException("cannot decode image " + file + ": corrupt or truncated (" + e.getMessage() + ")", e);
        }
    }

    static void checkSize(Path file, int w, int h) {
        if (w <= 0 || h <= 0) {
            throw new InvalidInputException("image " + file + " has no pixels (" + w + "x" + h + ")");
        }
        if (w > MAX_SIDE || h > MAX_SIDE || (long) w * h > MAX_PIXELS) {
            throw new InvalidInputException("image " + file + " is too large: " + w + "x" + h
                    + " pixels (at most " + MAX_SIDE + " per side and " + MAX_PIXELS / 1_000_000 + " Mpx); scale it down");
        }
    }

    @Override
    public AudioClip readAudio(Path file, int sampleRate) throws UnsupportedMediaException {
        AudioInputStream ais = openAudioStream(file);
        try (ais) {
            AudioFormat f = ais.getFormat();
            AudioFormat.Encoding enc = f.getEncoding();
            int bits = f.getSampleSizeInBits();
            int channels = f.getChannels();
            boolean pcmInt = enc.equals(AudioFormat.Encoding.PCM_SIGNED) || enc.equals(AudioFormat.Encoding.PCM_UNSIGNED);
            boolean pcmFloat = enc.equals(AudioFormat.Encoding.PCM_FLOAT) && bits == 32;
            if (!(pcmInt && (bits == 8 || bits == 16 || bits == 24 || bits == 32)) && !pcmFloat || channels < 1) {
                throw new UnsupportedMediaException("unsupported WAV sample format " + f);
            }
            byte[] data = readAll(ais, file);
            int frameBytes = bits / 8 * channels;
            int frames = data.length / frameBytes;
            float[] inter = new float[frames * channels];
            ByteBuffer bb = ByteBuffer.wrap(data).order(f.isBigEndian() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
            boolean unsigned = enc.equals(AudioFormat.Encoding.PCM_UNSIGNED);
            for (int i = 0; i < inter.length; i++) {
                int o = i * (bits / 8);
                inter[i] = pcmFloat ? bb.getFloat(o) : pcm(bb, o, bits, unsigned, f.isBigEndian());
            }
            if (pcmFloat) { // before mixing and resampling, which would turn Inf into NaN
                AudioSamples.check(inter, 0, inter.length, 0, "audio " + file);
            }
            float[] mono = Resampler.downmix(inter, channels);
            int rate = Math.round(f.getSampleRate());
            if (rate < 1000 || rate > 768_000) {
                throw new InvalidInputException("audio " + file + " declares an unsupported sample rate of "
                        + f.getSampleRate() + " Hz (1 kHz to 768 kHz)");
            }
            try {
                return new AudioClip(Resampler.resample(mono, rate, sampleRate), sampleRate);
            } catch (IllegalArgumentException e) {
                throw new InvalidInputException("audio " + file + ": " + e.getMessage(), e);
            }
        } catch (IOException e) {
            throw new InvalidInputException("cannot read audio " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Streams a PCM/float WAV: converted and down-mixed chunk by
     * chunk with the very arithmetic of {@link #readAudio} (each output sample depends on its own
     * frame only), so the samples are identical. Files at another rate go through
     * {@link Resampler.Incremental}, bit-identical to the whole-file {@link Resampler#resample}.
     */
    @Override
    public AudioStream readAudioStream(Path file, int sampleRate) throws UnsupportedMediaException {
        AudioInputStream ais = openAudioStream(file);
        AudioFormat f = ais.getFormat();
        AudioFormat.Encoding enc = f.getEncoding();
        int bits = f.getSampleSizeInBits();
        int channels = f.getChannels();
        boolean pcmInt = enc.equals(AudioFormat.Encoding.PCM_SIGNED) || enc.equals(AudioFormat.Encoding.PCM_UNSIGNED);
        boolean pcmFloat = enc.equals(AudioFormat.Encoding.PCM_FLOAT) && bits == 32;
        int rate = Math.round(f.getSampleRate());
        long frames = ais.getFrameLength();
        if (!(pcmInt && (bits == 8 || bits == 16 || bits == 24 || bits == 32)) && !pcmFloat || channels < 1
                || rate < 1000 || rate > 768_000 || rate != sampleRate && frames == AudioSystem.NOT_SPECIFIED) {
            try {
                ais.close();
            } catch (IOException e) {
                log.debug("closing {} failed: {}", file, e.toString());
            }
            return AudioStream.of(readAudio(file, sampleRate)); // refuses (or resamples) exactly as readAudio
        }
        AudioStream mono = pcmStream(file, ais, f, pcmFloat);
        // the resampler needs the input length up front: its last taps stop at the last sample
        return rate == sampleRate ? mono : new Resampler.Incremental(mono, frames, rate, sampleRate);
    }

    /**
     * Counts from the header when the JDK reads the file (its frame count, resampled length
     * {@code round(n·to/from)} as {@link Resampler#resample} gives), else decodes it.
     */
    @Override
    public long countAudio(Path file, int sampleRate) throws UnsupportedMediaException {
        AudioInputStream ais = openAudioStream(file);
        long frames;
        int rate;
        try (ais) {
            frames = ais.getFrameLength();
            rate = Math.round(ais.getFormat().getSampleRate());
        } catch (IOException e) {
            throw new InvalidInputException("cannot read audio " + file + ": " + e.getMessage(), e);
        }
        if (frames == AudioSystem.NOT_SPECIFIED || frames <= 0 || rate < 1000 || rate > 768_000) {
            return readAudio(file, sampleRate).length(); // refuses, or measures, exactly as readAudio
        }
        return Resampler.outputLength(frames, rate, sampleRate);
    }

    /** Mono samples at the file's own rate, converted chunk by chunk as {@link #readAudio} converts them. */
    /** The JDK's reader of {@code file}; formats it does not know are left to other codecs. */
    private static AudioInputStream openAudioStream(Path file) throws UnsupportedMediaException {
        try {
            return AudioSystem.getAudioInputStream(new BufferedInputStream(Files.newInputStream(file)));
        } catch (UnsupportedAudioFileException e) {
            throw new UnsupportedMediaException("the JDK reads WAV/AIFF/AU PCM only");
        } catch (IOException e) {
            throw new InvalidInputException("cannot read audio " + file + ": " + e.getMessage(), e);
        }
    }

    private static AudioStream pcmStream(Path file, AudioInputStream ais, AudioFormat f, boolean pcmFloat) {
        AudioFormat.Encoding enc = f.getEncoding();
        int bits = f.getSampleSizeInBits();
        int channels = f.getChannels();
        boolean unsigned = enc.equals(AudioFormat.Encoding.PCM_UNSIGNED);
        int sampleBytes = bits / 8;
        int frameBytes = sampleBytes * channels;
        ByteOrder order = f.isBigEndian() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        return new AudioStream() {
            private final byte[] raw = new byte[CHUNK_FRAMES * frameBytes];
            private final float[] inter = new float[CHUNK_FRAMES * channels];
            private boolean ended;
            private long samplesRead;

            @Override
            public int read(float[] dst, int off, int len) {
                java.util.Objects.checkFromIndexSize(off, len, dst.length);
                if (len == 0) {
                    return 0;
                }
                if (ended) {
                    return -1;
                }
                int frames = Math.min(len, CHUNK_FRAMES);
                int got;
                try {
                    got = ais.readNBytes(raw, 0, frames * frameBytes);
                } catch (IOException e) {
                    throw new InvalidInputException("cannot read audio " + file + ": " + e.getMessage(), e);
                }
                int n = got / frameBytes;
                if (n == 0) {
                    ended = true;
                    return -1;
                }
                ByteBuffer bb = ByteBuffer.wrap(raw).order(order);
                for (int i = 0; i < n * channels; i++) {
                    int o = i * sampleBytes;
                    inter[i] = pcmFloat ? bb.getFloat(o) : pcm(bb, o, bits, unsigned, f.isBigEndian());
                }
                if (pcmFloat) { // before mixing and resampling, which would turn Inf into NaN
                    AudioSamples.check(inter, 0, n * channels, samplesRead, "audio " + file);
                }
                samplesRead += (long) n * channels;
                if (channels == 1) {
                    System.arraycopy(inter, 0, dst, off, n);
                } else {
                    float[] mono = Resampler.downmix(java.util.Arrays.copyOf(inter, n * channels), channels);
                    System.arraycopy(mono, 0, dst, off, n);
                }
                if (got < frames * frameBytes) {
                    ended = true; // a partial last frame is dropped, as readAudio drops it
                }
                return n;
            }

            @Override
            public void close() {
                ended = true;
                try {
                    ais.close();
                } catch (IOException e) {
                    log.debug("closing {} failed: {}", file, e.toString());
                }
            }
        };
    }

    private static byte[] readAll(InputStream in, Path file) throws IOException {
        byte[] data = in.readAllBytes();
        if (data.length == 0) {
            throw new InvalidInputException(file + " contains no audio samples");
        }
        return data;
    }

    private static float pcm(ByteBuffer bb, int o, int bits, boolean unsigned, boolean bigEndian) {
        return switch (bits) {
            case 8 -> unsigned ? ((bb.get(o) & 0xff) - 128) / 128f : bb.get(o) / 128f;
            case 16 -> bb.getShort(o) / 32768f;
            case 24 -> {
                int b0 = bb.get(o) & 0xff;
                int b1 = bb.get(o + 1) & 0xff;
                int b2 = bb.get(o + 2);
                int v = bigEndian ? ((bb.get(o) << 16) | ((bb.get(o + 1) & 0xff) << 8) | (bb.get(o + 2) & 0xff))
                        : (b2 << 16) | (b1 << 8) | b0;
                yield v / 8388608f;
            }
            default -> (float) (bb.getInt(o) / 2147483648.0);
        };
    }

    @Override
    public FrameSink openVideoWriter(Path out, VideoSpec spec) throws UnsupportedMediaException {
        throw new UnsupportedMediaException("the JDK cannot encode MP4");
    }
}
