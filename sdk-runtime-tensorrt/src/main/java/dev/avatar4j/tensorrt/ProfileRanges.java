package dev.avatar4j.tensorrt;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Optimisation-profile ranges of named graph inputs, read from a properties file:
 * <pre>
 * # GRAPH-FILE/INPUT = MIN : OPT : MAX    (shapes as DxDxD)
 * audio_encoder.onnx/input_values = 1x16000 : 1x80000 : 1x480000
 * dit.onnx/x = 1x16x1x8x8 : 3x16x21x64x64 : 3x16x21x64x64
 * </pre>
 * A line {@code GRAPH-FILE/@precision = fp16|bf16|fp32} chooses the precision of that graph's engine
 * (the exporter writes one per graph: fp16 where the graph is safe in FP16, bf16 or fp32 where its
 * activations overflow FP16's range). Inputs without a range take the uniform dynamic-dimension range
 * of {@link TrtOptions}. Sources:
 * {@code -Davatar4j.tensorrt.profiles=FILE}, and a bundle's own {@value #BUNDLE_FILE} next to its
 * graphs (the explicit file wins for an input both name).
 */
final class ProfileRanges {
    /** System property naming a profile file. */
    static final String PROPERTY = "avatar4j.tensorrt.profiles";
    /** A bundle's own profile file, next to its graphs. */
    static final String BUNDLE_FILE = "tensorrt-profiles.properties";
    static final int MAX_DIMS = 8;
    static final long MAX_FILE_BYTES = 64 * 1024;
    /** The pseudo-input naming a graph's precision ({@code GRAPH-FILE/@precision}). */
    static final String PRECISION_KEY = "@precision";

    /** An engine's precision: which reduced-precision kernels TensorRT may choose. */
    enum Precision {
        /** FP16 kernels where faster (FP32 elsewhere): tensor cores, but FP16's range (65504). */
        FP16,
        /** BF16 kernels where faster: FP32's range with an 8-bit significand (compute capability 8.0+). */
        BF16,
        /** FP32 (TF32 tensor cores where TensorRT allows): the reference's numbers. */
        FP32;

        /** The builder flags ({@code A4J_BUILD_*}). */
        int flags() {
            return switch (this) {
                case FP16 -> dev.avatar4j.tensorrt.ffi.AvatarTrt.A4J_BUILD_FP16();
                case BF16 -> dev.avatar4j.tensorrt.ffi.AvatarTrt.A4J_BUILD_BF16();
                case FP32 -> 0;
            };
        }

        String text() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Precision parse(String text) {
            return switch (text.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "fp16" -> FP16;
                case "bf16" -> BF16;
                case "fp32" -> FP32;
                default -> throw new IllegalArgumentException("precision must be fp16, bf16 or fp32, got '" + text.strip() + "'");
            };
        }
    }

    /**
     * The range of one input.
     *
     * @param min smallest shape
     * @param opt shape TensorRT tunes for
     * @param max largest shape
     */
    record Range(long[] min, long[] opt, long[] max) {
        Range {
            if (min.length != opt.length || opt.length != max.length || min.length == 0 || min.length > MAX_DIMS) {
                throw new IllegalArgumentException("MIN, OPT and MAX must have the same rank (1.." + MAX_DIMS + ")");
            }
            for (int i = 0; i < min.length; i++) {
                if (min[i] < 1 || opt[i] < min[i] || max[i] < opt[i]) {
                    throw new IllegalArgumentException("dimension " + i + " must satisfy 1 <= min <= opt <= max, got "
                            + min[i] + ":" + opt[i] + ":" + max[i]);
                }
            }
            min = min.clone();
            opt = opt.clone();
            max = max.clone();
        }

        String text() {
            return shape(min) + ":" + shape(opt) + ":" + shape(max);
        }

        private static String shape(long[] s) {
            StringBuilder b = new StringBuilder();
            for (long d : s) {
                b.append(b.isEmpty() ? "" : "x").append(d);
            }
            return b.toString();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Range r && Arrays.equals(min, r.min) && Arrays.equals(opt, r.opt) && Arrays.equals(max, r.max);
        }

        @Override
        public int hashCode() {
            return text().hashCode();
        }
    }

    private final Map<String, Map<String, Range>> byGraph;
    private final Map<String, Precision> precisions;

    private ProfileRanges(Map<String, Map<String, Range>> byGraph, Map<String, Precision> precisions) {
        this.byGraph = byGraph;
        this.precisions = precisions;
    }

    static ProfileRanges none() {
        return new ProfileRanges(Map.of(), Map.of());
    }

    /** Reads {@code file}; a malformed entry is an {@link IllegalArgumentException} naming it. */
    static ProfileRanges read(Path file) {
        Properties p = new Properties();
        try {
            if (Files.size(file) > MAX_FILE_BYTES) { // it may come with an untrusted bundle
                throw new IllegalArgumentException(file + " is larger than " + MAX_FILE_BYTES + " bytes");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read TensorRT profile file " + file + ": " + e.getMessage(), e);
        }
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read TensorRT profile file " + file + ": " + e.getMessage(), e);
        }
        Map<String, Map<String, Range>> out = new TreeMap<>();
        Map<String, Precision> precisions = new TreeMap<>();
        for (String key : new TreeMap<>(p).keySet().stream().map(Object::toString).toList()) {
            int slash = key.lastIndexOf('/');
            if (slash <= 0 || slash == key.length() - 1) {
                throw new IllegalArgumentException(file + ": key '" + key + "' must be GRAPH-FILE/INPUT");
            }
            try {
                if (key.substring(slash + 1).equals(PRECISION_KEY)) {
                    precisions.put(key.substring(0, slash), Precision.parse(p.getProperty(key)));
                    continue;
                }
                out.computeIfAbsent(key.substring(0, slash), k -> new TreeMap<>())
                        .put(key.substring(slash + 1), parse(p.getProperty(key)));
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(file + ": " + key + ": " + e.getMessage(), e);
            }
        }
        return new ProfileRanges(out, precisions);
    }

    static Range parse(String text) {
        String[] parts = text.split(":");
        if (parts.length != 3) {
            throw new IllegalArgumentException("want MIN : OPT : MAX, got '" + text + "'");
        }
        return new Range(dims(parts[0]), dims(parts[1]), dims(parts[2]));
    }

    private static long[] dims(String s) {
        String[] d = s.strip().split("x");
        long[] out = new long[d.length];
        for (int i = 0; i < d.length; i++) {
            out[i] = Long.parseLong(d[i].strip());
        }
        return out;
    }

    /** {@return the graph file names this file has lines for (ranges or a precision)} */
    java.util.Set<String> graphFiles() {
        java.util.Set<String> out = new java.util.TreeSet<>(byGraph.keySet());
        out.addAll(precisions.keySet());
        return out;
    }

    /** Ranges for {@code graphFile}: the explicit ones over the bundle's own file next to it. */
    Map<String, Range> forGraph(Path graphFile) {
        Map<String, Range> out = new TreeMap<>();
        Path bundleFile = graphFile.toAbsolutePath().getParent().resolve(BUNDLE_FILE);
        String name = graphFile.getFileName().toString();
        if (Files.isRegularFile(bundleFile)) {
            out.putAll(read(bundleFile).byGraph.getOrDefault(name, Map.of()));
        }
        out.putAll(byGraph.getOrDefault(name, Map.of()));
        return new LinkedHashMap<>(out);
    }

    /** The precision {@code graphFile}'s lines ask for: the explicit file's over the bundle's own. */
    java.util.Optional<Precision> precision(Path graphFile) {
        String name = graphFile.getFileName().toString();
        Precision explicit = precisions.get(name);
        if (explicit != null) {
            return java.util.Optional.of(explicit);
        }
        Path bundleFile = graphFile.toAbsolutePath().getParent().resolve(BUNDLE_FILE);
        return Files.isRegularFile(bundleFile) ? java.util.Optional.ofNullable(read(bundleFile).precisions.get(name))
                : java.util.Optional.empty();
    }

    /** The ranges in words, for the engine cache key. */
    static String text(Map<String, Range> ranges) {
        StringBuilder b = new StringBuilder();
        ranges.forEach((k, v) -> b.append(';').append(k).append('=').append(v.text()));
        return b.toString();
    }
}
