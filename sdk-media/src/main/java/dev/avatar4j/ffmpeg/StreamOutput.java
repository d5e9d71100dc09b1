package dev.avatar4j.ffmpeg;

import static org.bytedeco.ffmpeg.global.avformat.avio_alloc_context;
import static org.bytedeco.ffmpeg.global.avformat.avio_context_free;
import static org.bytedeco.ffmpeg.global.avformat.avio_flush;
import static org.bytedeco.ffmpeg.global.avutil.av_free;
import static org.bytedeco.ffmpeg.global.avutil.av_malloc;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.Write_packet_Pointer_BytePointer_int;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A caller's {@link OutputStream} as an FFmpeg AVIOContext: write-only, not seekable (no seek
 * callback, so the muxer must write in order: fragmented MP4).
 *
 * <p>One native write callback serves every stream (JavaCPP callbacks are few and costly): the
 * AVIOContext's {@code opaque} pointer carries a number that finds the stream in a table. The
 * callback copies the bytes into a Java array and writes them; an {@link IOException} (the client
 * went away) is kept, reported to FFmpeg as an I/O error and then by {@link #failure()}.
 */
final class StreamOutput {
    private static final int BUFFER = 64 << 10;
    private static final int AVERROR_EIO = -5;
    private static final AtomicLong IDS = new AtomicLong();
    private static final Map<Long, StreamOutput> OPEN = new ConcurrentHashMap<>();
    private static final Write_packet_Pointer_BytePointer_int WRITE = new Write() .retainReference();

    private final OutputStream out;
    private final long id = IDS.incrementAndGet();
    private byte[] chunk = new byte[BUFFER];
    private volatile IOException failure;

    StreamOutput(OutputStream out) {
        this.out = java.util.Objects.requireNonNull(out, "out");
    }

    /** A new AVIOContext writing to this stream; {@link #close} frees it. */
    AVIOContext open() {
        BytePointer buffer = new BytePointer(av_malloc(BUFFER));
        if (buffer.isNull()) {
            throw new OutOfMemoryError("av_malloc(" + BUFFER + ")");
        }
        OPEN.put(id, this);
        AVIOContext pb = avio_alloc_context(buffer, BUFFER, 1, new Opaque(id), null, WRITE, null);
        if (pb == null || pb.isNull()) {
            OPEN.remove(id);
            av_free(buffer);
            throw new OutOfMemoryError("avio_alloc_context");
        }
        pb.seekable(0);
        return pb;
    }

    /**
     * Frees {@code pb} (its buffer too), after writing what it still holds when {@code flush}.
     *
     * @return 0, or FFmpeg's error when a write failed
     */
    int close(AVIOContext pb, boolean flush) {
        int ret = 0;
        if (flush) {
            avio_flush(pb);
            ret = pb.error();
        }
        av_free(pb.buffer()); // may differ from the one allocated: FFmpeg can reallocate it
        pb.buffer(null);
        avio_context_free(pb);
        release();
        return ret < 0 ? ret : failure != null ? AVERROR_EIO : 0;
    }

    /** Unregisters this stream from the callback's table (idempotent). */
    void release() {
        OPEN.remove(id);
    }

    /** Flushes the caller's stream (it stays open). */
    void flushCaller() {
        try {
            out.flush();
        } catch (IOException e) {
            failure = e;
            throw new UncheckedIOException("cannot write video to the output stream: " + e, e);
        }
    }

    /** The exception the caller's stream threw, if any. */
    IOException failure() {
        return failure;
    }

    private int write(BytePointer buf, int size) {
        if (failure != null) {
            return AVERROR_EIO;
        }
        try {
            if (chunk.length < size) {
                chunk = new byte[size];
            }
            buf.get(chunk, 0, size);
            out.write(chunk, 0, size);
            return size;
        } catch (IOException e) {
            failure = e;
            return AVERROR_EIO;
        } catch (RuntimeException e) {
            failure = new IOException("the output stream failed: " + e, e);
            return AVERROR_EIO;
        }
    }

    /** A pointer whose address is a stream's number (never dereferenced). */
    private static final class Opaque extends Pointer {
        Opaque(long id) {
            address = id;
        }
    }

    /** The one native write callback. */
    private static final class Write extends Write_packet_Pointer_BytePointer_int {
        @Override
        public int call(Pointer opaque, BytePointer buf, int size) {
            StreamOutput s = OPEN.get(opaque.address());
            return s == null ? AVERROR_EIO : s.write(buf, size);
        }
    }
}
