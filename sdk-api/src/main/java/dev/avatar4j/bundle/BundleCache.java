package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The directory where bundles that do not exist as directories (the built-in demo bundle, {@code .zip}
 * bundles) are extracted, and the staging + atomic-rename protocol used to fill it: a reader never
 * sees a half-written bundle, and a failed or refused extraction leaves nothing behind.
 *
 * <p>The root is {@code $AVATAR4J_CACHE}, else {@code ~/.cache/avatar4j} when the home directory is
 * writable, else {@code <java.io.tmpdir>/avatar4j-<user>}.
 */
final class BundleCache {
    /** Environment variable overriding the cache root. */
    static final String CACHE_ENV = "AVATAR4J_CACHE";

    private BundleCache() {
    }

    /** The cache root (not created). */
    static Path root() {
        String env = System.getenv(CACHE_ENV);
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String home = System.getProperty("user.home");
        if (home != null && Files.isWritable(Path.of(home))) {
            return Path.of(home, ".cache", "avatar4j");
        }
        return Path.of(System.getProperty("java.io.tmpdir"), "avatar4j-" + System.getProperty("user.name"));
    }

    /** A fresh, empty staging directory next to {@code target} (created, with its parents). */
    static Path newStaging(Path target) throws IOException {
        Path staging = target.resolveSibling(target.getFileName() + "." + UUID.randomUUID() + ".part");
        Files.createDirectories(staging);
        return staging;
    }

    /**
     * Moves a complete {@code staging} directory to {@code target} atomically. If another thread or
     * process published {@code target} first, {@code staging} is deleted and theirs is kept.
     */
    static void publish(Path staging, Path target) throws IOException {
        try {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException | DirectoryNotEmptyException raced) {
            deleteTree(staging);
            if (!Files.isDirectory(target)) {
                throw raced;
            }
        }
    }

    /** Deletes a directory tree, best effort; links are deleted, never followed. */
    static void deleteTree(Path dir) {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    /** The exception for a cache that cannot be written. */
    static BundleException unwritable(String what, Path target, IOException e) {
        return new BundleException("cannot extract " + what + " to " + target + ": " + e.getMessage()
                + " (set " + CACHE_ENV + " to a writable directory)", e);
    }
}
