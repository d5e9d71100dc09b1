package dev.avatar4j.engine;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.AudioStream;

import java.util.Arrays;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The speech of a generation at the model's sample rate, as the engines read it: its length is
 * known up front, its samples are read by range. Either an in-memory {@link AudioClip} or a
 * decoder streamed through a bounded window, so that a 10-hour file is generated from without
 * holding it (2.3 GB at 16 kHz) in memory.
 *
 * <p><b>Streamed reads.</b> Consumers read ranges that move forward (sliding windows overlap, so a
 * range may start before the end of the previous one). The source keeps the last
 * {@code window} samples decoded; a range that starts further back than that re-opens the
 * decoder and decodes again from the start of the file (correct, only slow; no consumer in the SDK
 * does it). Memory is {@code window} floats plus the decoder's own chunk, independent of the
 * length of the audio.
 *
 * <p>Not thread-safe: one generation reads it from its own thread.
 */
public abstract class AudioSource implements AutoCloseable {
    /** Default size of the kept window of a streamed source: 2^20 samples (4 MiB, 65 s at 16 kHz). */
    public static final int DEFAULT_WINDOW = 1 << 20;

    private final int sampleRate;
    private final long length;

    private AudioSource(int sampleRate, long length) {
        this.sampleRate = sampleRate;
        this.length = length;
    }

    /** A source over an in-memory clip (not copied). */
    public static AudioSource of(AudioClip clip) {
        return new InMemory(Objects.requireNonNull(clip, "clip"));
    }

    /**
     * A streamed source of exactly {@code length} samples.
     *
     * @param name     what to call the audio in error messages (its file)
     * @param length   the number of samples, counted beforehand ({@link MediaRegistry#countAudio})
     * @param rate     the sample rate of the stream
     * @param opener   opens the decoder at the first sample; called again to read backwards
     * @param whole    decodes the whole audio at once, for consumers that need all of it
     *                 ({@link #clip()}); must return the same samples as the stream
     * @param window   samples kept for backward reads (at least 1)
     */
    public static AudioSource streamed(String name, long length, int rate, Supplier<AudioStream> opener,
                                       Supplier<AudioClip> whole, int window) {
        return new Streamed(name, length, rate, opener, whole, window);
    }

    /** Samples per second. */
    public final int sampleRate() {
        return sampleRate;
    }

    /** The number of samples. */
    public final long length() {
        return length;
    }

    /**
     * Copies samples {@code [from, from + len)} into {@code dst[off..off+len)}; positions outside
     * {@code [0, length())} read as zero (the reference pads past the end with silence).
     *
     * @throws InvalidInputException if the file turns out to be broken or changed while read
     */
    public abstract void read(long from, float[] dst, int off, int len);

    /**
     * All samples as one clip, for consumers that need the whole audio at once (decoded on the
     * first call and kept: this holds the audio in memory).
     */
    public abstract AudioClip clip();

    /** Whether the samples are held in memory (an in-memory source, or a streamed one after {@link #clip()}). */
    public abstract boolean inMemory();

    /** Releases the decoder, if any. */
    @Override
    public abstract void close();

    private static final class InMemory extends AudioSource {
        private final AudioClip clip;

        InMemory(AudioClip clip) {
            super(clip.sampleRate(), clip.length());
            this.clip = clip;
        }

        @Override
        public void read(long from, float[] dst, int off, int len) {
            Objects.checkFromIndexSize(off, len, dst.length);
            float[] s = clip.samples();
            long lo = Math.max(from, 0);
            long hi = Math.min(from + len, s.length);
            Arrays.fill(dst, off, off + len, 0f);
            if (lo < hi) {
                System.arraycopy(s, (int) lo, dst, off + (int) (lo - from), (int) (hi - lo));
            }
        }

        @Override
        public AudioClip clip() {
            return clip;
        }

        @Override
        public boolean inMemory() {
            return true;
        }

        @Override
        public void close() {
        }
    }

    private static final class Streamed extends AudioSource {
        private final String name;
        private final Supplier<AudioStream> opener;
        private final Supplier<AudioClip> whole;
        private final int window;
        private float[] buf = new float[0];
        /** The kept samples are {@code [start, end)}, held in {@code buf[0 .. end - start)}. */
        private long start;
        private long end;
        private AudioStream stream;
        /** The position of {@link #stream}: samples decoded so far. */
        private long decoded;
        private AudioClip clip;
        private int reopens;

        Streamed(String name, long length, int rate, Supplier<AudioStream> opener, Supplier<AudioClip> whole,
                 int window) {
            super(rate, length);
            if (length < 0 || window < 1) {
                throw new IllegalArgumentException("length " + length + ", window " + window);
            }
            this.name = name;
            this.opener = Objects.requireNonNull(opener, "opener");
            this.whole = Objects.requireNonNull(whole, "whole");
            this.window = window;
        }

        /** Times the decoder was re-opened to read backwards (tests). */
        int reopens() {
            return reopens;
        }

        @Override
        public void read(long from, float[] dst, int off, int len) {
            Objects.checkFromIndexSize(off, len, dst.length);
            Arrays.fill(dst, off, off + len, 0f);
            long lo = Math.max(from, 0);
            long hi = Math.min(from + len, length());
            if (lo >= hi) {
                return;
            }
            if (clip != null) {
                System.arraycopy(clip.samples(), (int) lo, dst, off + (int) (lo - from), (int) (hi - lo));
                return;
            }
            ensure(lo, hi);
            System.arraycopy(buf, (int) (lo - start), dst, off + (int) (lo - from), (int) (hi - lo));
        }

        /** Makes {@code [lo, hi)} part of the kept window, decoding forward (or from the start). */
        private void ensure(long lo, long hi) {
            if (lo >= start && hi <= end) {
                return;
            }
            int cap = Math.max(window, Math.toIntExact(hi - lo));
            if (lo < start) { // further back than the window: decode again from the beginning
                if (stream != null) {
                    reopens++;
                }
                closeStream();
                start = 0;
                end = 0;
            }
            // keep as much history as fits with [lo, hi): hi - cap <= lo as cap >= hi - lo
            long keepFrom = Math.max(start, hi - cap);
            if (buf.length < cap) {
                buf = Arrays.copyOf(buf, cap);
            }
            if (keepFrom < end) {
                System.arraycopy(buf, (int) (keepFrom - start), buf, 0, (int) (end - keepFrom));
                start = keepFrom;
            } else {
                start = keepFrom;
                end = keepFrom;
            }
            if (stream == null) {
                stream = opener.get();
                decoded = 0;
            }
            skipTo(end);
            while (end < hi) {
                int want = (int) Math.min(buf.length - (end - start), length() - end);
                int n = stream.read(buf, (int) (end - start), want);
                if (n < 0) {
                    throw new InvalidInputException("audio " + name + " ended after " + end + " of its " + length()
                            + " samples: it changed while it was being read");
                }
                checkFinite(buf, (int) (end - start), n, end);
                end += n;
                decoded += n;
            }
        }

        /** Decodes and drops samples up to {@code position} (the stream is never ahead of it). */
        private void skipTo(long position) {
            float[] scratch = null;
            while (decoded < position) {
                if (scratch == null) {
                    scratch = new float[(int) Math.min(8192, position - decoded)];
                }
                int n = stream.read(scratch, 0, (int) Math.min(scratch.length, position - decoded));
                if (n < 0) {
                    throw new InvalidInputException("audio " + name + " ended after " + decoded + " of its "
                            + length() + " samples: it changed while it was being read");
                }
                checkFinite(scratch, 0, n, decoded);
                decoded += n;
            }
        }

        private void checkFinite(float[] a, int from, int n, long position) {
            for (int i = 0; i < n; i++) {
                if (!Float.isFinite(a[from + i])) {
                    throw new InvalidInputException("audio " + name + " contains a non-finite sample (" + a[from + i]
                            + ") at index " + (position + i));
                }
            }
        }

        @Override
        public AudioClip clip() {
            if (clip == null) {
                AudioClip c = whole.get();
                if (c.sampleRate() != sampleRate() || c.length() != length()) {
                    throw new InvalidInputException("audio " + name + " changed while it was being read");
                }
                clip = c;
                closeStream();
                buf = new float[0];
            }
            return clip;
        }

        @Override
        public boolean inMemory() {
            return clip != null;
        }

        private void closeStream() {
            if (stream != null) {
                AudioStream s = stream;
                stream = null;
                s.close();
            }
        }

        @Override
        public void close() {
            closeStream();
            buf = new float[0];
        }
    }
}
