package dev.avatar4j.tensorrt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Serialized TensorRT engines on disk, one file per (ONNX sha256, TensorRT version, GPU compute
 * capability, optimisation-profile shapes, precision). A file is written to a temporary name in the
 * same directory and atomically renamed, so concurrent builders and crashes never leave a truncated
 * engine under a final name. A sidecar {@code .key} file holds the key in words.
 */
final class EngineCache {
    /** System property overriding the cache directory. */
    static final String DIR_PROPERTY = "avatar4j.tensorrt.engineCache";

    /**
     * What an engine depends on.
     *
     * @param onnxSha256        hex sha256 of the ONNX file
     * @param tensorRtVersion   TensorRT library version, e.g. {@code 10.15.0}
     * @param computeCapability GPU compute capability, e.g. {@code 8.9}
     * @param profile           the optimisation-profile shapes in words
     * @param precision         {@code fp16} or {@code fp32}
     */
    record Key(String onnxSha256, String tensorRtVersion, String computeCapability, String profile, String precision) {
        String canonical() {
            return "onnx-sha256=" + onnxSha256 + "\ntensorrt=" + tensorRtVersion + "\ncompute-capability="
                    + computeCapability + "\nprofile=" + profile + "\nprecision=" + precision + "\n";
        }

        /** 24 hex digits of the sha256 of {@link #canonical()}. */
        String id() {
            return sha256(canonical().getBytes(StandardCharsets.UTF_8)).substring(0, 24);
        }
    }

    private final Path dir;

    EngineCache(Path dir) {
        this.dir = dir;
    }

    /** {@code -Davatar4j.tensorrt.engineCache}, else {@code $AVATAR4J_CACHE/engines}, else {@code ~/.cache/avatar4j/engines}. */
    static Path defaultDir() {
        String p = System.getProperty(DIR_PROPERTY);
        if (p != null && !p.isBlank()) {
            return Path.of(p);
        }
        String env = System.getenv("AVATAR4J_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env, "engines");
        }
        return Path.of(System.getProperty("user.home"), ".cache", "avatar4j", "engines");
    }

    Path dir() {
        return dir;
    }

    /** Where the engine of {@code graphFile} under {@code key} lives. */
    Path path(Path graphFile, Key key) {
        String stem = graphFile.getFileName().toString().replaceFirst("\\.onnx$", "").replaceAll("[^A-Za-z0-9._-]", "_");
        return dir.resolve(stem + "-" + key.id() + ".engine");
    }

    /** The cached plan, if present. */
    Optional<byte[]> read(Path graphFile, Key key) {
        Path p = path(graphFile, key);
        try {
            return Files.isRegularFile(p) ? Optional.of(Files.readAllBytes(p)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Stores a plan atomically and returns its file. */
    Path write(Path graphFile, Key key, byte[] plan) {
        Path target = path(graphFile, key);
        try {
            Files.createDirectories(dir);
            Path keyTmp = Files.createTempFile(dir, ".key-", ".tmp");
            Files.writeString(keyTmp, key.canonical());
            move(keyTmp, target.resolveSibling(target.getFileName() + ".key"));
            Path tmp = Files.createTempFile(dir, ".engine-", ".tmp");
            try {
                Files.write(tmp, plan);
                move(tmp, target);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write engine cache file " + target + ": " + e.getMessage(), e);
        }
    }

    /** Removes a cached plan that turned out to be unusable. */
    void evict(Path graphFile, Key key) {
        try {
            Files.deleteIfExists(path(graphFile, key));
        } catch (IOException ignored) {
            // a stale file is rebuilt and overwritten next time
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(Path file) {
        try (var in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
