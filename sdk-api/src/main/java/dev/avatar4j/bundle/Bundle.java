package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import dev.avatar4j.spi.GraphSource;
import java.util.List;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A model bundle directory whose manifest has been parsed and whose files have been checked:
 * every path stays inside the bundle (no {@code ..}, no absolute path, no symbolic link: neither the
 * manifest nor any file it names may be one), exists, is a regular file of bounded size and matches
 * its sha256; every external-data file a graph's initializers name is listed in the manifest with
 * its size and sha256 and matches them. Bundles are untrusted input.
 *
 * <p>Graphs are handed to backends as {@link GraphSource}s ({@link #graph(String)}): bytes read and
 * checked once against the manifest, so that the graph a backend loads is the graph verified even if
 * the file is replaced after {@link #open} returned.
 */
public final class Bundle {
    private static final Logger log = LoggerFactory.getLogger(Bundle.class);
    /** Files larger than this are refused (the largest real graph is a few GB). */
    static final long MAX_FILE_BYTES = 64L << 30;
    /** An ONNX graph file (a protobuf, at most 2 GB by protobuf's own limit) larger than this is refused. */
    static final long MAX_GRAPH_BYTES = Integer.MAX_VALUE - 64;

    private final Path directory;
    private final BundleManifest manifest;
    private final Map<String, Path> files;
    private final Map<String, List<GraphSource.ExternalFile>> externalFiles;
    /** Each graph's external tensors, found once by {@link #open}: {@link #graph} re-reads bytes with the same digest. */
    private final Map<String, List<GraphSource.ExternalTensor>> externalTensors;

    private Bundle(Path directory, BundleManifest manifest, Map<String, Path> files,
                   Map<String, List<GraphSource.ExternalFile>> externalFiles,
                   Map<String, List<GraphSource.ExternalTensor>> externalTensors) {
        this.directory = directory;
        this.manifest = manifest;
        this.files = files;
        this.externalFiles = externalFiles;
        this.externalTensors = externalTensors;
    }

    /**
     * Opens and verifies a bundle directory, or a {@code .zip} file holding one (extracted once into
     * the bundle cache by {@link ZipBundle#open(Path)}, then verified like a directory).
     *
     * @throws BundleException naming the file and what is wrong with it
     */
    public static Bundle open(Path dir) {
        if (!Files.exists(dir)) {
            throw new BundleException("model bundle not found: " + dir);
        }
        if (ZipBundle.isZip(dir)) {
            return ZipBundle.open(dir);
        }
        Parsed parsed = readManifest(dir);
        Path real = parsed.directory();
        BundleManifest manifest = parsed.manifest();
        Map<String, Path> files = new LinkedHashMap<>();
        Map<String, List<GraphSource.ExternalFile>> external = new LinkedHashMap<>();
        Map<String, List<GraphSource.ExternalTensor>> externalTensors = new LinkedHashMap<>();
        Map<Path, String> verified = new java.util.HashMap<>(); // a file shared by several entries is hashed once
        for (BundleManifest.FileEntry e : manifest.graphFiles()) {
            Path file = resolve(real, e);
            byte[] bytes = readVerified(file, e);
            List<GraphSource.ExternalTensor> tensors = OnnxExternalRefs.scan(bytes, "graph " + file + " (" + e.key() + ")");
            List<GraphSource.ExternalFile> ext = externalFiles(real, file, e, manifest.externalData(e.key()), tensors);
            for (GraphSource.ExternalFile f : ext) {
                if (f.sha256().equals(verified.get(f.file()))) {
                    continue;
                }
                verify(real, new BundleManifest.FileEntry(e.key() + ".externalData", real.relativize(f.file()).toString(),
                        f.sha256(), e.extra()));
                verified.put(f.file(), f.sha256());
            }
            files.put("graphs." + e.key(), file);
            external.put(e.key(), ext);
            externalTensors.put(e.key(), tensors);
        }
        for (BundleManifest.FileEntry e : manifest.tensors().values()) {
            files.put("tensors." + e.key(), verify(real, e));
        }
        // the tokenizer's model: checked like the rest, although no family reads it yet
        manifest.tokenizerModel().ifPresent(e -> files.put(e.key(), verify(real, e)));
        log.debug("bundle {} verified ({} files)", real, files.size());
        return new Bundle(real, manifest, Map.copyOf(files), Map.copyOf(external), Map.copyOf(externalTensors));
    }

    /** A bundle directory's real path and its parsed manifest. */
    record Parsed(Path directory, BundleManifest manifest) {
    }

    /**
     * Reads and parses the manifest of bundle directory {@code dir} (not a zip), without looking at
     * any other file.
     *
     * @throws BundleException when {@code dir} is not a directory holding a valid manifest
     */
    static Parsed readManifest(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new BundleException("model bundle must be a directory or a .zip file: " + dir);
        }
        Path manifestFile = dir.resolve(BundleManifest.FILE_NAME);
        if (Files.isSymbolicLink(manifestFile)) {
            // a link could lead anywhere (a secret, a device): never follow it, never read it
            throw new BundleException(manifestFile + " is a symbolic link; a bundle's manifest must be a regular file");
        }
        if (!Files.isRegularFile(manifestFile, LinkOption.NOFOLLOW_LINKS)) {
            throw new BundleException(dir + " is not a model bundle: it has no " + BundleManifest.FILE_NAME);
        }
        Path real;
        byte[] json;
        try {
            real = dir.toRealPath();
            json = readNoFollow(manifestFile, BundleManifest.MAX_BYTES);
        } catch (IOException e) {
            throw new BundleException("cannot read " + manifestFile + ": " + e.getMessage(), e);
        }
        try {
            return new Parsed(real, BundleManifest.parse(json));
        } catch (BundleException e) {
            throw new BundleException(dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Matches the external data the graph's initializers name with the manifest's list for the
     * graph: every location must resolve (relative to the graph's folder) to a listed file of the
     * listed size; listed files no initializer names are tolerated.
     */
    private static List<GraphSource.ExternalFile> externalFiles(Path root, Path graphFile, BundleManifest.FileEntry graph,
                                                                List<BundleManifest.ExternalDataEntry> listed,
                                                                List<GraphSource.ExternalTensor> tensors) {
        Map<String, GraphSource.ExternalFile> byLocation = new LinkedHashMap<>();
        for (GraphSource.ExternalTensor t : tensors) {
            String loc = t.location();
            if (byLocation.containsKey(loc)) {
                continue;
            }
            String shown = OnnxExternalRefs.printable(loc);
            if (!safeRelative(loc)) {
                throw new BundleException("graph " + graphFile + " (" + graph.key() + ") names external data \""
                        + shown + "\", which is not a plain relative path inside the bundle");
            }
            Path target = graphFile.getParent().resolve(loc).normalize();
            BundleManifest.ExternalDataEntry entry = null;
            for (BundleManifest.ExternalDataEntry x : listed) {
                if (safeRelative(x.file()) && root.resolve(x.file()).normalize().equals(target)) {
                    entry = x;
                }
            }
            if (entry == null || !target.startsWith(root)) {
                throw new BundleException("graph " + graphFile + " (" + graph.key() + ") reads external data \"" + shown
                        + "\" that the manifest does not list (every file a graph references must be in \"graphs."
                        + graph.key() + ".externalData\" with its sha256 and size)");
            }
            Path file = resolve(root, new BundleManifest.FileEntry(graph.key() + ".externalData", entry.file(),
                    entry.sha256(), graph.extra()));
            long size;
            try {
                size = Files.size(file);
            } catch (IOException e) {
                throw new BundleException("cannot read external data " + file + ": " + e.getMessage(), e);
            }
            if (size != entry.size()) {
                throw new BundleException("external data " + file + " (" + graph.key() + ") is corrupt or was modified: "
                        + size + " bytes, manifest says " + entry.size());
            }
            byLocation.put(loc, new GraphSource.ExternalFile(loc, file, entry.size(), entry.sha256()));
        }
        for (GraphSource.ExternalTensor t : tensors) {
            long need = t.length() >= 0 ? t.length() : -1;
            GraphSource.ExternalFile f = byLocation.get(t.location());
            if (t.offset() > f.size() || (need >= 0 && need > f.size() - t.offset())) {
                throw new BundleException("graph " + graphFile + " (" + graph.key() + "): initializer \""
                        + OnnxExternalRefs.printable(t.name()) + "\" lies beyond the end of " + f.file().getFileName());
            }
        }
        return List.copyOf(byLocation.values());
    }

    static boolean safeRelative(String rel) {
        if (rel.isEmpty() || rel.startsWith("/") || rel.contains("\\") || rel.contains("\0") || rel.contains(":")) {
            return false;
        }
        for (String seg : rel.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                return false;
            }
            for (int i = 0; i < seg.length(); i++) {
                if (Character.isISOControl(seg.charAt(i))) {
                    return false;
                }
            }
        }
        return !Path.of(rel).isAbsolute();
    }

    /**
     * The graph {@code key} as a backend must load it: its bytes read now and checked against the
     * manifest's digest, and its external-data files (each checked again as it is read).
     *
     * @throws BundleException when the manifest has no such graph or the file changed since {@link #open}
     */
    public GraphSource graph(String key) {
        return graph(key, List.of());
    }

    /**
     * The graph {@code key} as {@link #graph(String)}, or the first of its {@code variants} the
     * manifest lists ({@code graphs.<key>.variants}): how a backend gets the export made for it.
     *
     * @param key      the graph's key
     * @param variants variant names, best first ({@link dev.avatar4j.spi.Backend#graphVariants()})
     * @return the chosen file's verified bytes and external data
     * @throws BundleException when the manifest has no such graph or the file changed since {@link #open}
     */
    public GraphSource graph(String key, List<String> variants) {
        graphFile(key); // a clear error for a missing graph
        BundleManifest.FileEntry e = manifest.graphFor(key, variants);
        Path file = files.get("graphs." + e.key());
        // the bytes match the digest open() checked, so they hold the external tensors it found
        byte[] bytes = readVerified(file, e);
        return new GraphSource(file, bytes, e.sha256(), externalFiles.getOrDefault(e.key(), List.of()),
                externalTensors.getOrDefault(e.key(), List.of()));
    }

    /**
     * Reads a trusted graph file outside any bundle (tools, tests) as a {@link GraphSource} checked
     * against itself: its bytes and external-data files are hashed now, and loading fails if they
     * change afterwards. External data must lie beside the graph (or below its folder). A file that
     * does not parse as ONNX is handed on as it is, without external data.
     */
    public static GraphSource readGraph(Path graphFile) {
        Path file;
        try {
            file = graphFile.toRealPath();
        } catch (IOException e) {
            throw new BundleException("cannot read graph " + graphFile + ": " + e.getMessage(), e);
        }
        byte[] bytes;
        try {
            bytes = readNoFollow(file, MAX_GRAPH_BYTES);
        } catch (IOException e) {
            throw new BundleException("cannot read graph " + file + ": " + e.getMessage(), e);
        }
        List<GraphSource.ExternalTensor> tensors;
        try {
            tensors = OnnxExternalRefs.scan(bytes, "graph " + file);
        } catch (BundleException e) {
            // not parseable as ONNX: handed on as it is for the runtime to judge (e.g. a test network);
            // without external data, nothing else can be read on its behalf
            log.debug("{}; opening it without external data", e.getMessage());
            tensors = List.of();
        }
        List<BundleManifest.ExternalDataEntry> listed = new java.util.ArrayList<>();
        Path dir = file.getParent();
        for (GraphSource.ExternalTensor t : tensors) {
            if (safeRelative(t.location()) && listed.stream().noneMatch(x -> x.file().equals(t.location()))) {
                Path f = dir.resolve(t.location()).normalize();
                try {
                    listed.add(new BundleManifest.ExternalDataEntry(t.location(), sha256(f), Files.size(f)));
                } catch (IOException | BundleException ex) {
                    throw new BundleException("cannot read external data " + f + " of graph " + file + ": "
                            + ex.getMessage(), ex);
                }
            }
        }
        BundleManifest.FileEntry self = new BundleManifest.FileEntry(String.valueOf(file.getFileName()),
                String.valueOf(file.getFileName()), sha256Of(bytes), null);
        return new GraphSource(file, bytes, self.sha256(), externalFiles(dir, file, self, listed, tensors), tensors);
    }

    /** Reads a regular file (not a link) of at most {@code max} bytes. */
    private static byte[] readNoFollow(Path file, long max) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long size = ch.size();
            if (size > max) {
                throw new BundleException(file + " is too large (" + size + " bytes, at most " + max + ")");
            }
            ByteBuffer buf = ByteBuffer.allocate((int) size);
            while (buf.hasRemaining() && ch.read(buf) >= 0) {
                // fill
            }
            if (buf.hasRemaining() || ch.read(ByteBuffer.allocate(1)) > 0) {
                throw new BundleException(file + " changed while it was read");
            }
            return buf.array();
        }
    }

    /** Reads a graph file once and checks the bytes read against the manifest's digest. */
    private static byte[] readVerified(Path file, BundleManifest.FileEntry e) {
        byte[] bytes;
        try {
            bytes = readNoFollow(file, MAX_GRAPH_BYTES);
        } catch (IOException ex) {
            throw new BundleException("cannot read bundle file " + file + ": " + ex.getMessage(), ex);
        } catch (BundleException ex) {
            throw new BundleException("bundle file " + file + " (" + e.key() + "): " + ex.getMessage()
                    + "; a graph over 2 GB must keep its weights in external data", ex);
        }
        String actual = sha256Of(bytes);
        if (!actual.equals(e.sha256())) {
            throw new BundleException("bundle file " + file + " (" + e.key() + ") is corrupt or was modified: sha256 "
                    + actual + ", manifest says " + e.sha256());
        }
        return bytes;
    }

    /** Resolves a manifest path safely inside {@code root} and checks size and digest. */
    static Path verify(Path root, BundleManifest.FileEntry e) {
        Path real = resolve(root, e);
        String actual = sha256(real);
        if (!actual.equals(e.sha256())) {
            throw new BundleException("bundle file " + real + " (" + e.key() + ") is corrupt or was modified: sha256 "
                    + actual + ", manifest says " + e.sha256());
        }
        return real;
    }

    /** Resolves a manifest path safely inside {@code root}: a regular file, no link anywhere on the way. */
    static Path resolve(Path root, BundleManifest.FileEntry e) {
        String rel = e.file();
        if (rel.isEmpty() || rel.startsWith("/") || rel.startsWith("\\") || rel.contains("\\") || rel.contains("\0")
                || Path.of(rel).isAbsolute()) {
            throw new BundleException("bundle file \"" + rel + "\" (" + e.key() + ") must be a relative path inside the bundle");
        }
        Path p = root.resolve(rel).normalize();
        if (!p.startsWith(root)) {
            throw new BundleException("bundle file \"" + rel + "\" (" + e.key() + ") points outside the bundle");
        }
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new BundleException("bundle file missing: " + p + " (" + e.key() + ")");
        }
        Path real;
        try {
            real = p.toRealPath();
        } catch (IOException ex) {
            throw new BundleException("cannot resolve bundle file " + p + ": " + ex.getMessage(), ex);
        }
        if (!real.startsWith(root)) {
            throw new BundleException("bundle file " + p + " (" + e.key() + ") is a link that leaves the bundle");
        }
        if (!real.equals(p)) {
            throw new BundleException("bundle file " + p + " (" + e.key() + ") is reached through a symbolic link;"
                    + " a bundle's files must be regular files");
        }
        if (!Files.isRegularFile(real, LinkOption.NOFOLLOW_LINKS)) {
            throw new BundleException("bundle file " + p + " (" + e.key() + ") is not a regular file");
        }
        return real;
    }

    static String sha256(Path file) {
        return sha256(file, n -> { });
    }

    /**
     * The sha256 of a file, streamed through a small buffer (never held whole).
     *
     * @param read told the number of bytes read after each read
     */
    static String sha256(Path file, java.util.function.LongConsumer read) {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new BundleException("bundle file " + file + " is too large (" + size + " bytes)");
            }
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
                read.accept(n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new BundleException("cannot read bundle file " + file + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256Of(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The bundle's real directory. */
    public Path directory() {
        return directory;
    }

    /** The parsed manifest. */
    public BundleManifest manifest() {
        return manifest;
    }

    /**
     * The verified file of graph {@code key}, for names and per-file settings. Backends load
     * {@link #graph(String)} instead: a path can be swapped after it was verified.
     */
    public Path graphFile(String key) {
        Path p = files.get("graphs." + key);
        if (p == null) {
            throw new BundleException(directory + ": the manifest has no graph \"" + key + "\" (family "
                    + manifest.family() + " needs it)");
        }
        return p;
    }

    /** Whether the manifest names graph {@code key}. */
    public boolean hasGraph(String key) {
        return files.containsKey("graphs." + key);
    }

    /** The verified file of tensor {@code key}, if the manifest names one. */
    public java.util.Optional<Path> tensorFile(String key) {
        return java.util.Optional.ofNullable(files.get("tensors." + key));
    }

    @Override
    public String toString() {
        return "Bundle[" + manifest.name() + " @ " + directory + "]";
    }
}
