package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import dev.avatar4j.spi.GraphSource;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds every tensor of an ONNX model (a serialized {@code ModelProto}) whose data lives in an
 * external file: the {@code TensorProto.external_data} entries ({@code location}, {@code offset},
 * {@code length}) of the main graph's initializers, and any tensor with external data elsewhere
 * (sparse initializers, {@code Constant}-style tensor attributes, sub-graphs of {@code If}/{@code Loop}/
 * {@code Scan}, functions, training graphs), which is refused: only main-graph initializers can be
 * handed to the runtime from verified memory.
 *
 * <p>A small, bounded protobuf reader rather than a protobuf dependency: it only follows the fields
 * that can hold tensors (numbers from {@code onnx.proto}, stable since ONNX 1.0), skips every other
 * field by its wire type, and refuses anything malformed (truncated varints, lengths beyond the
 * message, group wire types, nesting deeper than {@value #MAX_DEPTH}, more than {@value #MAX_TENSORS}
 * external tensors). The model bytes are untrusted.
 */
final class OnnxExternalRefs {
    static final int MAX_DEPTH = 48;
    static final int MAX_TENSORS = 1_000_000;
    private static final int MAX_DIMS = 16;

    // ModelProto
    private static final int MODEL_GRAPH = 7;
    private static final int MODEL_TRAINING_INFO = 20;
    private static final int MODEL_FUNCTIONS = 25;
    // TrainingInfoProto
    private static final int TRAINING_INITIALIZATION = 1;
    private static final int TRAINING_ALGORITHM = 2;
    // GraphProto
    private static final int GRAPH_NODE = 1;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_SPARSE_INITIALIZER = 15;
    // NodeProto
    private static final int NODE_ATTRIBUTE = 5;
    // AttributeProto
    private static final int ATTR_T = 5;
    private static final int ATTR_G = 6;
    private static final int ATTR_TENSORS = 10;
    private static final int ATTR_GRAPHS = 11;
    private static final int ATTR_SPARSE_TENSOR = 22;
    private static final int ATTR_SPARSE_TENSORS = 23;
    // FunctionProto
    private static final int FUNCTION_NODE = 7;
    // SparseTensorProto
    private static final int SPARSE_VALUES = 1;
    private static final int SPARSE_INDICES = 2;
    // TensorProto
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_EXTERNAL_DATA = 13;
    private static final int TENSOR_DATA_LOCATION = 14;
    private static final int DATA_LOCATION_EXTERNAL = 1;

    private final byte[] buf;
    private final String what;
    private final List<GraphSource.ExternalTensor> found = new ArrayList<>();

    private OnnxExternalRefs(byte[] buf, String what) {
        this.buf = buf;
        this.what = what;
    }

    /**
     * The main-graph initializers of {@code model} that keep their data in external files.
     *
     * @param what the graph, named in errors
     * @throws BundleException when the model is malformed, or a tensor outside the main graph's
     *                         initializers has external data
     */
    static List<GraphSource.ExternalTensor> scan(byte[] model, String what) {
        OnnxExternalRefs r = new OnnxExternalRefs(model, what);
        r.model(0, model.length);
        return List.copyOf(r.found);
    }

    // ------------------------------------------------------------------ messages

    private void model(int pos, int end) {
        fields(pos, end, (field, start, stop) -> {
            switch (field) {
                case MODEL_GRAPH -> graph(start, stop, 1, true);
                case MODEL_FUNCTIONS -> function(start, stop, 1);
                case MODEL_TRAINING_INFO -> trainingInfo(start, stop, 1);
                default -> {
                }
            }
        });
    }

    private void trainingInfo(int pos, int end, int depth) {
        depth(depth);
        fields(pos, end, (field, start, stop) -> {
            if (field == TRAINING_INITIALIZATION || field == TRAINING_ALGORITHM) {
                graph(start, stop, depth + 1, false);
            }
        });
    }

    private void graph(int pos, int end, int depth, boolean main) {
        depth(depth);
        fields(pos, end, (field, start, stop) -> {
            switch (field) {
                case GRAPH_NODE -> node(start, stop, depth + 1);
                case GRAPH_INITIALIZER -> tensor(start, stop, main ? Place.INITIALIZER : Place.OTHER);
                case GRAPH_SPARSE_INITIALIZER -> sparse(start, stop, depth + 1);
                default -> {
                }
            }
        });
    }

    private void function(int pos, int end, int depth) {
        depth(depth);
        fields(pos, end, (field, start, stop) -> {
            if (field == FUNCTION_NODE) {
                node(start, stop, depth + 1);
            }
        });
    }

    private void node(int pos, int end, int depth) {
        depth(depth);
        fields(pos, end, (field, start, stop) -> {
            if (field == NODE_ATTRIBUTE) {
                attribute(start, stop, depth + 1);
            }
        });
    }

    private void attribute(int pos, int end, int depth) {
        depth(depth);
        fields(pos, end, (field, start, stop) -> {
            switch (field) {
                case ATTR_T, ATTR_TENSORS -> tensor(start, stop, Place.OTHER);
                case ATTR_G, ATTR_GRAPHS -> graph(start, stop, depth + 1, false);
                case ATTR_SPARSE_TENSOR, ATTR_SPARSE_TENSORS -> sparse(start, stop, depth + 1);
                default -> {
                }
            }
        });
    }

    private void sparse(int pos, int end, int depth) {
        depth(depth);
        fields(pos, end, (field, start, stop) -> {
            if (field == SPARSE_VALUES || field == SPARSE_INDICES) {
                tensor(start, stop, Place.OTHER);
            }
        });
    }

    private enum Place { INITIALIZER, OTHER }

    private void tensor(int pos, int end, Place place) {
        List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = "";
        String location = null;
        String offset = null;
        String length = null;
        boolean external = false;
        boolean hasExternalEntries = false;
        while (pos < end) {
            long tag = varint(pos, end);
            pos = next;
            int field = (int) (tag >>> 3);
            int wire = (int) (tag & 7);
            if (field == TENSOR_DIMS && wire == 0) {
                dims.add(varint(pos, end));
                pos = next;
            } else if (field == TENSOR_DIMS && wire == 2) { // packed
                int len = length(pos, end);
                int p = next;
                int stop = p + len;
                while (p < stop) {
                    dims.add(varint(p, stop));
                    p = next;
                }
                pos = stop;
            } else if (field == TENSOR_DATA_TYPE && wire == 0) {
                dataType = (int) varint(pos, end);
                pos = next;
            } else if (field == TENSOR_NAME && wire == 2) {
                int len = length(pos, end);
                name = new String(buf, next, len, StandardCharsets.UTF_8);
                pos = next + len;
            } else if (field == TENSOR_DATA_LOCATION && wire == 0) {
                external = varint(pos, end) == DATA_LOCATION_EXTERNAL;
                pos = next;
            } else if (field == TENSOR_EXTERNAL_DATA && wire == 2) {
                hasExternalEntries = true;
                int len = length(pos, end);
                int start = next;
                String[] kv = entry(start, start + len);
                switch (kv[0]) {
                    case "location" -> location = kv[1];
                    case "offset" -> offset = kv[1];
                    case "length" -> length = kv[1];
                    default -> {
                    }
                }
                pos = start + len;
            } else {
                pos = skip(wire, pos, end);
            }
            if (dims.size() > MAX_DIMS) {
                throw bad("a tensor has more than " + MAX_DIMS + " dimensions");
            }
        }
        if (!external && !hasExternalEntries) {
            return;
        }
        String shown = printable(name);
        if (place != Place.INITIALIZER) {
            throw bad("tensor \"" + shown + "\" keeps its data in an external file but is not an initializer of the"
                    + " main graph (only those are supported)");
        }
        if (!external || location == null || location.isEmpty()) {
            throw bad("initializer \"" + shown + "\" has incomplete external data (data_location and location are required)");
        }
        if (found.size() >= MAX_TENSORS) {
            throw bad("more than " + MAX_TENSORS + " external tensors");
        }
        long[] d = new long[dims.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = dims.get(i);
            if (d[i] < 0) {
                throw bad("initializer \"" + shown + "\" has a negative dimension");
            }
        }
        long off = decimal(offset, 0, shown, "offset");
        long len = decimal(length, -1, shown, "length");
        found.add(new GraphSource.ExternalTensor(name, location, off, len, dataType, d));
    }

    /** A {@code StringStringEntryProto}: key 1, value 2. */
    private String[] entry(int pos, int end) {
        String[] kv = {"", ""};
        fields(pos, end, (field, start, stop) -> {
            if (field == 1 || field == 2) {
                kv[field - 1] = new String(buf, start, stop - start, StandardCharsets.UTF_8);
            }
        });
        return kv;
    }

    private long decimal(String s, long def, String tensor, String key) {
        if (s == null) {
            return def;
        }
        if (!s.matches("[0-9]{1,18}")) {
            throw bad("initializer \"" + tensor + "\" has an invalid external-data " + key);
        }
        return Long.parseLong(s);
    }

    // ------------------------------------------------------------------ wire format

    /** A length-delimited field of a message: its number and its payload {@code [start, stop)}. */
    @FunctionalInterface
    private interface Field {
        void read(int field, int start, int stop);
    }

    /**
     * Walks the fields of one message in {@code [pos, end)}: each length-delimited field (the only
     * kind that can hold a sub-message or a string) goes to {@code each}, every other is skipped by
     * its wire type.
     */
    private void fields(int pos, int end, Field each) {
        while (pos < end) {
            long tag = varint(pos, end);
            pos = next;
            int wire = (int) (tag & 7);
            if (wire != 2) {
                pos = skip(wire, pos, end);
                continue;
            }
            int len = length(pos, end);
            int start = next;
            each.read((int) (tag >>> 3), start, start + len);
            pos = start + len;
        }
    }

    /** Position after the last value read by {@link #varint} or {@link #length}. */
    private int next;

    private long varint(int pos, int end) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= end) {
                throw bad("truncated varint");
            }
            byte b = buf[pos++];
            v |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                next = pos;
                return v;
            }
        }
        throw bad("varint longer than 10 bytes");
    }

    /** Reads a length prefix and checks the payload fits before {@code end}; {@link #next} is its start. */
    private int length(int pos, int end) {
        long len = varint(pos, end);
        if (len < 0 || len > end - next) {
            throw bad("a field's length runs past its message");
        }
        return (int) len;
    }

    private int skip(int wire, int pos, int end) {
        switch (wire) {
            case 0 -> {
                varint(pos, end);
                return next;
            }
            case 1 -> {
                if (end - pos < 8) {
                    throw bad("truncated fixed64");
                }
                return pos + 8;
            }
            case 2 -> {
                int len = length(pos, end);
                return next + len;
            }
            case 5 -> {
                if (end - pos < 4) {
                    throw bad("truncated fixed32");
                }
                return pos + 4;
            }
            default -> throw bad("unsupported protobuf wire type " + wire);
        }
    }

    private void depth(int depth) {
        if (depth > MAX_DEPTH) {
            throw bad("graphs nested deeper than " + MAX_DEPTH);
        }
    }

    private BundleException bad(String what) {
        return new BundleException(this.what + " is not a valid ONNX model: " + what);
    }

    /** A name for an error message: control characters escaped, at most 100 characters. */
    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 100; i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
