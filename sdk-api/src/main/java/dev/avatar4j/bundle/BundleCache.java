package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The directory where bundles that do not exist as directories (the built-in demo bundle, {@code .zip}
 * bundles) are extracted, and the protocols that keep it sound when threads and processes share it:
 *
 * <ul>
 *   <li><b>Staging and publishing.</b> A bundle is written into {@code <target>.<uuid>.part} and moved
 *       to {@code <target>} with one atomic rename, so a reader never sees a half-written bundle. Any
 *       number of threads or processes may extract the same bundle at once: the first rename wins, the
 *       others find the target in place (on Linux a rename onto a non-empty folder fails with a plain
 *       {@code FileSystemException "Directory not empty"}) and delete their copy.</li>
 *   <li><b>Stale staging folders.</b> The extracting process holds an exclusive lock on
 *       {@code <target>.<uuid>.part.lock} while it writes; a staging folder is removed on every failure,
 *       and one left by a process that died (killed, Ctrl-C during extraction) is swept by the next
 *       extraction into the same folder, which finds its lock free. A folder whose lock is held is never
 *       touched.</li>
 *   <li><b>Leases and eviction</b> ({@code zips/} only): a process using an extracted bundle holds a
 *       shared lock on its lease file {@code <bundle>.lease}; eviction takes an exclusive lock first, so
 *       a bundle in use by any live process is never evicted. See {@link ZipBundle} for the size
 *       bound.</li>
 * </ul>
 *
 * <p>The root is {@code -Davatar4j.cache}, else {@code $AVATAR4J_CACHE}, else {@code ~/.cache/avatar4j} when the home directory is
 * writable, else {@code <java.io.tmpdir>/avatar4j-<user>}.
 */
final class BundleCache {
    private static final Logger log = LoggerFactory.getLogger(BundleCache.class);
    /** Environment variable overriding the cache root. */
    static final String CACHE_ENV = "AVATAR4J_CACHE";
    /** System property overriding the cache root (before {@link #CACHE_ENV}). */
    static final String CACHE_PROPERTY = "avatar4j.cache";
    private static final String PART = ".part";
    private static final String LOCK = ".lock";
    private static final String LEASE = ".lease";

    /** Staging folders of this JVM and the locks that mark them live (guarded by the map). */
    private static final Map<Path, Held> STAGING = new HashMap<>();
    /** Bundles of this JVM in use (leased), by folder (guarded by the map). */
    private static final Map<Path, Lease> LEASES = new HashMap<>();

    private BundleCache() {
    }

    /** A lock file's channel and lock. */
    private record Held(FileChannel channel, FileLock lock, Path file) {
        void release() {
            try {
                channel.close(); // releases the lock
            } catch (IOException ignored) {
                // nothing held any more either way
            }
        }
    }

    /** A shared lock on a bundle's manifest, counted per user in this JVM. */
    private static final class Lease {
        final Held held;
        int users;

        Lease(Held held) {
            this.held = held;
        }
    }

    /** The cache root (not created). */
    static Path root() {
        String prop = System.getProperty(CACHE_PROPERTY);
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
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

    // ------------------------------------------------------------------ staging

    /**
     * A fresh, empty staging directory next to {@code target} (created, with its parents), marked live
     * by a lock this JVM holds until {@link #deleteTree} removes the folder. Stale staging folders of
     * dead processes next to {@code target} are swept first.
     */
    static Path newStaging(Path target) throws IOException {
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        sweepStaging(parent);
        while (true) {
            Path staging = parent.resolve(target.getFileName() + "." + UUID.randomUUID() + PART);
            Path lockFile = lockOf(staging);
            Held held;
            synchronized (STAGING) { // sweepers of this JVM skip registered folders
                FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                FileLock lock;
                try {
                    lock = ch.lock(); // waits while another process's sweeper has it
                } catch (IOException | RuntimeException e) {
                    ch.close();
                    throw e;
                }
                held = new Held(ch, lock, lockFile);
                if (!Files.exists(lockFile, LinkOption.NOFOLLOW_LINKS)) {
                    held.release(); // a sweeper took it for an orphan between its creation and our lock
                    continue;
                }
                STAGING.put(staging, held);
            }
            try {
                Files.createDirectory(staging);
            } catch (IOException e) {
                deleteTree(staging);
                throw e;
            }
            return staging;
        }
    }

    private static Path lockOf(Path staging) {
        return staging.resolveSibling(staging.getFileName() + LOCK);
    }

    /**
     * Removes staging folders (and their lock files) in {@code dir} that no live process holds: their
     * lock is free because the process that made them died before it could clean up.
     */
    static void sweepStaging(Path dir) {
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                entries.add(p);
            }
        } catch (IOException e) {
            return; // nothing to sweep in a folder we cannot list
        }
        for (Path p : entries) {
            String name = p.getFileName().toString();
            if (name.endsWith(PART + LOCK)) {
                Path staging = p.resolveSibling(name.substring(0, name.length() - LOCK.length()));
                synchronized (STAGING) {
                    if (STAGING.containsKey(staging)) {
                        continue; // ours, live
                    }
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                        FileLock lock;
                        try {
                            lock = ch.tryLock();
                        } catch (OverlappingFileLockException e) {
                            lock = null;
                        }
                        if (lock == null) {
                            continue; // a live process is writing it
                        }
                        log.debug("removing stale staging folder {} (its process is gone)", staging);
                        deleteFiles(staging);
                        Files.deleteIfExists(p);
                    } catch (NoSuchFileException e) {
                        // its owner finished meanwhile
                    } catch (IOException e) {
                        log.debug("cannot sweep {}: {}", p, e.toString());
                    }
                }
            } else if (name.endsWith(PART) && Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                    && !Files.exists(lockOf(p), LinkOption.NOFOLLOW_LINKS)) {
                // an owner creates the lock before the folder and deletes the folder before the lock: a
                // folder without a lock is left over from a process that died while deleting it
                synchronized (STAGING) {
                    if (!STAGING.containsKey(p)) {
                        deleteFiles(p);
                    }
                }
            }
        }
    }

    /**
     * Moves a complete {@code staging} directory to {@code target} atomically. If another thread or
     * process published {@code target} first, {@code staging} is deleted and theirs is kept.
     */
    static void publish(Path staging, Path target) throws IOException {
        try {
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException raced) {
            // FileAlreadyExists, DirectoryNotEmpty, or on Linux a plain FileSystemException("Directory
            // not empty") when another extraction renamed its copy into place first
            if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
                throw raced;
            }
            log.debug("{} was published by another extraction first; keeping it", target);
            deleteTree(staging);
        }
    }

    /**
     * Deletes a directory tree, best effort; links are deleted, never followed. A staging folder of
     * this JVM also loses its lock file and lock.
     */
    static void deleteTree(Path dir) {
        Held staging;
        synchronized (STAGING) {
            staging = STAGING.remove(dir);
        }
        deleteFiles(dir);
        if (staging != null) {
            try {
                Files.deleteIfExists(staging.file()); // before the lock goes: see sweepStaging
            } catch (IOException ignored) {
                // swept later
            }
            staging.release();
        }
    }

    private static void deleteFiles(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
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
        } catch (IOException | java.io.UncheckedIOException ignored) {
            // best effort
        }
    }

    // ------------------------------------------------------------------ leases and eviction

    /**
     * Marks the extracted bundle {@code dir} as in use by this JVM: a shared lock on its lease file
     * {@code <dir>.lease}, which eviction must lock exclusively. Waits while another process is
     * evicting it. (A separate file, never read by anyone else: POSIX drops a process's locks on a
     * file when it closes any descriptor of that file, which reading the manifest would do.)
     *
     * @return whether {@code dir} is a complete bundle now leased; {@code false} when it does not exist
     *         (not extracted yet, or just evicted): extract it and lease again
     */
    static boolean lease(Path dir) throws IOException {
        Path key = key(dir);
        synchronized (LEASES) {
            Lease l = LEASES.get(key);
            if (l != null) {
                l.users++;
                return true;
            }
            if (!Files.isRegularFile(key.resolve(BundleManifest.FILE_NAME), LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            Path leaseFile = leaseOf(key);
            FileChannel ch = FileChannel.open(leaseFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            try {
                Object locked = fileKey(leaseFile);
                FileLock lock = ch.lock(0, Long.MAX_VALUE, true);
                // evicted while we waited: the lease file we hold is gone, and so is the bundle
                if (locked == null || !locked.equals(fileKey(leaseFile))
                        || !Files.isRegularFile(key.resolve(BundleManifest.FILE_NAME), LinkOption.NOFOLLOW_LINKS)) {
                    ch.close();
                    return false;
                }
                Lease lease = new Lease(new Held(ch, lock, leaseFile));
                lease.users = 1;
                LEASES.put(key, lease);
                return true;
            } catch (IOException | RuntimeException e) {
                ch.close();
                throw e;
            }
        }
    }

    private static Path leaseOf(Path dir) {
        return dir.resolveSibling(dir.getFileName() + LEASE);
    }

    /** Ends one use of {@code dir} by this JVM (see {@link #lease}); does nothing if it is not leased. */
    static void release(Path dir) {
        Path key = key(dir);
        synchronized (LEASES) {
            Lease l = LEASES.get(key);
            if (l != null && --l.users == 0) {
                LEASES.remove(key);
                l.held.release();
            }
        }
    }

    /** Whether this JVM has {@code dir} leased. */
    static boolean leased(Path dir) {
        synchronized (LEASES) {
            return LEASES.containsKey(key(dir));
        }
    }

    /**
     * Ends this JVM's use of {@code dir} and deletes it unless someone else (a thread here or another
     * process) still has it leased: a bundle refused after extraction leaves nothing in the cache.
     */
    static void discard(Path dir) {
        synchronized (LEASES) {
            release(dir);
            if (!leased(dir) && evict(dir)) {
                log.debug("removed refused bundle {}", dir);
            }
        }
    }

    /**
     * Deletes the extracted bundle {@code dir} and its lease file if no process has it leased: takes
     * the lease file's lock exclusively (failing at once if any lease holds it), deletes the bundle,
     * then the lease file, and only then lets the lock go.
     *
     * @return whether it was deleted
     */
    static boolean evict(Path dir) {
        Path key = key(dir);
        synchronized (LEASES) {
            if (LEASES.containsKey(key)) {
                return false;
            }
            Path leaseFile = leaseOf(key);
            try (FileChannel ch = FileChannel.open(leaseFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                FileLock lock;
                try {
                    lock = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    lock = null;
                }
                if (lock == null) {
                    return false; // in use by another process
                }
                deleteFiles(key);
                Files.deleteIfExists(leaseFile);
                return true;
            } catch (IOException e) {
                log.debug("cannot evict {}: {}", dir, e.toString());
                return false;
            }
        }
    }

    /** Marks {@code dir} as just used (its modification time), for least-recently-used eviction. */
    static void touch(Path dir) {
        try {
            Files.setLastModifiedTime(dir, FileTime.from(Instant.now()));
        } catch (IOException ignored) {
            // eviction order only
        }
    }

    /**
     * Evicts least recently used bundles from {@code folder} (entries named by {@code isEntry}) until
     * their total size is at most {@code maxBytes}. {@code keep} and bundles in use by any process are
     * never evicted; when they alone exceed the bound, the cache stays over it.
     */
    static void evictToBound(Path folder, long maxBytes, Path keep, java.util.function.Predicate<String> isEntry) {
        record Entry(Path dir, long bytes, FileTime used) {
        }
        List<Entry> entries = new ArrayList<>();
        long total = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(folder)) {
            for (Path p : ds) {
                if (!isEntry.test(p.getFileName().toString()) || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                long bytes = size(p);
                total += bytes;
                entries.add(new Entry(p, bytes, Files.readAttributes(p, BasicFileAttributes.class,
                        LinkOption.NOFOLLOW_LINKS).lastModifiedTime()));
            }
        } catch (IOException e) {
            log.debug("cannot list {} for eviction: {}", folder, e.toString());
            return;
        }
        if (total <= maxBytes) {
            return;
        }
        entries.sort(Comparator.comparing(Entry::used));
        for (Entry e : entries) {
            if (total <= maxBytes) {
                break;
            }
            if (e.dir().equals(keep)) {
                continue;
            }
            if (evict(e.dir())) {
                total -= e.bytes();
                log.info("evicted {} ({} bytes) from the bundle cache (bound {} bytes)", e.dir(), e.bytes(), maxBytes);
            }
        }
        if (total > maxBytes) {
            log.debug("bundle cache {} holds {} bytes in use, over its bound of {}", folder, total, maxBytes);
        }
    }

    private static long size(Path dir) {
        long[] sum = {0};
        try (Stream<Path> files = Files.walk(dir)) {
            files.forEach(p -> {
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    if (a.isRegularFile()) {
                        sum[0] += a.size();
                    }
                } catch (IOException ignored) {
                    // deleted meanwhile
                }
            });
        } catch (IOException | java.io.UncheckedIOException ignored) {
            // deleted meanwhile
        }
        return sum[0];
    }

    /** The folder as leases know it: its real path while it exists (links resolved), else absolute. */
    private static Path key(Path dir) {
        try {
            return dir.toRealPath();
        } catch (IOException e) {
            return dir.toAbsolutePath().normalize();
        }
    }

    private static Object fileKey(Path file) {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return a.isRegularFile() ? (a.fileKey() != null ? a.fileKey() : a.creationTime()) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Parses a size such as {@code 20g}, {@code 512M}, {@code 1024k} or {@code 1000000} (bytes).
     *
     * @throws IllegalArgumentException if it is not a non-negative size
     */
    static long parseSize(String text) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        if (s.endsWith("b")) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'k' -> shift = 10;
                case 'm' -> shift = 20;
                case 'g' -> shift = 30;
                case 't' -> shift = 40;
                default -> shift = 0;
            }
        }
        if (shift != 0) {
            s = s.substring(0, s.length() - 1).strip();
        }
        long n;
        try {
            n = Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: '" + text + "' (bytes, or a number with k, m, g or t)");
        }
        if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("size out of range: '" + text + "'");
        }
        return n << shift;
    }

    /** The exception for a cache that cannot be written. */
    static BundleException unwritable(String what, Path target, IOException e) {
        return new BundleException("cannot extract " + what + " to " + target + ": " + e.getMessage()
                + " (set " + CACHE_ENV + " to a writable directory)", e);
    }
}
