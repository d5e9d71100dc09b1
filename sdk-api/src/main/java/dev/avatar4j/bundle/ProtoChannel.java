package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;

/**
 * The protobuf wire format read from a file through a small window, for messages too large to hold:
 * a field that is not wanted (an initializer's {@code raw_data}, a node list) is passed by moving
 * the position, never read. Every length is checked against the end of the message that holds it
 * (the caller passes that end), so a truncated or corrupt file fails with a {@link BundleException}
 * naming {@code what}, never with an exception of the reader or by reading past a message. Group
 * wire types (deprecated, unused by ONNX) are refused.
 */
final class ProtoChannel {
    static final int WIRE_VARINT = 0;
    static final int WIRE_FIXED64 = 1;
    static final int WIRE_LEN = 2;
    static final int WIRE_FIXED32 = 5;
    private static final int WINDOW = 1 << 16;

    private final FileChannel channel;
    private final long size;
    private final String what;
    private final ByteBuffer window = ByteBuffer.allocate(WINDOW);
    /** File position of {@code window}'s first byte; its valid bytes are {@code [0, limit)}. */
    private long windowStart;
    private long pos;

    /**
     * @param channel the file, read by absolute position (its own position is not used)
     * @param size    the file's size: the end of the outermost message
     * @param what    names the file in errors
     */
    ProtoChannel(FileChannel channel, long size, String what) {
        this.channel = channel;
        this.size = size;
        this.what = what;
        window.limit(0);
    }

    /** {@return the file's size} */
    long size() {
        return size;
    }

    /** {@return the position of the next byte to read} */
    long position() {
        return pos;
    }

    /** Moves to {@code position} (the end of a field read only in part). */
    void seek(long position) {
        pos = position;
    }

    /** A field's key: its number is {@code tag >>> 3}, its wire type {@code tag & 7}. */
    long tag(long end) {
        return varint(end);
    }

    /** Reads a varint that must end before {@code end}. */
    long varint(long end) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = next(end, "truncated varint");
            v |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw bad("varint longer than 10 bytes");
    }

    /**
     * Reads a length prefix; the payload starts at {@link #position()}.
     *
     * @return the payload's end, checked to lie within {@code end}
     */
    long lengthEnd(long end) {
        long len = varint(end);
        if (len < 0 || len > end - pos) {
            throw bad("a field's length runs past its message");
        }
        return pos + len;
    }

    /** Reads a UTF-8 string field's payload (the length prefix included), at most {@code max} bytes. */
    String string(long end, int max) {
        long stop = lengthEnd(end);
        long len = stop - pos;
        if (len > max) {
            throw bad("a name of " + len + " bytes (at most " + max + ")");
        }
        byte[] bytes = new byte[(int) len];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) next(stop, "truncated string");
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * Passes the value of a field of wire type {@code wire} without reading it.
     *
     * @return the number of payload bytes passed (a length-delimited field's payload, a fixed value's
     *         4 or 8 bytes, a varint's bytes)
     */
    long skip(int wire, long end) {
        long start = pos;
        switch (wire) {
            case WIRE_VARINT -> varint(end);
            case WIRE_FIXED64 -> advance(8, end, "truncated fixed64");
            case WIRE_LEN -> {
                long stop = lengthEnd(end);
                start = pos;
                pos = stop;
            }
            case WIRE_FIXED32 -> advance(4, end, "truncated fixed32");
            default -> throw bad("unsupported protobuf wire type " + wire);
        }
        return pos - start;
    }

    private void advance(int n, long end, String problem) {
        if (end - pos < n) {
            throw bad(problem);
        }
        pos += n;
    }

    private int next(long end, String problem) {
        if (pos >= end) {
            throw bad(problem);
        }
        long off = pos - windowStart;
        if (off < 0 || off >= window.limit()) {
            fill();
            off = 0;
        }
        pos++;
        return window.get((int) off) & 0xff;
    }

    private void fill() {
        window.clear();
        try {
            while (window.hasRemaining()) {
                int n = channel.read(window, pos + window.position());
                if (n < 0) {
                    break;
                }
            }
        } catch (IOException e) {
            throw new BundleException("cannot read " + what + ": " + e.getMessage(), e);
        }
        window.flip();
        windowStart = pos;
        if (window.limit() == 0) {
            throw bad("the file ends early (truncated)");
        }
    }

    /** A {@link BundleException} saying that the file is not a valid ONNX model, and why. */
    BundleException bad(String problem) {
        return new BundleException(what + " is not a valid ONNX model: " + problem);
    }
}
