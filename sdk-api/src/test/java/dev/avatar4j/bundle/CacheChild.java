package dev.avatar4j.bundle;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A child JVM of {@link BundleCacheTest}: waits for a start signal (a file), opens a zip bundle (or
 * the built-in preview bundle when the zip argument is {@code preview}) through the public entry
 * points with the cache given by the environment, writes {@code ok} to its result file, and with a
 * hold file keeps the bundle open until that file appears. Exit 0 on success, 3 on a failure.
 */
public final class CacheChild {
    private CacheChild() {
    }

    public static void main(String[] args) throws Exception {
        Path zip = Path.of(args[0]);
        Path go = Path.of(args[1]);
        Path result = Path.of(args[2]);
        Path hold = args.length > 3 ? Path.of(args[3]) : null;
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!Files.exists(go) && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        try {
            Bundle b = args[0].equals("preview") ? DefaultBundle.open() : Bundle.open(zip);
            publish(result, "ok " + b.directory());
        } catch (RuntimeException e) {
            publish(result, "failed " + e);
            System.exit(3);
        }
        while (hold != null && !Files.exists(hold) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        System.exit(0);
    }

    /**
     * Writes {@code text} to {@code result} atomically: the parent polls for the file, and a plain write
     * let it read the file between its creation and its content (an empty result under load).
     */
    private static void publish(Path result, String text) throws java.io.IOException {
        Path part = result.resolveSibling(result.getFileName() + ".part");
        Files.writeString(part, text);
        Files.move(part, result, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
