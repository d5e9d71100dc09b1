package dev.avatar4j.bundle;

import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.BundleException;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The parsed {@code avatar-bundle.json}: the generic part (format, family, name, files) plus the
 * raw sections that each family interprets itself. See {@code docs/BUNDLE-FORMAT.md}.
 */
public final class BundleManifest {
    /** The manifest's file name inside a bundle. */
    public static final String FILE_NAME = "avatar-bundle.json";
    /** Manifests larger than this are refused (they are a few kB). */
    static final int MAX_BYTES = 1 << 20;

    private final String family;
    private final String name;
    private final String license;
    private final JsonObject root;
    private final Map<String, FileEntry> graphs;
    private final Map<String, FileEntry> tensors;

    /**
     * A file named by the manifest.
     *
     * @param key    its key in {@code graphs} or {@code tensors}
     * @param file   path relative to the bundle
     * @param sha256 expected lowercase hex digest
     * @param extra  the whole entry, for family-specific fields
     */
    public record FileEntry(String key, String file, String sha256, JsonObject extra) {
    }

    private BundleManifest(JsonObject root) {
        this.root = root;
        int format = root.integer("format");
        if (format != 1) {
            throw new BundleException(FILE_NAME + ": unsupported \"format\" " + format + " (this SDK reads format 1)");
        }
        this.family = root.string("family");
        this.name = root.string("name");
        this.license = root.optString("license").orElse("unknown");
        this.graphs = files(root, "graphs");
        this.tensors = root.has("tensors") ? files(root, "tensors") : Map.of();
    }

    private static Map<String, FileEntry> files(JsonObject root, String section) {
        JsonObject s = root.object(section);
        Map<String, FileEntry> out = new LinkedHashMap<>();
        for (String k : s.keys()) {
            JsonObject e = s.object(k);
            String sha = e.string("sha256").toLowerCase(java.util.Locale.ROOT);
            if (!sha.matches("[0-9a-f]{64}")) {
                throw new BundleException(FILE_NAME + ": \"" + section + "." + k + ".sha256\" must be 64 hex digits");
            }
            out.put(k, new FileEntry(k, e.string("file"), sha, e));
        }
        return Map.copyOf(out);
    }

    /** Parses manifest bytes. */
    public static BundleManifest parse(byte[] json) {
        if (json.length > MAX_BYTES) {
            throw new BundleException(FILE_NAME + " is too large (" + json.length + " bytes)");
        }
        Map<String, Object> map;
        try {
            map = JSON.std.mapFrom(json);
        } catch (IOException | RuntimeException e) {
            throw new BundleException(FILE_NAME + " is not valid JSON: " + firstLine(e.getMessage()), e);
        }
        if (map == null) {
            throw new BundleException(FILE_NAME + " is empty");
        }
        return new BundleManifest(new JsonObject(FILE_NAME, "", map));
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public String family() {
        return family;
    }

    public String name() {
        return name;
    }

    public String license() {
        return license;
    }

    /** The whole manifest, for family-specific sections. */
    public JsonObject root() {
        return root;
    }

    /** Graph files by key (e.g. {@code dit}). */
    public Map<String, FileEntry> graphs() {
        return graphs;
    }

    /** Tensor files by key (e.g. {@code text-negative}). */
    public Map<String, FileEntry> tensors() {
        return tensors;
    }

    public Optional<FileEntry> graph(String key) {
        return Optional.ofNullable(graphs.get(key));
    }

    public Optional<FileEntry> tensor(String key) {
        return Optional.ofNullable(tensors.get(key));
    }
}
