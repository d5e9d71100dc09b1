package dev.avatar4j.spi;

import dev.avatar4j.BundleException;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * One graph as a backend must load it: the graph's bytes, already read and checked against the
 * digest the bundle's manifest gives (so that the graph loaded is the graph verified, whatever
 * happens to the file afterwards), and the external-data files its initializers name, each of which
 * re-checks its digest on exactly the bytes it hands out ({@link ExternalFile#load},
 * {@link ExternalFile#copyTo}). A backend must never reopen a graph or its data by path.
 *
 * <p>Instances come from {@code Bundle.graph(key)} (verified against the manifest) or
 * {@code OnnxGraphs.read(path)} (a trusted file outside a bundle, checked against itself).
 */
public final class GraphSource {
    private final Path path;
    private final byte[] bytes;
    private final String sha256;
    private final List<ExternalFile> externalFiles;
    private final List<ExternalTensor> externalTensors;

    /**
     * An external-data file a graph names.
     *
     * @param location the location as the graph writes it (relative to the graph's folder)
     * @param file     the verified file it resolves to
     * @param size     its exact size in bytes
     * @param sha256   its expected lowercase hex digest
     */
    public record ExternalFile(String location, Path file, long size, String sha256) {
        /** Validates the components. */
        public ExternalFile {
            Objects.requireNonNull(location, "location");
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(sha256, "sha256");
            if (size < 0) {
                throw new IllegalArgumentException("size < 0");
            }
        }

        /**
         * Reads the whole file into memory allocated from {@code arena}, checking the size and the
         * digest of exactly the bytes read.
         *
         * @param arena the arena to allocate from (its lifetime is the segment's)
         * @return the file's verified content, exactly {@link #size()} bytes, 64-byte aligned
         * @throws BundleException when the file changed since it was verified, or cannot be read
         */
        public MemorySegment load(Arena arena) {
            MemorySegment seg = arena.allocate(Math.max(1, size), 64).asSlice(0, size);
            MessageDigest md = sha256Digest();
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                if (ch.size() != size) {
                    throw changed(this, "its size is " + ch.size() + " bytes, the manifest says " + size);
                }
                long pos = 0;
                while (pos < size) {
                    ByteBuffer chunk = seg.asSlice(pos, Math.min(1 << 26, size - pos)).asByteBuffer();
                    while (chunk.hasRemaining()) {
                        if (ch.read(chunk) < 0) {
                            throw changed(this, "it is shorter than " + size + " bytes");
                        }
                    }
                    md.update(seg.asSlice(pos, chunk.capacity()).asByteBuffer());
                    pos += chunk.capacity();
                }
                if (ch.read(ByteBuffer.allocate(1)) > 0) {
                    throw changed(this, "it is longer than " + size + " bytes");
                }
            } catch (IOException e) {
                throw new BundleException("cannot read external data " + file + ": " + e.getMessage(), e);
            }
            check(md);
            return seg;
        }

        /**
         * Copies the file to {@code target} (which must not exist), checking the digest of the bytes
         * copied; {@code target} is deleted when they do not match.
         *
         * @param target the file to create; must not exist
         * @throws BundleException when the file changed since it was verified, or cannot be read or
         *                         copied (also when {@code target} exists)
         */
        public void copyTo(Path target) {
            MessageDigest md = sha256Digest();
            long copied = 0;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
                 OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.allocate(1 << 20);
                for (int n; (n = ch.read(buf.clear())) >= 0; ) {
                    md.update(buf.array(), 0, n);
                    out.write(buf.array(), 0, n);
                    copied += n;
                    if (copied > size) {
                        break;
                    }
                }
            } catch (IOException e) {
                deleteQuietly(target);
                throw new BundleException("cannot copy external data " + file + ": " + e.getMessage(), e);
            }
            try {
                if (copied != size) {
                    throw changed(this, "its size changed from " + size + " bytes");
                }
                check(md);
            } catch (BundleException e) {
                deleteQuietly(target);
                throw e;
            }
        }

        private void check(MessageDigest md) {
            String actual = HexFormat.of().formatHex(md.digest());
            if (!actual.equals(sha256)) {
                throw changed(this, "sha256 " + actual + ", manifest says " + sha256);
            }
        }
    }

    /**
     * An initializer whose data lies in an external file.
     *
     * @param name     the initializer's name
     * @param location the file, as the graph names it
     * @param offset   byte offset in the file
     * @param length   byte length, or −1 when the graph does not say (then the shape and type give it)
     * @param dataType the ONNX {@code TensorProto.DataType} number
     * @param dims     the shape
     */
    public record ExternalTensor(String name, String location, long offset, long length, int dataType, long[] dims) {
        /** Copies the shape. */
        public ExternalTensor {
            dims = dims.clone();
        }

        /**
         * The shape.
         *
         * @return a copy of the dimensions
         */
        @Override
        public long[] dims() {
            return dims.clone();
        }
    }

    /**
     * Describes a verified graph.
     *
     * @param path            where the graph lies (for names in messages and per-file settings; never reopened)
     * @param bytes           the verified graph bytes (kept, not copied: the caller must not modify them)
     * @param sha256          their digest
     * @param externalFiles   the external-data files the graph names, each verified on use
     * @param externalTensors the initializers whose data lies in those files
     * @throws NullPointerException if an argument is null
     * @throws IllegalArgumentException if a tensor names a location none of the files has
     */
    public GraphSource(Path path, byte[] bytes, String sha256, List<ExternalFile> externalFiles,
                       List<ExternalTensor> externalTensors) {
        this.path = Objects.requireNonNull(path, "path");
        this.bytes = Objects.requireNonNull(bytes, "bytes");
        this.sha256 = Objects.requireNonNull(sha256, "sha256");
        this.externalFiles = List.copyOf(externalFiles);
        this.externalTensors = List.copyOf(externalTensors);
        for (ExternalTensor t : this.externalTensors) {
            if (externalFile(t.location()) == null) {
                throw new IllegalArgumentException("no external file for location " + t.location());
            }
        }
    }

    /**
     * Where the graph lies; for messages and per-file settings only (never reopen it).
     *
     * @return the graph file's path
     */
    public Path path() {
        return path;
    }

    /**
     * The graph's file name, for messages.
     *
     * @return the last element of {@link #path()}
     */
    public String name() {
        return String.valueOf(path.getFileName());
    }

    /**
     * The graph itself.
     *
     * @return the verified graph bytes (shared, not a copy: do not modify)
     */
    public byte[] bytes() {
        return bytes;
    }

    /**
     * The digest of the graph bytes.
     *
     * @return the lowercase hex sha256 of {@link #bytes()}
     */
    public String sha256() {
        return sha256;
    }

    /**
     * The external-data files the graph names.
     *
     * @return the files, unmodifiable (empty for a self-contained graph)
     */
    public List<ExternalFile> externalFiles() {
        return externalFiles;
    }

    /**
     * The initializers whose data lies in {@link #externalFiles()}.
     *
     * @return the tensors, unmodifiable (empty for a self-contained graph)
     */
    public List<ExternalTensor> externalTensors() {
        return externalTensors;
    }

    /**
     * Looks up an external file by the name the graph uses for it.
     *
     * @param location the location as the graph names it
     * @return the external file, or {@code null} if the graph names no such file
     */
    public ExternalFile externalFile(String location) {
        for (ExternalFile f : externalFiles) {
            if (f.location().equals(location)) {
                return f;
            }
        }
        return null;
    }

    /**
     * A digest of the graph and all its external data (e.g. for an engine cache key).
     *
     * @return a lowercase hex sha256; {@link #sha256()} for a self-contained graph
     */
    public String contentSha256() {
        if (externalFiles.isEmpty()) {
            return sha256;
        }
        MessageDigest md = sha256Digest();
        md.update(sha256.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        for (ExternalFile f : externalFiles) {
            md.update(("\n" + f.location() + "\n" + f.sha256()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Override
    public String toString() {
        return "GraphSource[" + path + ", " + bytes.length + " bytes, " + externalFiles.size() + " external files]";
    }

    private static BundleException changed(ExternalFile f, String what) {
        return new BundleException("external data " + f.file() + " (\"" + f.location() + "\") is corrupt or was modified"
                + " after it was verified: " + what);
    }

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // best effort; the caller's folder is private and removed with it
        }
    }
}
