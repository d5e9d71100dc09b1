package dev.avatar4j;

import dev.avatar4j.backend.GraphContract;
import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.bundle.BundleScan;
import dev.avatar4j.bundle.JsonObject;
import dev.avatar4j.bundle.OnnxSignature;
import dev.avatar4j.family.FamilyEngines;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Builds an {@link Inspection}: the bundle's files scanned without loading ({@link BundleScan}: paths,
 * sizes, digests, each graph's signature read from its file), then every graph's signature checked
 * against the contract the family's engine checks a loaded session against
 * ({@link FamilyEngines#contracts}, {@link GraphContract#check(List, List, Path)}), and the graphs
 * against each other ({@link FamilyEngines#checkTogether}): one rule for both paths, so an
 * inspection and a load agree on the signatures.
 */
final class Inspector {
    private Inspector() {
    }

    static Inspection inspect(Path dir, boolean digests, Inspection.DigestListener listener) {
        Objects.requireNonNull(dir, "bundle directory");
        Objects.requireNonNull(listener, "listener");
        BundleScan.Result scan = BundleScan.scan(dir, digests, (done, total, file) -> listener.hashed(done, total));
        BundleManifest manifest = scan.manifest();
        List<String> problems = new ArrayList<>(scan.problems());
        Map<String, GraphContract> contracts;
        boolean familyValid = true;
        try {
            contracts = FamilyEngines.contracts(manifest);
        } catch (BundleException e) {
            problems.add(e.getMessage());
            contracts = Map.of();
            familyValid = false;
        }
        for (String key : contracts.keySet()) {
            if (manifest.graph(key).isEmpty()) {
                problems.add(BundleManifest.FILE_NAME + ": no graph \"" + key + "\" (family " + manifest.family()
                        + " needs it)");
            }
        }
        List<Map<String, Object>> graphs = new ArrayList<>();
        // in the order the engine opens them, each variant after its graph, graphs the family does not use last
        List<String> order = new ArrayList<>(contracts.keySet());
        List<BundleScan.Graph> sorted = new ArrayList<>(scan.graphs());
        sorted.sort(java.util.Comparator.comparingInt((BundleScan.Graph g) -> {
            int at = order.indexOf(base(g.key()));
            return at < 0 ? Integer.MAX_VALUE : at;
        }).thenComparing(g -> base(g.key())).thenComparing(BundleScan.Graph::key));
        Map<String, BundleScan.Graph> checked = new LinkedHashMap<>();
        for (BundleScan.Graph g : sorted) {
            String base = base(g.key());
            GraphContract contract = contracts.get(base);
            OnnxSignature sig = g.signature();
            String verdict;
            if (sig == null) {
                verdict = "not checked: the graph file could not be read";
            } else if (!familyValid) {
                verdict = "not checked: the manifest is not a valid " + manifest.family() + " bundle";
            } else if (contract == null) {
                verdict = "not used by " + manifest.family();
            } else {
                try {
                    contract.check(sig.inputSpecs(base), sig.outputSpecs(base), g.file());
                    verdict = "OK";
                } catch (BundleException e) {
                    verdict = e.getMessage();
                    problems.add(e.getMessage());
                }
            }
            graphs.add(graph(g, verdict));
            if (verdict.equals("OK") && !g.key().contains("@")) {
                checked.put(base, g);
            }
        }
        if (familyValid && checked.keySet().containsAll(contracts.keySet())) {
            // every graph met its contract: now whether they fit together, as a load checks
            try {
                FamilyEngines.checkTogether(manifest, k -> checked.get(k).signature().inputSpecs(k),
                        k -> checked.get(k).signature().outputSpecs(k), scan.directory().toString());
            } catch (BundleException e) {
                problems.add(e.getMessage());
            }
        }
        String digestStatus = !digests ? "not checked" : scan.digestMismatches() > 0 ? "failed" : "verified";
        return new Inspection(scan.directory(), manifest.family(), manifest.name(), video(manifest), digestStatus,
                scan.hashedBytes(), graphs, problems, scan.notes());
    }

    /** The graph a file key belongs to: {@code dit} for {@code dit@onnxruntime}. */
    private static String base(String key) {
        int at = key.indexOf('@');
        return at < 0 ? key : key.substring(0, at);
    }

    private static Map<String, Object> graph(BundleScan.Graph g, String verdict) {
        Map<String, Object> m = new LinkedHashMap<>();
        OnnxSignature sig = g.signature();
        m.put("key", g.key());
        m.put("file", g.file() == null ? null : String.valueOf(g.file().getFileName()));
        m.put("fileBytes", g.fileBytes());
        m.put("inlineWeightBytes", sig == null ? 0L : sig.inlineBytes());
        m.put("externalBytes", g.externalBytes());
        m.put("externalFiles", g.externalFiles());
        m.put("initializers", sig == null ? 0 : sig.initializers());
        m.put("inputs", sig == null ? List.of() : values(sig.inputs()));
        m.put("outputs", sig == null ? List.of() : values(sig.outputs()));
        m.put("contract", verdict);
        return m;
    }

    private static List<Map<String, Object>> values(List<OnnxSignature.Value> values) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (OnnxSignature.Value v : values) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", v.name());
            m.put("type", v.elemTypeName());
            List<Object> shape = new ArrayList<>();
            for (OnnxSignature.Dim d : v.dims()) {
                shape.add(d.value() >= 0 ? (Object) d.value() : d.toString());
            }
            m.put("shape", shape);
            out.add(m);
        }
        return out;
    }

    /** The manifest's {@code video} section's numbers (fps, sizes, frames), as it gives them. */
    private static Map<String, Object> video(BundleManifest manifest) {
        Map<String, Object> out = new LinkedHashMap<>();
        JsonObject root = manifest.root();
        if (!root.has("video")) {
            return out;
        }
        try {
            JsonObject video = root.object("video");
            for (String k : video.keys()) {
                try {
                    out.put(k, video.number(k));
                } catch (BundleException notANumber) {
                    // arrays (patch) and strings are not sizes: left out of the summary
                }
            }
        } catch (BundleException e) {
            // not an object: the family's own validation reports it
        }
        out.replaceAll((k, v) -> v instanceof Double d && d == Math.rint(d) ? (Object) d.longValue() : v);
        return out;
    }
}
