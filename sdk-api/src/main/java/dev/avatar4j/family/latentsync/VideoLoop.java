package dev.avatar4j.family.latentsync;

import java.util.AbstractList;
import java.util.List;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * LatentSync's answer to a video shorter than its audio (docs/REFERENCE.md §2 "Loop the video"):
 * the frames play forward, then backward, then forward again (ping-pong; the turning frame appears
 * twice, as concatenating a reversed copy gives), and the result is cut to the audio's frame count.
 * A video at least as long as the audio is only cut.
 */
final class VideoLoop {

    private VideoLoop() {
    }

    /**
     * Which source frame output frame k shows.
     *
     * @param k output frame index, ≥ 0
     * @param n number of source frames, ≥ 1
     * @return the source frame index in [0, n)
     */
    static int sourceIndex(long k, int n) {
        if (n < 1 || k < 0) {
            throw new IllegalArgumentException("need k >= 0 and n >= 1, got k=" + k + ", n=" + n);
        }
        long p = k % (2L * n);
        return (int) (p < n ? p : 2L * n - 1 - p);
    }

    /**
     * A view of {@code frames} looped ping-pong and cut to {@code count} frames; no frame is copied.
     *
     * @param frames source frames (or per-frame values, nulls allowed), at least one
     * @param count output frame count, ≥ 0
     * @param <T> frame type
     * @return an unmodifiable random-access view
     */
    static <T> List<T> pingPong(List<T> frames, int count) {
        Objects.requireNonNull(frames, "frames");
        if (frames.isEmpty()) {
            throw new IllegalArgumentException("no frames to loop");
        }
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, got " + count);
        }
        List<T> src = new java.util.ArrayList<>(frames); // may hold nulls (frames without a face)
        return new Looped<>(src, count);
    }

    private static final class Looped<T> extends AbstractList<T> implements RandomAccess {
        private final List<T> src;
        private final int count;

        Looped(List<T> src, int count) {
            this.src = src;
            this.count = count;
        }

        @Override
        public T get(int index) {
            Objects.checkIndex(index, count);
            return src.get(sourceIndex(index, src.size()));
        }

        @Override
        public int size() {
            return count;
        }
    }
}
