package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import java.io.IOException;
import java.io.InputStream;
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
 * every path stays inside the bundle (no {@code ..}, no absolute path, no symlink leading out),
 * exists, is a regular file of bounded size and matches its sha256. Bundles are untrusted input.
 */
public final class Bundle {
    private static final Logger log = LoggerFactory.getLogger(Bundle.class);
    /** Files larger than this are refused (the largest real graph is a few GB). */
    static final long MAX_FILE_BYTES = 64L << 30;

    private final Path directory;
    private final BundleManifest manifest;
    private final Map<String, Path> files;

    private Bundle(Path directory, BundleManifest manifest, Map<String, Path> files) {
        this.directory = directory;
        this.manifest = manifest;
        this.files = files;
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
        if (!Files.isDirectory(dir)) {
            throw new BundleException("model bundle must be a directory or a .zip file: " + dir);
        }
        Path manifestFile = dir.resolve(BundleManifest.FILE_NAME);
        if (!Files.isRegularFile(manifestFile)) {
            throw new BundleException(dir + " is not a model bundle: it has no " + BundleManifest.FILE_NAME);
        }
        Path real;
        byte[] json;
        try {
            real = dir.toRealPath();
            if (Files.size(manifestFile) > BundleManifest.MAX_BYTES) {
                throw new BundleException(manifestFile + " is too large");
            }
            json = Files.readAllBytes(manifestFile);
        } catch (IOException e) {
            throw new BundleException("cannot read " + manifestFile + ": " + e.getMessage(), e);
        }
        BundleManifest manifest;
        try {
            manifest = BundleManifest.parse(json);
        } catch (BundleException e) {
            throw new BundleException(dir + ": " + e.getMessage(), e);
        }
        Map<String, Path> files = new LinkedHashMap<>();
        for (BundleManifest.FileEntry e : manifest.graphs().values()) {
            files.put("graphs." + e.key(), verify(real, e));
        }
        for (BundleManifest.FileEntry e : manifest.tensors().values()) {
            files.put("tensors." + e.key(), verify(real, e));
        }
        log.debug("bundle {} verified ({} files)", real, files.size());
        return new Bundle(real, manifest, Map.copyOf(files));
    }

    /** Resolves a manifest path safely inside {@code root} and checks size and digest. */
    static Path verify(Path root, BundleManifest.FileEntry e) {
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
        if (!Files.isRegularFile(real)) {
            throw new BundleException("bundle file " + p + " (" + e.key() + ") is not a regular file");
        }
        String actual = sha256(real);
        if (!actual.equals(e.sha256())) {
            throw new BundleException("bundle file " + p + " (" + e.key() + ") is corrupt or was modified: sha256 "
                    + actual + ", manifest says " + e.sha256());
        }
        return real;
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new BundleException("bundle file " + file + " is too large (" + size + " bytes)");
            }
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
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

    public BundleManifest manifest() {
        return manifest;
    }

    /** The verified file of graph {@code key}. */
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
