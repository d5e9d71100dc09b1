package dev.avatar4j.bundle;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.jr.ob.JSON;
import dev.avatar4j.BundleException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
    /**
     * Largest {@code video.width}, {@code video.height} and {@code video.resolution} a manifest may
     * declare (a default output size above this would only exhaust memory at generate time).
     */
    public static final int MAX_VIDEO_SIDE = 4096;
    /** At most this many external-data files per graph. */
    static final int MAX_EXTERNAL_FILES = 64;
    /** A graph variant's name: lowercase words joined by '-', e.g. {@code onnxruntime}. */
    static final String VARIANT_NAME = "[a-z0-9]{1,40}(-[a-z0-9]{1,40})*";
    /** Longest {@code name} accepted. */
    static final int MAX_NAME_CHARS = 200;

    private final String family;
    private final String name;
    private final String license;
    private final JsonObject root;
    private final Map<String, FileEntry> graphs;
    private final Map<String, FileEntry> tensors;
    private final Optional<FileEntry> tokenizerModel;
    private final Map<String, List<ExternalDataEntry>> externalData;
    /** Graph key -> variant name -> the variant's file (its key is {@code <graph>@<variant>}). */
    private final Map<String, Map<String, FileEntry>> variants;

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

    /**
     * An ONNX external-data file of a graph ({@code graphs.<key>.externalData[i]}): the weights a graph
     * too large for one protobuf (over 2 GB) keeps beside it. Every file a graph's initializers name
     * must be listed here, and is verified like the graph itself.
     *
     * @param file   path relative to the bundle (the graph names it relative to its own folder)
     * @param sha256 expected lowercase hex digest
     * @param size   exact size in bytes
     */
    public record ExternalDataEntry(String file, String sha256, long size) {
    }

    private BundleManifest(JsonObject root) {
        this.root = root;
        int format = root.integer("format");
        if (format != 1) {
            throw new BundleException(FILE_NAME + ": unsupported \"format\" " + format + " (this SDK reads format 1)");
        }
        this.family = plain("family", root.string("family"));
        this.name = plain("name", root.string("name"));
        this.license = plain("license", root.optString("license").orElse("unknown"));
        this.graphs = files(root, "graphs");
        this.tensors = root.has("tensors") ? files(root, "tensors") : Map.of();
        this.tokenizerModel = tokenizerModel(root);
        Map<String, List<ExternalDataEntry>> ext = new LinkedHashMap<>();
        Map<String, Map<String, FileEntry>> vars = new LinkedHashMap<>();
        for (FileEntry g : graphs.values()) {
            ext.put(g.key(), externalData(g));
            Map<String, FileEntry> vs = variants(g);
            vars.put(g.key(), vs);
            for (FileEntry v : vs.values()) {
                ext.put(v.key(), externalData(v));
            }
        }
        this.externalData = Map.copyOf(ext);
        this.variants = Map.copyOf(vars);
        checkVideoSize(root);
    }

    /**
     * Refuses control characters (ESC sequences, newlines …) and over-long values in the fields that
     * are printed by tools and logs, so that a manifest cannot rewrite a terminal or forge log lines.
     */
    private static String plain(String key, String value) {
        if (value.isEmpty() || value.length() > MAX_NAME_CHARS) {
            throw new BundleException(FILE_NAME + ": \"" + key + "\" must be 1 to " + MAX_NAME_CHARS + " characters");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || Character.getType(c) == Character.FORMAT) {
                throw new BundleException(FILE_NAME + ": \"" + key + "\" must not contain control characters (found U+"
                        + String.format("%04X", (int) c) + " at index " + i + ")");
            }
        }
        return value;
    }

    /** The generic bound on the default output size, whatever the family (each family checks the rest). */
    private static void checkVideoSize(JsonObject root) {
        if (!root.has("video")) {
            return;
        }
        JsonObject video = root.object("video");
        for (String k : List.of("width", "height", "resolution")) {
            if (video.has(k)) {
                int v = video.integer(k);
                if (v < 1 || v > MAX_VIDEO_SIDE) {
                    throw new BundleException(FILE_NAME + ": \"video." + k + "\" must be 1.." + MAX_VIDEO_SIDE + ", got " + v);
                }
            }
        }
    }

    /**
     * The per-backend variants of a graph ({@code graphs.<key>.variants.<name>}: the same graph
     * exported differently, e.g. with ONNX Runtime's fused attention), each a file entry of its own
     * with its own {@code externalData}, keyed {@code <key>@<name>}.
     */
    private static Map<String, FileEntry> variants(FileEntry graph) {
        if (!graph.extra().has("variants")) {
            return Map.of();
        }
        JsonObject vs = graph.extra().object("variants");
        Map<String, FileEntry> out = new LinkedHashMap<>();
        for (String name : vs.keys()) {
            String where = "graphs." + graph.key() + ".variants." + name;
            if (!name.matches(VARIANT_NAME)) {
                throw new BundleException(FILE_NAME + ": \"graphs." + graph.key() + ".variants\" has a variant name that is not"
                        + " lowercase words joined by '-' (at most 40 characters)");
            }
            JsonObject e = vs.object(name);
            if (e.has("variants")) {
                throw new BundleException(FILE_NAME + ": \"" + where + "\" must not have variants of its own");
            }
            String sha = e.string("sha256").toLowerCase(java.util.Locale.ROOT);
            if (!sha.matches("[0-9a-f]{64}")) {
                throw new BundleException(FILE_NAME + ": \"" + where + ".sha256\" must be 64 hex digits");
            }
            out.put(name, new FileEntry(graph.key() + "@" + name, e.string("file"), sha, e));
        }
        return Map.copyOf(out);
    }

    private static List<ExternalDataEntry> externalData(FileEntry graph) {
        List<JsonObject> list = graph.extra().objects("externalData");
        String where = "graphs." + graph.key() + ".externalData";
        if (list.size() > MAX_EXTERNAL_FILES) {
            throw new BundleException(FILE_NAME + ": \"" + where + "\" lists more than " + MAX_EXTERNAL_FILES + " files");
        }
        List<ExternalDataEntry> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonObject e = list.get(i);
            String sha = e.string("sha256").toLowerCase(java.util.Locale.ROOT);
            if (!sha.matches("[0-9a-f]{64}")) {
                throw new BundleException(FILE_NAME + ": \"" + where + "[" + i + "].sha256\" must be 64 hex digits");
            }
            long size = e.longInteger("size");
            if (size < 0) {
                throw new BundleException(FILE_NAME + ": \"" + where + "[" + i + "].size\" must be >= 0");
            }
            String file = e.string("file");
            for (ExternalDataEntry prev : out) {
                if (prev.file().equals(file)) {
                    throw new BundleException(FILE_NAME + ": \"" + where + "\" lists \"" + file + "\" twice");
                }
            }
            out.add(new ExternalDataEntry(file, sha, size));
        }
        return List.copyOf(out);
    }

    private static Map<String, FileEntry> files(JsonObject root, String section) {
        JsonObject s = root.object(section);
        Map<String, FileEntry> out = new LinkedHashMap<>();
        for (String k : s.keys()) {
            if (k.contains("@")) {
                throw new BundleException(FILE_NAME + ": \"" + section + "\" keys must not contain '@' (it separates a graph"
                        + " from its variant)");
            }
            JsonObject e = s.object(k);
            String sha = e.string("sha256").toLowerCase(java.util.Locale.ROOT);
            if (!sha.matches("[0-9a-f]{64}")) {
                throw new BundleException(FILE_NAME + ": \"" + section + "." + k + ".sha256\" must be 64 hex digits");
            }
            out.put(k, new FileEntry(k, e.string("file"), sha, e));
        }
        return Map.copyOf(out);
    }

    /**
     * The tokenizer's model file ({@code text.model}: umT5's {@code spiece.model}), verified, extracted
     * from zips and copied like every other file even though no family reads it yet, so that a bundle
     * stays complete wherever it is unpacked.
     */
    private static Optional<FileEntry> tokenizerModel(JsonObject root) {
        if (!root.has("text") || !root.object("text").has("model")) {
            return Optional.empty();
        }
        JsonObject m = root.object("text").object("model");
        String sha = m.string("sha256").toLowerCase(java.util.Locale.ROOT);
        if (!sha.matches("[0-9a-f]{64}")) {
            throw new BundleException(FILE_NAME + ": \"text.model.sha256\" must be 64 hex digits");
        }
        return Optional.of(new FileEntry("text.model", m.string("file"), sha, m));
    }

    /** Parses manifest bytes. */
    public static BundleManifest parse(byte[] json) {
        if (json.length > MAX_BYTES) {
            throw new BundleException(FILE_NAME + " is too large (" + json.length + " bytes)");
        }
        return new BundleManifest(new JsonObject(FILE_NAME, "", parseObject(FILE_NAME, json)));
    }

    /**
     * Parses one JSON object that must be the whole of {@code json} (trailing content is refused).
     * Errors give the position only: the bytes may be anything (a symlink's target, a secret), so
     * none of them is ever echoed.
     *
     * @param what the file named in errors
     */
    static Map<String, Object> parseObject(String what, byte[] json) {
        Map<String, Object> map;
        try (JsonParser p = JSON.std.getStreamingFactory().createParser(json)) {
            Object root;
            try {
                root = JSON.std.anyFrom(p);
            } catch (JsonProcessingException e) {
                throw notJson(what, e.getLocation(), "", null);
            }
            if (!(root instanceof Map<?, ?>)) {
                throw new BundleException(what + " must hold a JSON object" + (root == null ? " (it is empty)" : ""));
            }
            try {
                if (p.nextToken() != null) {
                    throw notJson(what, p.currentTokenLocation(), "content after the JSON object", null);
                }
            } catch (JsonProcessingException e) {
                throw notJson(what, e.getLocation(), "content after the JSON object", null);
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) root;
            map = m;
        } catch (IOException e) {
            throw notJson(what, null, "", null);
        } catch (RuntimeException e) {
            if (e instanceof BundleException b) {
                throw b;
            }
            throw notJson(what, null, "", null);
        }
        return map;
    }

    private static BundleException notJson(String what, JsonLocation at, String detail, Throwable cause) {
        String where = at == null || at.getLineNr() < 1 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
        // the parser's own message quotes the offending text; it is deliberately not kept (not even as the cause)
        return new BundleException(what + " is not valid JSON" + (detail.isEmpty() ? "" : " (" + detail + ")") + where, cause);
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

    /**
     * The variants of graph {@code key} by name ({@code graphs.<key>.variants}), each keyed
     * {@code <key>@<name>}; empty when it has none.
     */
    public Map<String, FileEntry> variants(String key) {
        return variants.getOrDefault(key, Map.of());
    }

    /**
     * Every graph file: each graph's main file, then its variants (keys {@code <graph>@<variant>}).
     * All of them are verified when the bundle opens, and extracted from zips.
     */
    public List<FileEntry> graphFiles() {
        List<FileEntry> out = new ArrayList<>(graphs.values());
        for (FileEntry g : graphs.values()) {
            out.addAll(variants(g.key()).values());
        }
        return List.copyOf(out);
    }

    /**
     * The file a backend should load for graph {@code key}: the first of {@code preferred} variant
     * names the graph has, else its main file.
     *
     * @param key       the graph's key
     * @param preferred variant names, best first (a backend's {@link dev.avatar4j.spi.Backend#graphVariants()})
     * @return the chosen entry, whose key is {@code key} or {@code key@variant}
     * @throws BundleException when the manifest has no graph {@code key}
     */
    public FileEntry graphFor(String key, List<String> preferred) {
        FileEntry main = graphs.get(key);
        if (main == null) {
            throw new BundleException(FILE_NAME + ": no graph \"" + key + "\"");
        }
        Map<String, FileEntry> vs = variants(key);
        for (String p : preferred) {
            FileEntry v = vs.get(p);
            if (v != null) {
                return v;
            }
        }
        return main;
    }

    /**
     * The external-data files listed for graph {@code key}, or for a variant keyed {@code <key>@<name>}
     * (empty when the graph keeps its weights inside).
     */
    public List<ExternalDataEntry> externalData(String key) {
        return externalData.getOrDefault(key, List.of());
    }

    /**
     * Every file the bundle's graphs and tensors need, as they must be extracted and verified: the
     * graphs, their external-data files (keys {@code <graph>.externalData[i]}, {@code extra} is the
     * graph's entry), the tensors and the tokenizer's model file (key {@code text.model}).
     */
    public List<FileEntry> files() {
        List<FileEntry> out = new ArrayList<>(graphFiles());
        for (FileEntry g : graphFiles()) {
            List<ExternalDataEntry> ext = externalData(g.key());
            for (int i = 0; i < ext.size(); i++) {
                out.add(new FileEntry(g.key() + ".externalData[" + i + "]", ext.get(i).file(), ext.get(i).sha256(), g.extra()));
            }
        }
        out.addAll(tensors.values());
        tokenizerModel.ifPresent(out::add);
        return List.copyOf(out);
    }

    /**
     * The tokenizer's model file named by the {@code text} section ({@code text.model}), if any.
     *
     * @return its entry, keyed {@code text.model}
     */
    public Optional<FileEntry> tokenizerModel() {
        return tokenizerModel;
    }

    public Optional<FileEntry> tensor(String key) {
        return Optional.ofNullable(tensors.get(key));
    }
}
