package dev.avatar4j.ffmpeg;

/**
 * Constant-frame-rate conversion with the rule of FFmpeg's {@code fps} filter (default
 * {@code round=near}, {@code eof_action=round}): every decoded frame gets the output slot
 * {@code round(t·fps)} (halves away from zero); output slot k shows the last frame whose slot is at
 * most k, so frames are duplicated across gaps and dropped when a later frame takes their slot; the
 * last frame lasts until its end time, rounded the same way. Slots count from the first frame's.
 *
 * <p>Used as a stream: {@link #push} each frame's timestamp and emit the previously pushed frame
 * the returned number of times, then {@link #finish} with the end time and emit the last frame that
 * many times. LatentSync re-encodes its input with {@code ffmpeg -r 25}; we apply the filter's rule
 * to the decoded frames instead, which avoids a second lossy encode (docs/REFERENCE.md §2 "Read
 * video"; the CLI's {@code -r} applies the same nearest-slot idea with an extra drift tolerance that
 * differs between FFmpeg versions).
 *
 * <p>Not thread-safe.
 */
final class FpsResampler {
    private static final long MICROS = 1_000_000L;

    private final int fps;
    private boolean started;
    private long nextSlot;
    private long emitted;

    FpsResampler(int fps) {
        if (fps <= 0) {
            throw new IllegalArgumentException("fps must be positive, got " + fps);
        }
        this.fps = fps;
    }

    /** Output slot of a timestamp in microseconds: round(t·fps/1e6), halves away from zero. */
    long slot(long micros) {
        long num = Math.multiplyExact(Math.abs(micros), (long) fps);
        long r = (2 * num + MICROS) / (2 * MICROS);
        return micros < 0 ? -r : r;
    }

    /**
     * A new frame arrives.
     *
     * @param micros its presentation time in microseconds
     * @return how many output frames the previously pushed frame fills (0 for the first frame)
     */
    int push(long micros) {
        long s = slot(micros);
        if (!started) {
            started = true;
            nextSlot = s;
            return 0;
        }
        return fill(s);
    }

    /**
     * The stream ended.
     *
     * @param endMicros the end time of the last frame (its timestamp plus its duration)
     * @return how many output frames the last frame fills; at least 1 when no frame was output yet
     */
    int finish(long endMicros) {
        if (!started) {
            return 0;
        }
        int n = fill(slot(endMicros));
        if (n == 0 && emitted == 0) {
            emitted = 1;
            return 1;
        }
        return n;
    }

    /** Output frames emitted so far. */
    long emitted() {
        return emitted;
    }

    private int fill(long untilSlot) {
        long n = Math.max(0, untilSlot - nextSlot);
        if (n > Integer.MAX_VALUE) {
            throw new IllegalStateException("gap of " + n + " frames");
        }
        nextSlot += n;
        emitted += n;
        return (int) n;
    }
}
