package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import dev.avatar4j.spi.GraphSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A bundle directory's files examined without loading anything: the manifest, every file it names
 * (inside the bundle, a regular file, present), each graph's {@link OnnxSignature} read from its
 * file alone, its external data matched with the manifest's list (listed, inside the bundle, of the
 * listed size, every initializer within it) and, on request, every file's sha256, streamed. Where
 * {@link Bundle#open} stops at the first problem, a scan collects them all, so that one run reports
 * everything wrong with a bundle. Without digests no external-data file is read at all: one that is
 * absent is noted, not counted as a problem (its size and digest cannot be checked, and loading
 * needs it).
 */
public final class BundleScan {
    /** Told how many bytes of the files to hash have been hashed, as hashing goes on. */
    @FunctionalInterface
    public interface DigestProgress {
        /**
         * @param done  bytes hashed so far
         * @param total bytes to hash in all
         * @param file  the file being hashed
         */
        void hashed(long done, long total, Path file);
    }

    /**
     * One graph file of the manifest (a graph's main file, or a variant keyed {@code key@variant}).
     *
     * @param key           its manifest key
     * @param file          its path, or null when it could not be resolved
     * @param fileBytes     the graph file's size (inline weights included)
     * @param signature     what it declares, or null when it could not be read
     * @param externalBytes the size of the external-data files its initializers read, as the manifest lists them
     * @param externalFiles those files, as the graph names them
     */
    public record Graph(String key, Path file, long fileBytes, OnnxSignature signature, long externalBytes,
                        List<String> externalFiles) {
        /** Copies the list. */
        public Graph {
            externalFiles = List.copyOf(externalFiles);
        }
    }

    /**
     * What a scan found.
     *
     * @param directory   the bundle's real directory
     * @param manifest    its manifest
     * @param graphs      every graph file, in manifest order
     * @param problems    what is wrong, each naming the file and the graph or entry
     * @param notes       what was not checked and why
     * @param hashedBytes bytes hashed (0 without digests)
     * @param digestMismatches how many files do not have the sha256 the manifest gives them
     */
    public record Result(Path directory, BundleManifest manifest, List<Graph> graphs, List<String> problems,
                         List<String> notes, long hashedBytes, int digestMismatches) {
        /** Copies the lists. */
        public Result {
            graphs = List.copyOf(graphs);
            problems = List.copyOf(problems);
            notes = List.copyOf(notes);
        }
    }

    private final Path root;
    private final BundleManifest manifest;
    private final boolean digests;
    private final List<String> problems = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private int digestMismatches;
    /** The files to hash and the digests the manifest gives each (a file listed by several graphs is hashed once). */
    private final Map<Path, Map<String, Set<String>>> toHash = new LinkedHashMap<>();

    private BundleScan(Path root, BundleManifest manifest, boolean digests) {
        this.root = root;
        this.manifest = manifest;
        this.digests = digests;
    }

    /**
     * Scans a bundle directory. A {@code .zip} bundle is extracted into the bundle cache first, as
     * {@link Bundle#open} does (which verifies every digest), and its directory scanned.
     *
     * @param dir      the bundle directory or {@code .zip}
     * @param digests  whether to check every file's sha256 (reads every byte of the bundle once)
     * @param progress told of the hashing's progress; not null
     * @return what the scan found
     * @throws BundleException when there is no bundle to scan: {@code dir} is missing, not a bundle,
     *                         or its manifest is invalid
     */
    public static Result scan(Path dir, boolean digests, DigestProgress progress) {
        if (!Files.exists(dir)) {
            throw new BundleException("model bundle not found: " + dir);
        }
        if (ZipBundle.isZip(dir)) {
            Path extracted = ZipBundle.open(dir).directory();
            try {
                return scanDirectory(extracted, digests, progress);
            } finally {
                ZipBundle.release(extracted); // leased by open: evictable again once scanned
            }
        }
        return scanDirectory(dir, digests, progress);
    }

    private static Result scanDirectory(Path directory, boolean digests, DigestProgress progress) {
        Bundle.Parsed parsed = Bundle.readManifest(directory);
        BundleScan s = new BundleScan(parsed.directory(), parsed.manifest(), digests);
        List<Graph> graphs = new ArrayList<>();
        for (BundleManifest.FileEntry e : parsed.manifest().graphFiles()) {
            graphs.add(s.graph(e));
        }
        for (BundleManifest.FileEntry e : parsed.manifest().tensors().values()) {
            s.file(e);
        }
        parsed.manifest().tokenizerModel().ifPresent(s::file);
        long hashed = digests ? s.hashAll(progress) : 0;
        // a file several graphs share (the DiTs' weights) is reported once
        return new Result(parsed.directory(), parsed.manifest(), graphs, s.problems.stream().distinct().toList(),
                s.notes, hashed, s.digestMismatches);
    }

    private Graph graph(BundleManifest.FileEntry e) {
        Path file = file(e);
        if (file == null) {
            return new Graph(e.key(), null, 0, null, 0, List.of());
        }
        long size = size(file);
        String what = "graph " + file.getFileName() + " (" + e.key() + ")";
        if (size > Bundle.MAX_GRAPH_BYTES) {
            // loading reads the graph file into one array, and protobuf refuses messages over 2 GB
            problems.add(what + " is " + size + " bytes, more than a graph file may be (" + Bundle.MAX_GRAPH_BYTES
                    + "); a graph over 2 GB must keep its weights in external data");
        }
        OnnxSignature sig;
        try {
            sig = OnnxSignature.read(file, what);
        } catch (BundleException ex) {
            problems.add(ex.getMessage());
            return new Graph(e.key(), file, size, null, 0, List.of());
        }
        long externalBytes = 0;
        Map<String, BundleManifest.ExternalDataEntry> byLocation = new LinkedHashMap<>();
        for (GraphSource.ExternalTensor t : sig.external()) {
            String loc = t.location();
            if (byLocation.containsKey(loc)) {
                continue;
            }
            BundleManifest.ExternalDataEntry entry = external(e, file, what, loc);
            byLocation.put(loc, entry);
            if (entry != null) {
                externalBytes += entry.size();
            }
        }
        for (GraphSource.ExternalTensor t : sig.external()) {
            BundleManifest.ExternalDataEntry f = byLocation.get(t.location());
            if (f != null && (t.offset() > f.size() || (t.length() >= 0 && t.length() > f.size() - t.offset()))) {
                problems.add(what + ": initializer \"" + OnnxExternalRefs.printable(t.name()) + "\" lies beyond the end of "
                        + OnnxExternalRefs.printable(t.location()) + " (" + f.size() + " bytes)");
            }
        }
        return new Graph(e.key(), file, size, sig, externalBytes, List.copyOf(byLocation.keySet()));
    }

    /** The manifest's entry for external-data location {@code loc} of a graph, checked; null after a problem. */
    private BundleManifest.ExternalDataEntry external(BundleManifest.FileEntry graph, Path graphFile, String what,
                                                      String loc) {
        String shown = OnnxExternalRefs.printable(loc);
        if (!Bundle.safeRelative(loc)) {
            problems.add(what + " names external data \"" + shown + "\", which is not a plain relative path inside the bundle");
            return null;
        }
        Path target = graphFile.getParent().resolve(loc).normalize();
        BundleManifest.ExternalDataEntry entry = null;
        for (BundleManifest.ExternalDataEntry x : manifest.externalData(graph.key())) {
            if (Bundle.safeRelative(x.file()) && root.resolve(x.file()).normalize().equals(target)) {
                entry = x;
            }
        }
        if (entry == null || !target.startsWith(root)) {
            problems.add(what + " reads external data \"" + shown + "\" that the manifest does not list (every file a "
                    + "graph references must be in \"graphs." + graph.key() + ".externalData\" with its sha256 and size)");
            return null;
        }
        if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            // said once however many graphs share the file
            if (digests) {
                problems.add("external data " + target + " is missing (the manifest lists " + entry.size()
                        + " bytes); the bundle cannot be loaded without it");
            } else {
                String note = "external data " + root.relativize(target) + " is absent: not checked (digests not requested); "
                        + "loading needs it (" + entry.size() + " bytes)";
                if (!notes.contains(note)) {
                    notes.add(note);
                }
            }
            return entry;
        }
        Path file = file(new BundleManifest.FileEntry(graph.key() + ".externalData", entry.file(), entry.sha256(),
                graph.extra()));
        if (file != null) {
            long size = size(file);
            if (size != entry.size()) {
                problems.add("external data " + file + " (" + graph.key() + ") is corrupt or was modified: " + size
                        + " bytes, manifest says " + entry.size());
            }
        }
        return entry;
    }

    /** Resolves a manifest entry (a problem when it is missing or unsafe) and queues its digest. */
    private Path file(BundleManifest.FileEntry e) {
        Path file;
        try {
            file = Bundle.resolve(root, e);
        } catch (BundleException ex) {
            problems.add(ex.getMessage());
            return null;
        }
        if (digests) {
            toHash.computeIfAbsent(file, f -> new LinkedHashMap<>())
                    .computeIfAbsent(e.sha256(), d -> new LinkedHashSet<>()).add(e.key());
        }
        return file;
    }

    private long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException ex) {
            problems.add("cannot read bundle file " + file + ": " + ex.getMessage());
            return 0;
        }
    }

    private long hashAll(DigestProgress progress) {
        long total = 0;
        for (Path f : toHash.keySet()) {
            total += size(f);
        }
        long[] done = {0};
        long all = total;
        for (Map.Entry<Path, Map<String, Set<String>>> f : toHash.entrySet()) {
            Path file = f.getKey();
            String actual;
            try {
                actual = Bundle.sha256(file, n -> {
                    done[0] += n;
                    progress.hashed(done[0], all, file);
                });
            } catch (BundleException ex) {
                problems.add(ex.getMessage());
                continue;
            }
            for (Map.Entry<String, Set<String>> want : f.getValue().entrySet()) {
                if (!want.getKey().equals(actual)) {
                    digestMismatches++;
                    problems.add("bundle file " + file + " (" + String.join(", ", want.getValue()) + ") is corrupt or was "
                            + "modified: sha256 " + actual + ", manifest says " + want.getKey());
                }
            }
        }
        return done[0];
    }
}
