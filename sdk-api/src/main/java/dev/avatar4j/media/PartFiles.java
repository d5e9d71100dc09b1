package dev.avatar4j.media;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The partial outputs ({@code .part} files and folders) that avatar4j writes before it moves a
 * finished result into place: the MP4 being encoded, the PNG frames being staged. Their names say
 * which process writes them, so that
 * <ul>
 *   <li>a shutdown (the CLI's Ctrl-C handler) can delete those of its own process that are still in
 *       progress: {@link #deleteOwn()};</li>
 *   <li>a later run can delete those whose writer is gone (killed, crashed, halted before it could
 *       clean up): {@link #sweep(Path)}, which the SDK's own writers call on the folder they write into.</li>
 * </ul>
 *
 * <p>A name is {@code .<base>.a4j-<pid>-<start>-<random>.part}, where {@code <pid>} is the writing
 * process's id and {@code <start>} its start time (epoch milliseconds, base 36; {@code 0} when the
 * platform does not report it). A part is stale when no process with that id runs, or one runs that
 * started at another time (the id was reused). Only names of exactly this form are ever swept:
 * files of other tools, and parts of older versions whose names carry no process, are left alone.
 *
 * <p>Thread-safe.
 */
public final class PartFiles {
    private static final Logger log = LoggerFactory.getLogger(PartFiles.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Pattern NAME = Pattern.compile("\\..+\\.a4j-(\\d{1,19})-([0-9a-z]{1,13})-[0-9a-z]{1,13}\\.part");
    /**
     * Start times of one process as seen by two JVMs may differ slightly (Linux derives them from
     * the boot time, which the clock discipline moves by a second or so); a reused id belongs to a
     * process that started at least this much later than the part's writer did.
     */
    private static final long START_TOLERANCE_MS = 10_000;
    private static final long PID = ProcessHandle.current().pid();
    private static final long START = startMillis(ProcessHandle.current());
    private static final Set<Path> OWN = ConcurrentHashMap.newKeySet();

    private PartFiles() {
    }

    /**
     * Creates an empty part file {@code .<base>.a4j-….part} in {@code dir} and records it as in
     * progress in this process, until {@link #release(Path)}.
     *
     * @param dir  the folder (that of the final output, so that the final move is a rename)
     * @param base the final output's file name
     * @return the new file
     * @throws IOException if it cannot be created
     */
    public static Path createFile(Path dir, String base) throws IOException {
        Path p = Files.createFile(dir.resolve(name(base)));
        OWN.add(p.toAbsolutePath().normalize());
        return p;
    }

    /**
     * Creates an empty part folder {@code .<base>.a4j-….part} in {@code dir} and records it as in
     * progress in this process, until {@link #release(Path)}.
     *
     * @param dir  the parent folder
     * @param base what the folder stages (e.g. {@code avatar4j-frames})
     * @return the new folder
     * @throws IOException if it cannot be created
     */
    public static Path createDirectory(Path dir, String base) throws IOException {
        Path p = Files.createDirectory(dir.resolve(name(base)));
        OWN.add(p.toAbsolutePath().normalize());
        return p;
    }

    /**
     * Records that {@code part} is no longer in progress: it was moved into place or deleted.
     *
     * @param part a path from {@link #createFile} or {@link #createDirectory}
     */
    public static void release(Path part) {
        OWN.remove(part.toAbsolutePath().normalize());
    }

    /**
     * Deletes every part of this process that is still in progress (folders with their content), for a
     * shutdown that cannot wait for the writers to clean up themselves. A writer that goes on writing
     * fails; nothing it writes afterwards is ever moved into place.
     *
     * @return how many parts were deleted
     */
    public static int deleteOwn() {
        int n = 0;
        for (Path p : Set.copyOf(OWN)) {
            // a writer still running may add a file to a folder between emptying it and removing it
            for (int attempt = 0; attempt < 3 && Files.exists(p, LinkOption.NOFOLLOW_LINKS); attempt++) {
                if (deleteTree(p)) {
                    n++;
                    break;
                }
            }
            OWN.remove(p);
        }
        return n;
    }

    /**
     * Deletes the stale parts in {@code dir}: those named by this class whose writing process is gone
     * (see the class description). Errors are logged at debug level and skipped; a folder that cannot
     * be listed is left as it is.
     *
     * @param dir the folder to look in (not its subfolders)
     * @return how many stale parts were deleted
     */
    public static int sweep(Path dir) {
        int n = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, ".*.part")) {
            for (Path p : entries) {
                if (isStale(p.getFileName().toString()) && deleteTree(p)) {
                    log.debug("removed {}, left behind by a process that is gone", p);
                    n++;
                }
            }
        } catch (IOException | RuntimeException e) {
            log.debug("cannot sweep stale partial outputs in {}: {}", dir, e.toString());
        }
        return n;
    }

    /** Whether {@code fileName} is a part of this class's form whose writer is gone. */
    static boolean isStale(String fileName) {
        Matcher m = NAME.matcher(fileName);
        if (!m.matches()) {
            return false;
        }
        long pid;
        long start;
        try {
            pid = Long.parseLong(m.group(1));
            start = Long.parseLong(m.group(2), 36);
        } catch (NumberFormatException e) {
            return false;
        }
        Optional<ProcessHandle> owner = ProcessHandle.of(pid);
        if (owner.isEmpty() || !owner.get().isAlive()) {
            return true;
        }
        long running = startMillis(owner.get());
        return start != 0 && running != 0 && Math.abs(running - start) > START_TOLERANCE_MS;
    }

    /** The part name for {@code base} written by this process. */
    static String name(String base) {
        return name(base, PID, START);
    }

    /** The part name for {@code base} as process {@code pid} started at {@code startMillis} would write it. */
    static String name(String base, long pid, long startMillis) {
        return "." + base + ".a4j-" + pid + "-" + Long.toString(startMillis, 36) + "-"
                + Long.toString(RANDOM.nextLong() >>> 1, 36) + ".part";
    }

    /** This process's start time in epoch milliseconds, as {@link #name(String)} writes it. */
    static long ownStartMillis() {
        return START;
    }

    private static long startMillis(ProcessHandle p) {
        try {
            return p.info().startInstant().map(Instant::toEpochMilli).orElse(0L);
        } catch (RuntimeException e) {
            return 0;
        }
    }

    /** Deletes a file, or a folder and its content (links are deleted, never followed). */
    private static boolean deleteTree(Path p) {
        try {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            Files.walkFileTree(p, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE; // deleted meanwhile, or unreadable: rmdir says
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
            return true;
        } catch (IOException | RuntimeException e) {
            log.debug("cannot delete {}: {}", p, e.toString());
            return false;
        }
    }
}
