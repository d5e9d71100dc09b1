package dev.avatar4j.family.stableavatar;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Off-heap float32 storage for a latent timeline: {@code frames} latent frames of
 * {@code frameFloats = C·h·w} floats each, every frame laid out {@code [C, h·w]}. The memory comes
 * from a shared arena owned by this object and is zero-initialised.
 *
 * <p>A window tensor is laid out channel-major {@code [C, k, h·w]} (the DiT's {@code [C, F, H, W]}),
 * so moving a window in and out of the timeline is a strided copy: {@link #gather} and
 * {@link #scatter}.
 *
 * <p>Not thread-safe for concurrent writes to the same frame; the segments themselves may be read
 * from any thread (shared arena).
 */
public final class LatentTimeline implements AutoCloseable {

    private final Arena arena;
    private final int frames;
    private final long frameFloats;
    private final MemorySegment data;

    /**
     * Allocates a zeroed timeline.
     *
     * @param frames number of latent frames T, at least 1
     * @param frameFloats floats per frame (C·h·w), at least 1
     * @throws IllegalArgumentException if a size is out of range
     */
    public LatentTimeline(int frames, long frameFloats) {
        if (frames < 1 || frameFloats < 1) {
            throw new IllegalArgumentException(
                    "timeline needs >= 1 frame of >= 1 float, got " + frames + " x " + frameFloats);
        }
        this.frames = frames;
        this.frameFloats = frameFloats;
        this.arena = Arena.ofShared();
        // One block keeps frames adjacent (cheap bulk copies); frame(t) hands out slices of it.
        this.data = arena.allocate(Math.multiplyExact(Math.multiplyExact((long) frames, frameFloats),
                (long) Float.BYTES), Float.BYTES);
    }

    /** {@return T, the number of latent frames} */
    public int frames() {
        return frames;
    }

    /** {@return floats per frame (C·h·w)} */
    public long frameFloats() {
        return frameFloats;
    }

    /**
     * One latent frame.
     *
     * @param t latent frame index in [0, T)
     * @return the frame's {@code [C, h·w]} float32 segment (a view, writes go to the timeline)
     */
    public MemorySegment frame(int t) {
        if (t < 0 || t >= frames) {
            throw new IndexOutOfBoundsException("frame " + t + " outside [0, " + frames + ")");
        }
        return data.asSlice(t * frameFloats * Float.BYTES, frameFloats * Float.BYTES);
    }

    /**
     * Copies latent frames {@code [start, end)} into a window tensor {@code [C, k, h·w]},
     * k = end − start.
     *
     * @param start first frame (inclusive)
     * @param end last frame (exclusive)
     * @param channels C; must divide {@link #frameFloats()}
     * @param dst destination, at least {@code k·frameFloats} floats
     */
    public void gather(int start, int end, int channels, MemorySegment dst) {
        long hw = checkRange(start, end, channels, dst);
        int k = end - start;
        for (int t = start; t < end; t++) {
            MemorySegment f = frame(t);
            for (int c = 0; c < channels; c++) {
                MemorySegment.copy(f, ValueLayout.JAVA_FLOAT, c * hw * Float.BYTES,
                        dst, ValueLayout.JAVA_FLOAT, ((long) c * k + (t - start)) * hw * Float.BYTES, hw);
            }
        }
    }

    /**
     * Copies a window tensor {@code [C, k, h·w]} back into latent frames {@code [start, end)}.
     *
     * @param start first frame (inclusive)
     * @param end last frame (exclusive)
     * @param channels C; must divide {@link #frameFloats()}
     * @param src source, at least {@code k·frameFloats} floats
     */
    public void scatter(int start, int end, int channels, MemorySegment src) {
        long hw = checkRange(start, end, channels, src);
        int k = end - start;
        for (int t = start; t < end; t++) {
            MemorySegment f = frame(t);
            for (int c = 0; c < channels; c++) {
                MemorySegment.copy(src, ValueLayout.JAVA_FLOAT, ((long) c * k + (t - start)) * hw * Float.BYTES,
                        f, ValueLayout.JAVA_FLOAT, c * hw * Float.BYTES, hw);
            }
        }
    }

    /**
     * Copies every frame of another timeline of the same shape into this one.
     *
     * @param other source timeline
     * @throws IllegalArgumentException if the shapes differ
     */
    public void copyFrom(LatentTimeline other) {
        if (other.frames != frames || other.frameFloats != frameFloats) {
            throw new IllegalArgumentException("timeline shapes differ: " + other.frames + "x"
                    + other.frameFloats + " vs " + frames + "x" + frameFloats);
        }
        MemorySegment.copy(other.data, 0, data, 0, data.byteSize());
    }

    private long checkRange(int start, int end, int channels, MemorySegment window) {
        if (start < 0 || end > frames || end <= start) {
            throw new IndexOutOfBoundsException(
                    "frames [" + start + ", " + end + ") outside [0, " + frames + ")");
        }
        if (channels < 1 || frameFloats % channels != 0) {
            throw new IllegalArgumentException(
                    "channels " + channels + " does not divide frameFloats " + frameFloats);
        }
        long need = (end - start) * frameFloats * Float.BYTES;
        if (window.byteSize() < need) {
            throw new IllegalArgumentException(
                    "window segment holds " + window.byteSize() + " bytes, need " + need);
        }
        return frameFloats / channels;
    }

    /** Frees the off-heap memory; segments handed out before become inaccessible. Idempotent. */
    @Override
    public synchronized void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
