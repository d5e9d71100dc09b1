package dev.avatar4j;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An input given as bytes or as an {@link InputStream} rather than a file.
 *
 * <p>The media codecs read files (FFmpeg needs to seek: an MP4 or M4A whose index sits at its end
 * cannot be demuxed from a pipe), so such an input is spooled to a private temporary file (created
 * owner-only by {@link Files#createTempFile}) and decoded from there by the very codecs, limits
 * and checks that read files; the temporary file is deleted when the generation ends. Messages
 * name the input ({@code "the speech stream"}), never the temporary file.
 *
 * <p>Bytes can be spooled any number of times (the request stays reusable); a stream only once:
 * {@link #claim()} marks it used when a generation starts, and a second generation of the same
 * request is refused with an {@link IllegalStateException}. The stream is read on the generation
 * thread and never closed here: it belongs to the caller.
 */
final class StreamInput {
    /** Most bytes an image given as bytes or as a stream may have (files have no byte limit, only pixel limits). */
    static final int MAX_IMAGE_BYTES = 256 << 20;
    /** Most bytes a speech or video stream may spool to disk. */
    static final long MAX_STREAM_BYTES = 8L << 30;

    private final String label;
    private final byte[] bytes;
    private final InputStream stream;
    private final AtomicBoolean claimed = new AtomicBoolean();

    private StreamInput(String label, byte[] bytes, InputStream stream) {
        this.label = label;
        this.bytes = bytes;
        this.stream = stream;
    }

    /** Bytes, copied (the caller may reuse its array). */
    static StreamInput of(String label, byte[] bytes) {
        if (bytes.length == 0) {
            throw new InvalidInputException(label + " is empty");
        }
        return new StreamInput(label, bytes.clone(), null);
    }

    /** A stream read once, when a generation starts. */
    static StreamInput of(String label, InputStream stream) {
        return new StreamInput(label, null, stream);
    }

    /**
     * Reads {@code in} to its end at once into memory, at most {@code max} bytes (the stream is not
     * closed).
     *
     * @throws InvalidInputException if it is longer, empty, or cannot be read
     */
    static StreamInput readFully(String label, InputStream in, int max) {
        try {
            byte[] data = in.readNBytes(max);
            if (data.length == max && in.read() >= 0) {
                throw new InvalidInputException(label + " is too large: more than " + max / (1 << 20)
                        + " MiB; give a file instead");
            }
            if (data.length == 0) {
                throw new InvalidInputException(label + " is empty");
            }
            return new StreamInput(label, data, null);
        } catch (IOException e) {
            throw new InvalidInputException("cannot read " + label + ": " + e, e);
        }
    }

    /** What the input is, for messages ("the image stream"). */
    String label() {
        return label;
    }

    /**
     * Marks a stream used by a generation that is starting.
     *
     * @throws IllegalStateException if an earlier generation already read it
     */
    void claim() {
        if (stream != null && !claimed.compareAndSet(false, true)) {
            throw new IllegalStateException(label + " was already read by an earlier generation: an InputStream can"
                    + " be read only once; give the bytes (byte[]) or a file to render a request more than once");
        }
    }

    /**
     * Writes the input to a new private temporary file, which the caller deletes.
     *
     * @throws InvalidInputException if the stream is empty, too long, or fails
     */
    Path spool() {
        Path tmp;
        try {
            tmp = Files.createTempFile("avatar4j-input-", ".bin");
        } catch (IOException e) {
            throw new InvalidInputException("cannot spool " + label + " to a temporary file: " + e, e);
        }
        try (OutputStream out = Files.newOutputStream(tmp)) {
            if (bytes != null) {
                out.write(bytes);
            } else {
                byte[] buf = new byte[1 << 16];
                long total = 0;
                for (int n; (n = stream.read(buf)) >= 0; ) {
                    total += n;
                    if (total > MAX_STREAM_BYTES) {
                        throw new InvalidInputException(label + " is too large: more than "
                                + (MAX_STREAM_BYTES >> 30) + " GiB");
                    }
                    out.write(buf, 0, n);
                }
                if (total == 0) {
                    throw new InvalidInputException(label + " is empty");
                }
            }
        } catch (IOException | RuntimeException e) {
            delete(tmp);
            if (e instanceof InvalidInputException iie) {
                throw iie;
            }
            throw new InvalidInputException("cannot read " + label + ": " + e, e);
        }
        return tmp;
    }

    /**
     * The exception a codec raised for the spooled file, with the temporary file's name replaced
     * by what the input is ({@code "image /tmp/avatar4j-input-1.bin"} becomes {@code "the image stream"}).
     */
    AvatarException renamed(AvatarException e, Path tmp) {
        String msg = e.getMessage();
        if (msg == null || !msg.contains(tmp.toString())) {
            return e;
        }
        // "cannot read image <tmp>: ..." reads "cannot read the image stream: ..."
        String named = msg.replaceFirst("\\b(image|audio|video|speech) (file )?" + java.util.regex.Pattern.quote(
                tmp.toString()), java.util.regex.Matcher.quoteReplacement(label)).replace(tmp.toString(), label);
        AvatarException r = e instanceof InvalidInputException ? new InvalidInputException(named, e.getCause())
                : new AvatarException(named, e.getCause());
        r.setStackTrace(e.getStackTrace());
        return r;
    }

    static void delete(Path tmp) {
        if (tmp == null) {
            return;
        }
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(StreamInput.class).warn("cannot delete the temporary file {}: {}", tmp,
                    e.toString());
        }
    }

    @Override
    public String toString() {
        return label + (bytes != null ? " (" + bytes.length + " bytes)" : "");
    }
}
