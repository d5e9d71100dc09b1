package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.spi.TensorSpec;
import dev.avatar4j.tensor.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What an ONNX graph declares, read from its file without loading it: the main graph's inputs and
 * outputs (names, element types, dimensions with their values or symbolic names), and how much its
 * weights weigh (bytes stored inline, and the initializers that keep their data in external files).
 * Read by {@link #read}; the weights themselves are never read, and external data is not opened.
 *
 * <p>The signature is the one the file declares. ONNX Runtime reports the same inputs; its outputs
 * can be more specific: the shape inference it runs when it loads a graph may fix a dimension the
 * file leaves symbolic (a {@code Slice}d cache's channels, say). Checked against a contract, a
 * symbolic dimension accepts any size, so such a fixed size is checked only when the graph loads
 * (the SDK's ONNX Runtime tests compare both readings for every committed graph).
 *
 * @param inputs        the graph's inputs, in order, without those that are initializers (graphs of
 *                      ONNX IR version &lt; 4 list every initializer as an input too)
 * @param outputs       the graph's outputs, in order
 * @param inlineBytes   bytes of initializer data stored in the graph file itself
 * @param initializers  how many initializers the main graph has (inline and external)
 * @param external      the initializers whose data lives in external files
 */
public record OnnxSignature(List<Value> inputs, List<Value> outputs, long inlineBytes, int initializers,
                            List<GraphSource.ExternalTensor> external) {

    /** Copies the lists. */
    public OnnxSignature {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        external = List.copyOf(external);
    }

    /**
     * Reads a graph file's signature, passing over everything else (nodes, initializer data, doc
     * strings) without reading it.
     *
     * @param file the {@code .onnx} file
     * @param what the graph, named in errors (e.g. {@code graph dit.onnx (dit)})
     * @return the signature
     * @throws BundleException when the file cannot be read or is not a valid ONNX model (truncated,
     *                         corrupt, no graph), naming {@code what}
     */
    public static OnnxSignature read(Path file, String what) {
        return OnnxSignatureReader.read(file, what);
    }

    /**
     * One dimension: a fixed size, a symbolic name, or neither (unknown).
     *
     * @param value the size, or {@code -1} when it is not fixed
     * @param param the symbolic name ({@code dim_param}), or {@code ""}
     */
    public record Dim(long value, String param) {
        /** @throws NullPointerException if {@code param} is null */
        public Dim {
            Objects.requireNonNull(param, "param");
        }

        @Override
        public String toString() {
            return value >= 0 ? Long.toString(value) : param.isEmpty() ? "?" : param;
        }
    }

    /**
     * A declared input or output.
     *
     * @param name     its name
     * @param elemType ONNX element type ({@code TensorProto.DataType}: 1 float, 7 int64, 10 float16…),
     *                 0 when the value is not a tensor or declares none
     * @param dims     its dimensions (empty for a scalar, or when the graph declares no shape)
     */
    public record Value(String name, int elemType, List<Dim> dims) {
        /** Copies the dimensions. */
        public Value {
            Objects.requireNonNull(name, "name");
            dims = List.copyOf(dims);
        }

        /** {@return the element type's ONNX name, e.g. {@code float}, {@code int64}, {@code bool}} */
        public String elemTypeName() {
            return typeName(elemType);
        }

        /** {@return e.g. {@code x: float[batch,16,21,?,?]}} */
        @Override
        public String toString() {
            StringBuilder b = new StringBuilder(name).append(": ").append(elemTypeName()).append('[');
            for (int i = 0; i < dims.size(); i++) {
                b.append(i == 0 ? "" : ",").append(dims.get(i));
            }
            return b.append(']').toString();
        }
    }

    /**
     * The inputs as the SDK's backends report them for a loaded session (dynamic dimensions
     * {@code -1}), for checking against a {@link dev.avatar4j.backend.GraphContract}.
     *
     * @throws BundleException when an input's element type is not one the SDK exchanges (float32,
     *                         float16, int64), as loading would
     */
    public List<TensorSpec> inputSpecs(String graph) {
        return specs(graph, "input", inputs);
    }

    /** The outputs as {@link #inputSpecs} gives the inputs. */
    public List<TensorSpec> outputSpecs(String graph) {
        return specs(graph, "output", outputs);
    }

    private static List<TensorSpec> specs(String graph, String kind, List<Value> values) {
        List<TensorSpec> out = new ArrayList<>(values.size());
        for (Value v : values) {
            DType dtype = switch (v.elemType()) {
                case 1 -> DType.FLOAT32;
                case 10 -> DType.FLOAT16;
                case 7 -> DType.INT64;
                case 0 -> throw new BundleException("graph \"" + graph + "\" " + kind + " '" + v.name()
                        + "' is not a tensor (it declares no tensor element type); only float32, float16 and int64 "
                        + "tensors are supported");
                default -> throw new BundleException("graph \"" + graph + "\" " + kind + " '" + v.name()
                        + "' has element type " + v.elemTypeName() + "; only float32, float16 and int64 are supported");
            };
            long[] shape = new long[v.dims().size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = v.dims().get(i).value();
            }
            out.add(new TensorSpec(v.name(), dtype, shape));
        }
        return List.copyOf(out);
    }

    /** ONNX's name of an element type ({@code TensorProto.DataType}). */
    static String typeName(int type) {
        return switch (type) {
            case 0 -> "undefined";
            case 1 -> "float";
            case 2 -> "uint8";
            case 3 -> "int8";
            case 4 -> "uint16";
            case 5 -> "int16";
            case 6 -> "int32";
            case 7 -> "int64";
            case 8 -> "string";
            case 9 -> "bool";
            case 10 -> "float16";
            case 11 -> "double";
            case 12 -> "uint32";
            case 13 -> "uint64";
            case 14 -> "complex64";
            case 15 -> "complex128";
            case 16 -> "bfloat16";
            default -> "type" + type;
        };
    }
}
