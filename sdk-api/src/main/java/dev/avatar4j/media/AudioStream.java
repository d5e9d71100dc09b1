package dev.avatar4j.media;

import java.util.Objects;

/**
 * Decoded mono audio read front to back in chunks, so that a long input (hours of speech) never
 * has to be held in memory at once. Returned by {@link MediaCodec#readAudioStream}; the samples are
 * exactly those {@link MediaCodec#readAudio} returns for the same file and rate, in order.
 *
 * <p>Not thread-safe. Close it to release the file and any native decoder.
 */
public interface AudioStream extends AutoCloseable {

    /**
     * Reads up to {@code len} next samples into {@code dst[off..off+len)}.
     *
     * @param dst the array to fill with samples in [-1, 1]
     * @param off the index in {@code dst} of the first sample to write
     * @param len the most samples to read, at least 0
     * @return the number of samples read (at least one when {@code len > 0} and the stream has
     *         not ended), or {@code -1} at the end of the audio
     * @throws dev.avatar4j.InvalidInputException if the file turns out to be broken while decoding
     */
    int read(float[] dst, int off, int len);

    /** Releases the file and any native decoder; further reads are not allowed. */
    @Override
    void close();

    /**
     * A stream over an in-memory clip (the samples are not copied).
     *
     * @param clip the decoded audio
     * @return a stream that returns the clip's samples in order
     */
    static AudioStream of(AudioClip clip) {
        Objects.requireNonNull(clip, "clip");
        float[] s = clip.samples();
        return new AudioStream() {
            private int at;

            @Override
            public int read(float[] dst, int off, int len) {
                Objects.checkFromIndexSize(off, len, dst.length);
                if (at >= s.length) {
                    return len == 0 ? 0 : -1;
                }
                int n = Math.min(len, s.length - at);
                System.arraycopy(s, at, dst, off, n);
                at += n;
                return n;
            }

            @Override
            public void close() {
                at = s.length;
            }
        };
    }
}
