package dev.avatar4j;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@link AvatarModel#inspect(Path, boolean, DigestListener)} found in a bundle without loading
 * it: the manifest's family, name and video settings, every graph with its file, the size of its
 * weights (stored in the graph file and in external data), its signature (inputs and outputs as
 * the file declares them) and whether that signature satisfies the family's contract, the same
 * contract the engine checks a loaded session against. {@link #valid()} is true when nothing is
 * wrong; {@link #problems()} says what is, each naming the file, graph and tensor. Immutable.
 */
public final class Inspection {
    /** Told how the sha256 check of the bundle's files advances (it reads every byte once). */
    @FunctionalInterface
    public interface DigestListener {
        /**
         * Called after each block hashed, on the inspecting thread.
         *
         * @param done  bytes hashed so far
         * @param total bytes to hash in all
         */
        void hashed(long done, long total);
    }

    private final Path directory;
    private final String family;
    private final String name;
    private final Map<String, Object> video;
    private final String digests;
    private final long hashedBytes;
    private final List<Map<String, Object>> graphs;
    private final List<String> problems;
    private final List<String> notes;

    Inspection(Path directory, String family, String name, Map<String, Object> video, String digests,
               long hashedBytes, List<Map<String, Object>> graphs, List<String> problems, List<String> notes) {
        this.directory = directory;
        this.family = family;
        this.name = name;
        this.video = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(video));
        this.digests = digests;
        this.hashedBytes = hashedBytes;
        this.graphs = graphs.stream().map(m -> java.util.Collections.unmodifiableMap(new LinkedHashMap<>(m))).toList();
        this.problems = List.copyOf(problems);
        this.notes = List.copyOf(notes);
    }

    /** {@return the bundle's directory} */
    public Path directory() {
        return directory;
    }

    /** {@return the manifest's model family, e.g. {@code "longcat-avatar"}} */
    public String family() {
        return family;
    }

    /** {@return the manifest's model name} */
    public String name() {
        return name;
    }

    /** {@return whether the bundle passed every check: files, digests (when checked), signatures} */
    public boolean valid() {
        return problems.isEmpty();
    }

    /** {@return what is wrong with the bundle, one message per problem; empty when it is valid} */
    public List<String> problems() {
        return problems;
    }

    /** {@return what was not checked and why (e.g. external data absent without digests)} */
    public List<String> notes() {
        return notes;
    }

    /**
     * Every finding by name, ready to be written as JSON: {@code directory}, {@code family},
     * {@code name}, {@code video} (the manifest's video settings), {@code digests}
     * ({@code "verified"}, {@code "failed"} or {@code "not checked"}), {@code hashedBytes},
     * {@code graphs} (per graph: {@code key}, {@code file}, {@code fileBytes},
     * {@code inlineWeightBytes}, {@code externalBytes}, {@code externalFiles}, {@code initializers},
     * {@code inputs} and {@code outputs} (each {@code name}, {@code type}, {@code shape} with
     * numbers for fixed and names or {@code "?"} for dynamic dimensions) and {@code contract}:
     * {@code "OK"}, {@code "not used by <family>"} or the mismatch), {@code problems},
     * {@code notes} and {@code valid}.
     *
     * @return the findings, in a stable order
     */
    public Map<String, Object> details() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("directory", directory.toString());
        m.put("family", family);
        m.put("name", name);
        m.put("video", video);
        m.put("digests", digestStatus());
        m.put("hashedBytes", hashedBytes);
        m.put("graphs", graphs);
        m.put("problems", problems);
        m.put("notes", notes);
        m.put("valid", valid());
        return m;
    }

    private String digestStatus() {
        return digests;
    }

    private boolean digestsChecked() {
        return !digests.equals("not checked");
    }

    /**
     * The findings as text lines for a terminal: the model, its video settings, the digest check,
     * each graph (file, weights, inputs, outputs, contract verdict), notes, problems and the verdict.
     *
     * @return the lines, without line terminators
     */
    @SuppressWarnings("unchecked")
    public List<String> summary() {
        List<String> out = new ArrayList<>();
        out.add("bundle    " + directory);
        out.add("model     " + family + " \"" + name + "\"");
        if (!video.isEmpty()) {
            StringBuilder b = new StringBuilder("video    ");
            video.forEach((k, v) -> b.append(' ').append(k).append(' ').append(v).append(','));
            b.setLength(b.length() - 1);
            out.add(b.toString());
        }
        out.add("digests   " + digestStatus() + (digestsChecked() ? " (" + bytes(hashedBytes) + " hashed)" : " (not requested)"));
        for (Map<String, Object> g : graphs) {
            List<String> ext = (List<String>) g.get("externalFiles");
            out.add("graph     " + g.get("key") + "  " + g.get("file") + "  weights " + bytes((Long) g.get("inlineWeightBytes"))
                    + " inline + " + bytes((Long) g.get("externalBytes")) + " external"
                    + (ext.isEmpty() ? "" : " (" + String.join(", ", ext) + ")") + ", " + g.get("initializers")
                    + " initializers");
            for (Map<String, Object> t : (List<Map<String, Object>>) g.get("inputs")) {
                out.add("  in      " + tensor(t));
            }
            for (Map<String, Object> t : (List<Map<String, Object>>) g.get("outputs")) {
                out.add("  out     " + tensor(t));
            }
            out.add("  contract " + g.get("contract"));
        }
        notes.forEach(n -> out.add("note      " + n));
        problems.forEach(p -> out.add("PROBLEM   " + p));
        out.add(valid() ? "result    OK: the bundle is valid" + (digestsChecked() ? "" : " (digests not checked)")
                : "result    INVALID: " + problems.size() + (problems.size() == 1 ? " problem" : " problems"));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static String tensor(Map<String, Object> t) {
        StringBuilder b = new StringBuilder().append(t.get("name")).append(": ").append(t.get("type")).append('[');
        List<Object> shape = (List<Object>) t.get("shape");
        for (int i = 0; i < shape.size(); i++) {
            b.append(i == 0 ? "" : ",").append(shape.get(i));
        }
        return b.append(']').toString();
    }

    /** {@code 1.5 GB}, {@code 449.8 kB}, {@code 12 B} (decimal units). */
    static String bytes(long n) {
        if (n < 1000) {
            return n + " B";
        }
        String[] units = {"kB", "MB", "GB", "TB"};
        double v = n;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    @Override
    public String toString() {
        return "Inspection[" + family + " \"" + name + "\" " + (valid() ? "valid" : problems.size() + " problems") + "]";
    }
}
