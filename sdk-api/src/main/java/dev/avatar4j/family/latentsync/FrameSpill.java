package dev.avatar4j.family.latentsync;

import dev.avatar4j.InvalidInputException;
import dev.avatar4j.media.RgbImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Decoded frames of one size kept in a temporary file instead of the heap, for random access: the
 * ping-pong loop of a video shorter than its speech plays the frames backwards, which a decoder
 * cannot do. Frames are appended as raw RGB, then the file is memory-mapped read-only and frames are
 * copied out on {@link #get}; the operating system pages them in and out as needed. The file is
 * created owner-only in the system temporary directory and deleted on {@link #close()} (and by the
 * JVM on exit should close never run).
 *
 * <p>Not thread-safe.
 */
final class FrameSpill implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FrameSpill.class);
    private final int width;
    private final int height;
    private final int frameBytes;
    private final Path file;
    private final FileChannel channel;
    private Arena arena;
    private MemorySegment mapped;
    private int count;

    FrameSpill(int width, int height) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("bad frame size " + width + "x" + height);
        }
        this.width = width;
        this.height = height;
        this.frameBytes = Math.multiplyExact(Math.multiplyExact(width, height), 3);
        try {
            this.file = Files.createTempFile("avatar4j-dub-", ".rgb");
            this.file.toFile().deleteOnExit();
            this.channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary file for the video frames", e);
        }
    }

    /** Appends a frame; only before the first {@link #get}. */
    void add(RgbImage frame) {
        if (mapped != null) {
            throw new IllegalStateException("frames are added before they are read");
        }
        if (frame.width() != width || frame.height() != height) {
            throw new InvalidInputException("video frame " + count + " is " + frame.width() + "x" + frame.height()
                    + ", expected " + width + "x" + height);
        }
        ByteBuffer b = frame.pixels();
        try {
            long at = (long) count * frameBytes;
            while (b.hasRemaining()) {
                at += channel.write(b, at);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write video frames to " + file + " (disk full?)", e);
        }
        count++;
    }

    /** @return frames added */
    int size() {
        return count;
    }

    /** Frame {@code i} (a fresh copy). */
    RgbImage get(int i) {
        java.util.Objects.checkIndex(i, count);
        if (mapped == null) {
            arena = Arena.ofConfined();
            try {
                mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, (long) count * frameBytes, arena);
            } catch (IOException e) {
                arena.close();
                arena = null;
                throw new UncheckedIOException("cannot map " + file, e);
            }
        }
        byte[] px = new byte[frameBytes];
        MemorySegment.copy(mapped, ValueLayout.JAVA_BYTE, (long) i * frameBytes, px, 0, frameBytes);
        return RgbImage.ofOwned(width, height, px);
    }

    /** Unmaps and deletes the file. */
    @Override
    public void close() {
        try {
            if (arena != null) {
                arena.close();
                arena = null;
                mapped = null;
            }
            channel.close();
        } catch (IOException e) {
            LOG.debug("closing {} failed: {}", file, e.toString());
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warn("cannot delete {} (removed on exit): {}", file, e.toString());
            }
        }
    }

    /** The temporary file (for tests). */
    Path file() {
        return file;
    }
}
