package dev.avatar4j.backend;

import dev.avatar4j.BundleException;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.Tensor;
import dev.avatar4j.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The inputs and outputs a family expects of one graph (names, element types, ranks, fixed
 * dimensions), checked against a loaded session when the bundle loads, so that a mismatched
 * export fails at once with a message naming the graph and tensor rather than mid-generation; and
 * checked the same way ({@link #check(List, List, Path)}) against a signature read from the graph
 * file alone, when a bundle is inspected without loading its weights.
 */
public final class GraphContract {
    private final String graph;
    private final Map<String, Expect> inputs = new LinkedHashMap<>();
    private final Map<String, Expect> outputs = new LinkedHashMap<>();
    private final Map<String, Expect> optionalOutputs = new LinkedHashMap<>();
    private Predicate<String> extraInputs = n -> false;
    private Predicate<String> extraOutputs = n -> false;

    private record Expect(DType dtype, long[] dims) {
    }

    private GraphContract(String graph) {
        this.graph = graph;
    }

    /** A contract for the graph with manifest key {@code graph}. */
    public static GraphContract of(String graph) {
        return new GraphContract(graph);
    }

    /**
     * Expects an input; {@code dims} gives the rank, with −1 for any size and a positive value for
     * a required fixed size.
     */
    public GraphContract input(String name, DType dtype, long... dims) {
        inputs.put(name, new Expect(dtype, dims));
        return this;
    }

    /** Expects an output (see {@link #input}). */
    public GraphContract output(String name, DType dtype, long... dims) {
        outputs.put(name, new Expect(dtype, dims));
        return this;
    }

    /**
     * Allows an output the graph may have or not; when it has it, it is checked like
     * {@link #output} (e.g. a VAE encoder's posterior std).
     */
    public GraphContract optionalOutput(String name, DType dtype, long... dims) {
        optionalOutputs.put(name, new Expect(dtype, dims));
        return this;
    }

    /** The graph's manifest key. */
    public String graph() {
        return graph;
    }

    /** Allows further inputs/outputs whose names match (e.g. causal caches). */
    public GraphContract allowExtra(Predicate<String> inputNames, Predicate<String> outputNames) {
        this.extraInputs = inputNames;
        this.extraOutputs = outputNames;
        return this;
    }

    /**
     * Checks the session's signature.
     *
     * @throws BundleException listing every mismatch
     */
    public void check(GraphSession session, Path file) {
        check(session.inputs(), session.outputs(), file);
    }

    /**
     * Checks a signature: the inputs and outputs a graph declares, as a session reports them or as
     * read from the graph file without loading it. Both paths run this, so they cannot drift.
     *
     * @param inputs  the graph's inputs ({@code -1} for a dynamic dimension)
     * @param outputs the graph's outputs
     * @param file    the graph's file, named in the message
     * @throws BundleException listing every mismatch, naming the graph and each tensor
     */
    public void check(List<TensorSpec> inputs, List<TensorSpec> outputs, Path file) {
        List<String> problems = new ArrayList<>();
        compare("input", this.inputs, Map.of(), inputs, extraInputs, problems);
        compare("output", this.outputs, optionalOutputs, outputs, extraOutputs, problems);
        if (!problems.isEmpty()) {
            throw new BundleException("graph \"" + graph + "\" (" + file.getFileName() + ") does not match the "
                    + "contract: " + String.join("; ", problems));
        }
    }

    /**
     * Checks outputs a run returned against the contract (element type, rank, fixed sizes), so that
     * a graph whose signature left sizes open but returns the wrong ones is reported as a broken
     * bundle instead of being read past its end.
     *
     * @throws BundleException naming the graph, the output, its shape and the expected one
     */
    public void checkOutputs(GraphSession.Result results, Path file) {
        for (String name : results.names()) {
            Expect x = outputs.containsKey(name) ? outputs.get(name) : optionalOutputs.get(name);
            if (x == null) {
                continue;
            }
            Tensor t = results.get(name);
            long[] shape = t.shape();
            boolean ok = t.dtype() == x.dtype() && shape.length == x.dims().length;
            for (int i = 0; ok && i < shape.length; i++) {
                ok = x.dims()[i] <= 0 || x.dims()[i] == shape[i];
            }
            if (!ok) {
                throw new BundleException("graph \"" + graph + "\" (" + file.getFileName() + ") returned output '"
                        + name + "' as " + t.dtype() + TensorSpecs.format(shape) + ", but the contract needs "
                        + x.dtype() + TensorSpecs.format(x.dims()) + "; the bundle's graph is broken");
            }
        }
    }

    /** Whether the contract constrains any output (a run needs checking). */
    boolean hasOutputs() {
        return !outputs.isEmpty() || !optionalOutputs.isEmpty();
    }

    private static void compare(String kind, Map<String, Expect> expected, Map<String, Expect> optional,
                                List<TensorSpec> actual, Predicate<String> extra, List<String> problems) {
        Map<String, TensorSpec> byName = new LinkedHashMap<>();
        actual.forEach(s -> byName.put(s.name(), s));
        Map<String, Expect> all = new LinkedHashMap<>(expected);
        optional.forEach(all::putIfAbsent);
        for (Map.Entry<String, Expect> e : all.entrySet()) {
            TensorSpec s = byName.remove(e.getKey());
            Expect x = e.getValue();
            if (s == null) {
                if (expected.containsKey(e.getKey())) {
                    problems.add("missing " + kind + " '" + e.getKey() + "' (has " + byName.keySet() + ")");
                }
                continue;
            }
            if (s.dtype() != x.dtype()) {
                problems.add(kind + " '" + s.name() + "' is " + s.dtype() + ", expected " + x.dtype());
            }
            long[] dims = s.shape();
            if (dims.length != x.dims().length) {
                problems.add(kind + " '" + s.name() + "' has shape " + s.shapeString() + " (rank " + dims.length
                        + "), expected rank " + x.dims().length + " " + TensorSpecs.format(x.dims()));
                continue;
            }
            for (int i = 0; i < dims.length; i++) {
                long want = x.dims()[i];
                if (want > 0 && dims[i] >= 0 && dims[i] != want) {
                    problems.add(kind + " '" + s.name() + "' has shape " + s.shapeString() + ", expected "
                            + TensorSpecs.format(x.dims()));
                    break;
                }
            }
        }
        for (String n : byName.keySet()) {
            if (!extra.test(n)) {
                problems.add("unexpected " + kind + " '" + n + "'");
            }
        }
    }

    /** Formatting helper. */
    static final class TensorSpecs {
        private TensorSpecs() {
        }

        static String format(long[] dims) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < dims.length; i++) {
                b.append(i == 0 ? "" : ",").append(dims[i] < 0 ? "?" : Long.toString(dims[i]));
            }
            return b.append(']').toString();
        }
    }
}
