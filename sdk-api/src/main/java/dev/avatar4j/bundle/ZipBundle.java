package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a model bundle shipped as a {@code .zip} file. The archive holds a bundle directory's
 * content, with {@code avatar-bundle.json} at its root or inside its single top-level folder. It is
 * extracted once into the bundle cache (see {@link DefaultBundle}: {@code $AVATAR4J_CACHE}, else
 * {@code ~/.cache/avatar4j}) under {@code zips/<sha256 of the zip>}, through a staging directory and an
 * atomic rename, then opened with {@link Bundle#open(Path)}, which verifies every file's sha256.
 *
 * <p>Zips are untrusted input. The whole archive is refused, with a {@link BundleException} naming
 * the zip and the entry, when an entry name could leave the extraction directory ({@code ..}, an
 * absolute path, a drive letter or colon, a backslash, an empty or {@code .} segment), when an entry is
 * a symbolic link or another special file (Unix mode bits in the external attributes), when two entries
 * have the same name (ignoring case), when it has more than {@value #MAX_ENTRIES} entries, or when the
 * central directory is inconsistent. Only the manifest, the files it names and {@code tensorrt-profiles.properties} are extracted; while
 * they are inflated the bytes actually produced are counted (headers are never trusted) and extraction
 * stops as soon as one file exceeds 64 GiB, all files together exceed 128 GiB, a file inflates to
 * more than 200 times its compressed size beyond its first MiB, or all files together inflate to more
 * than 200 times the size of the whole archive beyond one MiB (a zip bomb, also one spread over many
 * small entries).
 *
 * <p><b>Nothing is left behind by a refused bundle</b>: a zip refused while it is extracted leaves no
 * file, and a bundle refused after extraction (a file that fails verification, an unknown family, graphs
 * that do not match the family's contract) is removed from the cache again when its load fails. An
 * extraction interrupted by the process's death (Ctrl-C, kill) leaves a {@code <sha256>.<uuid>.part}
 * folder, which the next extraction into the cache removes once no live process holds its lock.
 *
 * <p><b>Size bound.</b> The extracted zips ({@code zips/}) are kept within
 * {@code -Davatar4j.cache.maxBytes} (else {@code AVATAR4J_CACHE_MAX_BYTES}; bytes or a number with
 * {@code k}, {@code m}, {@code g}, {@code t}; default {@value #DEFAULT_MAX_CACHE} bytes, 32 GiB): after
 * each new extraction the least recently used bundles are deleted until the rest fit. A bundle in use
 * by any live process (opened, until the {@link dev.avatar4j.AvatarModel} that holds it is closed) is
 * never evicted: such processes hold a shared lock on its lease file {@code zips/<sha256>.lease}, and
 * eviction needs an exclusive one. Evicted bundles are simply extracted again on their next use.
 */
public final class ZipBundle {
    private static final Logger log = LoggerFactory.getLogger(ZipBundle.class);
    /** Archives with more entries than this are refused (a bundle has about ten files). */
    public static final int MAX_ENTRIES = 1000;
    /** Folder of the bundle cache that holds extracted zips. */
    static final String CACHE_DIR = "zips";
    /** System property bounding the bytes of extracted zips kept in the cache. */
    public static final String MAX_CACHE_PROPERTY = "avatar4j.cache.maxBytes";
    /** Environment variable bounding the bytes of extracted zips kept in the cache. */
    public static final String MAX_CACHE_ENV = "AVATAR4J_CACHE_MAX_BYTES";
    /** The default bound of extracted zips kept in the cache: 32 GiB. */
    public static final long DEFAULT_MAX_CACHE = 32L << 30;
    /** Top-level folder that macOS's archiver adds; ignored when looking for the bundle folder. */
    private static final String MACOS_METADATA = "__MACOSX";

    /**
     * Extraction limits.
     *
     * @param maxEntries     most entries in the central directory
     * @param maxEntryBytes  most bytes one extracted file may inflate to
     * @param maxTotalBytes  most bytes all extracted files together may inflate to
     * @param ratioFreeBytes bytes of a file that are not subject to {@code maxRatio}
     * @param maxRatio       most inflated bytes per compressed byte beyond {@code ratioFreeBytes}
     */
    /**
     * Files next to the graphs that a backend reads by name without the manifest listing them
     * (docs/BUNDLE-FORMAT.md): the TensorRT backend's optimisation profiles and precisions.
     */
    static final List<String> COMPANIONS = List.of("tensorrt-profiles.properties");
    /** The largest companion file extracted (the TensorRT backend reads at most 64 KiB of it). */
    static final long MAX_COMPANION_BYTES = 64 << 10;

    record Limits(int maxEntries, long maxEntryBytes, long maxTotalBytes, long ratioFreeBytes, long maxRatio) {
        static final Limits DEFAULT = new Limits(MAX_ENTRIES, 64L << 30, 128L << 30, 1L << 20, 200);
    }

    private ZipBundle() {
    }

    /** Whether {@code path} names a zip bundle: a regular file whose name ends in {@code .zip}. */
    public static boolean isZip(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".zip") && Files.isRegularFile(path);
    }

    /**
     * Extracts (once, keyed by the zip's sha256) and opens a zip bundle.
     *
     * @throws BundleException naming the zip and, where one is at fault, the entry
     */
    public static Bundle open(Path zip) {
        return open(zip, BundleCache.root().resolve(CACHE_DIR), Limits.DEFAULT, maxCacheBytes());
    }

    /** {@link #open(Path)} with an explicit cache folder and limits (tests). */
    static Bundle open(Path zip, Path cacheDir, Limits limits) {
        return open(zip, cacheDir, limits, maxCacheBytes());
    }

    /**
     * {@link #open(Path)} with an explicit cache folder, limits and cache bound (tests). The bundle
     * stays leased (safe from eviction) until {@link #release(Path)} or {@link #discard(Path)}.
     */
    static Bundle open(Path zip, Path cacheDir, Limits limits, long maxCacheBytes) {
        if (!Files.isRegularFile(zip)) {
            throw new BundleException("model bundle zip not found: " + zip);
        }
        String digest = sha256(zip);
        Path target = cacheDir.toAbsolutePath().resolve(digest);
        try {
            for (int attempt = 0; !BundleCache.lease(target); attempt++) {
                if (attempt == 5) { // evicted by others as fast as we extract it: give up rather than spin
                    throw new BundleException("model bundle zip " + zip + ": the cache " + cacheDir
                            + " keeps evicting it; raise " + MAX_CACHE_PROPERTY);
                }
                extract(zip, target, limits);
            }
        } catch (IOException e) {
            throw BundleCache.unwritable("model bundle zip " + zip, target, e);
        }
        Bundle bundle;
        try {
            bundle = Bundle.open(target);
        } catch (RuntimeException e) {
            BundleCache.discard(target); // refused: leave nothing (unless another process still uses it)
            if (e instanceof BundleException) {
                throw new BundleException(zip + " (extracted to " + target + "): " + e.getMessage(), e);
            }
            throw e;
        }
        BundleCache.touch(target);
        BundleCache.evictToBound(target.getParent(), maxCacheBytes, target, ZipBundle::isCacheEntry);
        return bundle;
    }

    /**
     * Ends this JVM's use of a bundle opened from a zip (the folder {@link Bundle#directory()}), so that
     * it may be evicted; does nothing for any other folder.
     */
    public static void release(Path bundleDir) {
        BundleCache.release(bundleDir.toAbsolutePath());
    }

    /**
     * Removes a bundle opened from a zip that was then refused (unknown family, graphs that do not
     * match the contract) from the cache, unless another thread or process still uses it; does
     * nothing for any other folder.
     */
    public static void discard(Path bundleDir) {
        Path dir = bundleDir.toAbsolutePath();
        if (BundleCache.leased(dir)) {
            BundleCache.discard(dir);
        }
    }

    /** The bound of the bytes of extracted zips kept in the cache, from the property or the environment. */
    static long maxCacheBytes() {
        String v = System.getProperty(MAX_CACHE_PROPERTY);
        String from = "-D" + MAX_CACHE_PROPERTY;
        if (v == null || v.isBlank()) {
            v = System.getenv(MAX_CACHE_ENV);
            from = MAX_CACHE_ENV;
        }
        if (v == null || v.isBlank()) {
            return DEFAULT_MAX_CACHE;
        }
        try {
            return BundleCache.parseSize(v);
        } catch (IllegalArgumentException e) {
            throw new BundleException(from + ": " + e.getMessage());
        }
    }

    /** Whether a name in the zips folder is an extracted bundle (a sha256 in hex). */
    static boolean isCacheEntry(String name) {
        return name.length() == 64 && name.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }

    // ------------------------------------------------------------------ extraction

    private static void extract(Path zip, Path target, Limits limits) {
        List<CentralEntry> central = CentralDirectory.read(zip, limits.maxEntries());
        Map<String, CentralEntry> byName = new LinkedHashMap<>();
        Set<String> folded = new java.util.HashSet<>();
        for (CentralEntry e : central) {
            checkName(zip, e.name());
            if (!folded.add(e.name().toLowerCase(Locale.ROOT))) {
                throw refused(zip, e.name(), "is a duplicate entry");
            }
            int type = (e.externalAttributes() >>> 16) & 0xF000;
            if (type == 0xA000) {
                throw refused(zip, e.name(), "is a symbolic link");
            }
            if (type != 0 && type != 0x8000 && type != 0x4000) {
                throw refused(zip, e.name(), "is a special file (mode " + Integer.toOctalString(type) + ")");
            }
            byName.put(e.name(), e);
        }
        String prefix = bundlePrefix(zip, byName.keySet());
        Path staging = null;
        try (ZipFile zf = new ZipFile(zip.toFile(), StandardCharsets.UTF_8)) {
            if (zf.size() != central.size()) {
                throw new BundleException("model bundle zip " + zip + " has an inconsistent central directory ("
                        + zf.size() + " entries for " + central.size() + ")");
            }
            String manifestName = prefix + BundleManifest.FILE_NAME;
            byte[] json = readManifest(zip, zf, entry(zip, zf, manifestName));
            BundleManifest manifest;
            try {
                manifest = BundleManifest.parse(json);
            } catch (BundleException e) {
                throw new BundleException(zip + ": " + manifestName + ": " + e.getMessage(), e);
            }
            staging = BundleCache.newStaging(target);
            Files.write(staging.resolve(BundleManifest.FILE_NAME), json, StandardOpenOption.CREATE_NEW);
            List<BundleManifest.FileEntry> files = manifest.files(); // graphs, their external data, tensors
            Map<String, String> done = new HashMap<>();
            long[] total = {0};
            // the archive as a whole: many small entries each within their own grace must not add up
            long archiveCap = saturatedAdd(limits.ratioFreeBytes(), saturatedMul(Files.size(zip), limits.maxRatio()));
            for (BundleManifest.FileEntry f : files) {
                String rel = f.file();
                if (rel.isEmpty() || rel.equals(BundleManifest.FILE_NAME) || !validName(rel) || rel.endsWith("/")) {
                    throw new BundleException(zip + ": bundle file \"" + rel + "\" (" + f.key()
                            + ") must be a relative path inside the bundle");
                }
                String previous = done.putIfAbsent(rel, f.sha256());
                if (previous != null) {
                    continue; // two keys may share a file; Bundle.open checks both digests
                }
                ZipEntry ze = entry(zip, zf, prefix + rel);
                if (ze.isDirectory()) {
                    throw refused(zip, ze.getName(), "is a directory, but the manifest names it as a file ("
                            + f.key() + ")");
                }
                Path out = staging.resolve(rel).normalize();
                if (!out.startsWith(staging)) {
                    throw refused(zip, ze.getName(), "would be extracted outside the bundle");
                }
                Files.createDirectories(out.getParent());
                String sha = inflate(zip, zf, ze, out, limits, total, archiveCap);
                if (!sha.equals(f.sha256())) {
                    throw new BundleException("model bundle zip " + zip + ": entry " + ze.getName() + " (" + f.key()
                            + ") is corrupt or was modified: sha256 " + sha + ", manifest says " + f.sha256());
                }
            }
            extractCompanions(zip, zf, prefix, staging, limits, total, archiveCap);
            Files.createDirectories(target.getParent());
            BundleCache.publish(staging, target);
            log.info("extracted zip bundle {} ({} files, {} bytes) to {}", zip, done.size(), total[0], target);
        } catch (java.util.zip.ZipException e) {
            throw new BundleException("model bundle zip " + zip + " is not a valid zip: " + e.getMessage(), e);
        } catch (IOException e) {
            throw BundleCache.unwritable("model bundle zip " + zip, target, e);
        } finally {
            if (staging != null) {
                BundleCache.deleteTree(staging); // gone once published; removed on any failure
            }
        }
    }

    /**
     * Extracts the optional files a backend reads next to the graphs without the manifest naming them
     * ({@link #COMPANIONS}), when the zip has them: a bundle must work the same zipped or not. Each is
     * at most {@value #MAX_COMPANION_BYTES} bytes, under the same bomb and total limits as the rest.
     */
    private static void extractCompanions(Path zip, ZipFile zf, String prefix, Path staging, Limits limits, long[] total,
                                          long archiveCap) throws IOException {
        Limits small = new Limits(limits.maxEntries(), Math.min(limits.maxEntryBytes(), MAX_COMPANION_BYTES),
                limits.maxTotalBytes(), limits.ratioFreeBytes(), limits.maxRatio());
        for (String name : COMPANIONS) {
            ZipEntry e = zf.getEntry(prefix + name);
            if (e == null || !e.getName().equals(prefix + name) || Files.exists(staging.resolve(name))) {
                continue; // absent, or the manifest named it and it is already extracted and verified
            }
            if (e.isDirectory()) {
                throw refused(zip, e.getName(), "is a directory, but this name is reserved for a file");
            }
            inflate(zip, zf, e, staging.resolve(name), small, total, archiveCap);
        }
    }

    /** The folder ({@code ""} or {@code "name/"}) that holds the manifest. */
    private static String bundlePrefix(Path zip, Set<String> names) {
        if (names.contains(BundleManifest.FILE_NAME)) {
            return "";
        }
        Set<String> top = new TreeSet<>();
        for (String n : names) {
            int slash = n.indexOf('/');
            String first = slash < 0 ? n : n.substring(0, slash);
            if (!first.equals(MACOS_METADATA)) {
                top.add(slash < 0 ? n : first + "/");
            }
        }
        if (top.size() == 1) {
            String folder = top.iterator().next();
            if (folder.endsWith("/") && names.contains(folder + BundleManifest.FILE_NAME)) {
                return folder;
            }
        }
        throw new BundleException("model bundle zip " + zip + " has no " + BundleManifest.FILE_NAME
                + " at its root or inside a single top-level folder");
    }

    private static ZipEntry entry(Path zip, ZipFile zf, String name) {
        ZipEntry e = zf.getEntry(name);
        if (e == null || !e.getName().equals(name)) {
            throw new BundleException("model bundle zip " + zip + " has no entry " + name
                    + (name.endsWith(BundleManifest.FILE_NAME) ? "" : " (named by its manifest)"));
        }
        return e;
    }

    private static byte[] readManifest(Path zip, ZipFile zf, ZipEntry e) throws IOException {
        try (InputStream in = zf.getInputStream(e)) {
            byte[] json = in.readNBytes(BundleManifest.MAX_BYTES + 1);
            if (json.length > BundleManifest.MAX_BYTES) {
                throw refused(zip, e.getName(), "is too large for a manifest (over " + BundleManifest.MAX_BYTES + " bytes)");
            }
            return json;
        }
    }

    /**
     * Inflates {@code e} into {@code out} (which must not exist), counting the bytes actually
     * produced against the limits, and returns their sha256.
     */
    private static String inflate(Path zip, ZipFile zf, ZipEntry e, Path out, Limits limits, long[] total,
                                  long archiveCap) throws IOException {
        long compressed = e.getCompressedSize();
        if (e.getSize() > limits.maxEntryBytes()) { // declared: refuse early; the real count follows
            throw refused(zip, e.getName(), "declares " + e.getSize() + " bytes, more than the limit of "
                    + limits.maxEntryBytes());
        }
        // ZipFile reads at most the compressed size recorded in the central directory, so it bounds
        // the compressed bytes consumed; a bomb is caught on inflated bytes alone
        long ratioCap = compressed < 0 ? limits.ratioFreeBytes()
                : saturatedAdd(limits.ratioFreeBytes(), saturatedMul(compressed, limits.maxRatio()));
        MessageDigest md = sha256Digest();
        long n = 0;
        try (InputStream in = zf.getInputStream(e);
             OutputStream os = Files.newOutputStream(out, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) {
                n += r;
                total[0] += r;
                if (n > limits.maxEntryBytes()) {
                    throw refused(zip, e.getName(), "inflates to more than the limit of " + limits.maxEntryBytes()
                            + " bytes");
                }
                if (total[0] > limits.maxTotalBytes()) {
                    throw refused(zip, e.getName(), "takes the extracted bundle over the limit of "
                            + limits.maxTotalBytes() + " bytes");
                }
                if (n > ratioCap) {
                    throw refused(zip, e.getName(), "inflates more than " + limits.maxRatio()
                            + " times its compressed size of " + compressed + " bytes (a zip bomb?)");
                }
                if (total[0] > archiveCap) {
                    throw refused(zip, e.getName(), "takes the extracted bundle to more than " + limits.maxRatio()
                            + " times the size of the whole archive (a zip bomb spread over many entries?)");
                }
                md.update(buf, 0, r);
                os.write(buf, 0, r);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    // ------------------------------------------------------------------ names

    private static void checkName(Path zip, String name) {
        if (!validName(name)) {
            throw refused(zip, name, "has an unsafe name (it could be extracted outside the bundle)");
        }
    }

    /**
     * A relative name of {@code /}-separated segments, none empty, {@code .} or {@code ..}, without
     * backslash, colon (drive letters, alternate streams) or control characters; a trailing {@code /}
     * marks a directory.
     */
    static boolean validName(String name) {
        if (name.isEmpty() || name.length() > 4096 || name.startsWith("/")) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '\\' || c == ':' || c < 0x20 || c == 0x7f) {
                return false;
            }
        }
        String body = name.endsWith("/") ? name.substring(0, name.length() - 1) : name;
        for (String seg : body.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                return false;
            }
        }
        return true;
    }

    private static BundleException refused(Path zip, String entry, String what) {
        return new BundleException("model bundle zip " + zip + ": entry \"" + printable(entry) + "\" " + what);
    }

    /** The name with control characters escaped, so that an error message stays one clean line. */
    private static String printable(String name) {
        StringBuilder b = new StringBuilder(Math.min(name.length(), 300));
        for (int i = 0; i < name.length() && i < 300; i++) {
            char c = name.charAt(i);
            b.append(c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return name.length() > 300 ? b + "..." : b.toString();
    }

    // ------------------------------------------------------------------ digests

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String sha256(Path file) {
        MessageDigest md = sha256Digest();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw new BundleException("cannot read model bundle zip " + file + ": " + e.getMessage(), e);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    private static long saturatedMul(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return hi != 0 || lo < 0 ? Long.MAX_VALUE : lo;
    }

    // ------------------------------------------------------------------ central directory

    /** One central-directory record: what {@link ZipEntry} does not expose. */
    record CentralEntry(String name, int externalAttributes) {
    }

    /**
     * A minimal reader of the zip central directory (including zip64), for the entry count, the
     * exact names and the external attributes that {@link ZipFile} does not expose.
     */
    static final class CentralDirectory {
        private static final int EOCD = 0x06054b50;
        private static final int ZIP64_LOCATOR = 0x07064b50;
        private static final int ZIP64_EOCD = 0x06064b50;
        private static final int CEN = 0x02014b50;
        /** Central directories larger than this are refused (1 000 entries take about 100 kB). */
        private static final long MAX_CENTRAL_BYTES = 16L << 20;

        private CentralDirectory() {
        }

        static List<CentralEntry> read(Path zip, int maxEntries) {
            try (FileChannel ch = FileChannel.open(zip, StandardOpenOption.READ)) {
                long size = ch.size();
                int tailLen = (int) Math.min(size, 22 + 0xFFFF);
                ByteBuffer tail = readAt(ch, size - tailLen, tailLen);
                int eocd = -1;
                for (int p = tailLen - 22; p >= 0; p--) {
                    if (tail.getInt(p) == EOCD && p + 22 + (tail.getShort(p + 20) & 0xFFFF) == tailLen) {
                        eocd = p;
                        break;
                    }
                }
                if (eocd < 0) {
                    throw bad(zip, "no end of central directory record");
                }
                long eocdPos = size - tailLen + eocd;
                long entries = tail.getShort(eocd + 10) & 0xFFFF;
                long cenSize = tail.getInt(eocd + 12) & 0xFFFFFFFFL;
                long cenEnd = eocdPos;
                if (entries == 0xFFFF || cenSize == 0xFFFFFFFFL || (tail.getInt(eocd + 16) & 0xFFFFFFFFL) == 0xFFFFFFFFL) {
                    if (eocdPos < 20) {
                        throw bad(zip, "truncated zip64 locator");
                    }
                    ByteBuffer loc = readAt(ch, eocdPos - 20, 20);
                    if (loc.getInt(0) != ZIP64_LOCATOR) {
                        throw bad(zip, "missing zip64 locator");
                    }
                    long z64 = loc.getLong(8);
                    if (z64 < 0 || z64 > eocdPos - 20 - 56) {
                        throw bad(zip, "bad zip64 end record offset");
                    }
                    ByteBuffer rec = readAt(ch, z64, 56);
                    if (rec.getInt(0) != ZIP64_EOCD) {
                        throw bad(zip, "missing zip64 end record");
                    }
                    entries = rec.getLong(32);
                    cenSize = rec.getLong(40);
                    cenEnd = z64;
                }
                if (entries < 0 || entries > maxEntries) {
                    throw new BundleException("model bundle zip " + zip + " has " + Long.toUnsignedString(entries)
                            + " entries, more than the limit of " + maxEntries);
                }
                if (cenSize < 0 || cenSize > cenEnd || cenSize > MAX_CENTRAL_BYTES) {
                    throw bad(zip, "bad central directory size");
                }
                ByteBuffer cen = readAt(ch, cenEnd - cenSize, (int) cenSize);
                List<CentralEntry> out = new ArrayList<>((int) entries);
                int p = 0;
                for (long i = 0; i < entries; i++) {
                    if (p + 46 > cen.limit() || cen.getInt(p) != CEN) {
                        throw bad(zip, "bad central directory header " + i);
                    }
                    int nameLen = cen.getShort(p + 28) & 0xFFFF;
                    int extraLen = cen.getShort(p + 30) & 0xFFFF;
                    int commentLen = cen.getShort(p + 32) & 0xFFFF;
                    int attrs = cen.getInt(p + 38);
                    int next = p + 46 + nameLen + extraLen + commentLen;
                    if (next > cen.limit()) {
                        throw bad(zip, "central directory header " + i + " runs past its end");
                    }
                    byte[] name = new byte[nameLen];
                    cen.get(p + 46, name);
                    out.add(new CentralEntry(new String(name, StandardCharsets.UTF_8), attrs));
                    p = next;
                }
                if (p != cen.limit()) {
                    throw bad(zip, "central directory has trailing bytes");
                }
                return out;
            } catch (IOException e) {
                throw new BundleException("cannot read model bundle zip " + zip + ": " + e.getMessage(), e);
            }
        }

        private static ByteBuffer readAt(FileChannel ch, long pos, int len) throws IOException {
            ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) {
                if (ch.read(b, pos + b.position()) < 0) {
                    throw new IOException("unexpected end of file");
                }
            }
            return b.flip();
        }

        private static BundleException bad(Path zip, String what) {
            return new BundleException("model bundle zip " + zip + " is not a valid zip: " + what);
        }
    }
}
