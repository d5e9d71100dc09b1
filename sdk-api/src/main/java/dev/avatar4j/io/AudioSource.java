package dev.avatar4j.io;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.AudioStream;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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

    /** Every sample read into a new clip (for views that hold none of their own). */
    final AudioClip readAll() {
        float[] s = new float[Math.toIntExact(length())];
        read(0, s, 0, s.length);
        return new AudioClip(s, sampleRate());
    }

    /** Releases the decoder, if any. */
    @Override
    public abstract void close();

    /**
     * An independent reader of the same samples, with its own decoder and window: two consumers
     * reading at different positions (the engine ahead, the video muxer behind) each fork, so
     * neither makes the other decode backwards. Closing the fork does not close this source.
     */
    public abstract AudioSource fork();

    /**
     * The samples from the first to the last as a stream, read through a {@link #fork()} (so it
     * holds one window, never the whole audio, and does not disturb reads of this source). The
     * caller closes the stream.
     */
    public AudioStream stream() {
        AudioSource f = fork();
        return new AudioStream() {
            private long at;

            @Override
            public int read(float[] dst, int off, int len) {
                Objects.checkFromIndexSize(off, len, dst.length);
                if (at >= length()) {
                    return len == 0 ? 0 : -1;
                }
                int n = (int) Math.min(len, length() - at);
                f.read(at, dst, off, n);
                at += n;
                return n;
            }

            @Override
            public void close() {
                f.close();
            }
        };
    }

    /**
     * {@code source} placed at {@code offset} in a track of {@code length} samples: silence before
     * it and after it (a speaker's turn in a sequential layout, or a short track padded to the
     * longest). Nothing is copied; reads go to {@code source}, which the result closes.
     *
     * @param source the track
     * @param offset where its first sample lands (≥ 0)
     * @param length the length of the placed track (≥ offset + source length)
     * @return the placed track
     */
    public static AudioSource placed(AudioSource source, long offset, long length) {
        Objects.requireNonNull(source, "source");
        if (offset < 0 || length < offset + source.length()) {
            throw new IllegalArgumentException("cannot place " + source.length() + " samples at " + offset + " in "
                    + length);
        }
        return offset == 0 && length == source.length() ? source : new Placed(source, offset, length);
    }

    /**
     * The sum of several tracks of one sample rate, clamped to [−1, 1], for muxing: as long as the
     * longest, each read from its own {@link #fork()} (so the mix can be read while the engine reads
     * the tracks themselves), a range at a time. Holds no more than each fork's window.
     *
     * @param tracks the tracks (at least one)
     * @return the mix; closing it closes the forks, not the tracks
     */
    public static AudioSource mix(List<AudioSource> tracks) {
        if (tracks.isEmpty()) {
            throw new IllegalArgumentException("no tracks to mix");
        }
        int rate = tracks.get(0).sampleRate();
        long n = 0;
        for (AudioSource t : tracks) {
            if (t.sampleRate() != rate) {
                throw new IllegalArgumentException("tracks must share one sample rate to be mixed");
            }
            n = Math.max(n, t.length());
        }
        return new Mixed(tracks, rate, n);
    }

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
        public AudioSource fork() {
            return new InMemory(clip);
        }

        @Override
        public void close() {
        }
    }

    private static final class Placed extends AudioSource {
        private final AudioSource inner;
        private final long offset;
        private AudioClip clip;

        Placed(AudioSource inner, long offset, long length) {
            super(inner.sampleRate(), length);
            this.inner = inner;
            this.offset = offset;
        }

        @Override
        public void read(long from, float[] dst, int off, int len) {
            Objects.checkFromIndexSize(off, len, dst.length);
            // the inner source zero-fills outside its own range; clip to this track's range too
            long lo = Math.max(from, 0);
            long hi = Math.min(from + len, length());
            Arrays.fill(dst, off, off + len, 0f);
            if (lo < hi) {
                inner.read(lo - offset, dst, off + (int) (lo - from), (int) (hi - lo));
            }
        }

        @Override
        public AudioClip clip() {
            if (clip == null) {
                clip = readAll();
            }
            return clip;
        }

        @Override
        public boolean inMemory() {
            return inner.inMemory();
        }

        @Override
        public AudioSource fork() {
            return new Placed(inner.fork(), offset, length());
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    private static final class Mixed extends AudioSource {
        private final List<AudioSource> tracks;
        private float[] scratch = new float[0];
        private AudioClip clip;

        Mixed(List<AudioSource> tracks, int rate, long length) {
            super(rate, length);
            List<AudioSource> forks = new ArrayList<>();
            for (AudioSource t : tracks) {
                forks.add(t.fork());
            }
            this.tracks = List.copyOf(forks);
        }

        @Override
        public void read(long from, float[] dst, int off, int len) {
            Objects.checkFromIndexSize(off, len, dst.length);
            Arrays.fill(dst, off, off + len, 0f);
            if (scratch.length < len) {
                scratch = new float[len];
            }
            for (AudioSource t : tracks) {
                t.read(from, scratch, 0, len);
                for (int i = 0; i < len; i++) {
                    dst[off + i] += scratch[i];
                }
            }
            for (int i = 0; i < len; i++) {
                dst[off + i] = Math.max(-1f, Math.min(1f, dst[off + i]));
            }
        }

        @Override
        public AudioClip clip() {
            if (clip == null) {
                clip = readAll();
            }
            return clip;
        }

        @Override
        public boolean inMemory() {
            return clip != null;
        }

        @Override
        public AudioSource fork() {
            return new Mixed(tracks, sampleRate(), length());
        }

        @Override
        public void close() {
            for (AudioSource t : tracks) {
                t.close();
            }
            scratch = new float[0];
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
            AudioSamples.check(a, from, n, position, "audio " + name);
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

        @Override
        public AudioSource fork() {
            return clip != null ? new InMemory(clip) : new Streamed(name, length(), sampleRate(), opener, whole, window);
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
