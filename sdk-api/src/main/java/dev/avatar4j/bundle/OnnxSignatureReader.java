package dev.avatar4j.bundle;

import dev.avatar4j.BundleException;
import dev.avatar4j.spi.GraphSource;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Decodes {@link OnnxSignature}s: of a {@code ModelProto} it follows only the main graph (field 7),
 * of the {@code GraphProto} only the inputs (11), outputs (12), initializers (5) and sparse
 * initializers (15, whose names also leave the inputs), of a {@code ValueInfoProto} the name and
 * {@code TypeProto.tensor_type}'s {@code elem_type} and shape, and of an initializer ({@code
 * TensorProto}) its name, the sizes of its data fields and its external-data entries. Every other
 * field, the initializer data included, is passed over by position ({@link ProtoChannel}), so a
 * graph with gigabytes of inline weights is read in a few window-sized reads. Field numbers are
 * those of {@code onnx.proto}, stable since ONNX 1.0. The file is untrusted: names, dimensions and
 * counts are bounded.
 */
final class OnnxSignatureReader {
    private static final int MAX_NAME = 1 << 16;
    private static final int MAX_DIMS = 64;
    private static final int MAX_VALUES = 100_000;

    // ModelProto
    private static final int MODEL_GRAPH = 7;
    // GraphProto
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    private static final int GRAPH_SPARSE_INITIALIZER = 15;
    // ValueInfoProto
    private static final int VALUE_NAME = 1;
    private static final int VALUE_TYPE = 2;
    // TypeProto and TypeProto.Tensor
    private static final int TYPE_TENSOR = 1;
    private static final int TENSOR_TYPE_ELEM = 1;
    private static final int TENSOR_TYPE_SHAPE = 2;
    // TensorShapeProto and its Dimension
    private static final int SHAPE_DIM = 1;
    private static final int DIM_VALUE = 1;
    private static final int DIM_PARAM = 2;
    // SparseTensorProto
    private static final int SPARSE_VALUES = 1;
    // TensorProto
    private static final int TENSOR_DIMS = 1;
    private static final int TENSOR_DATA_TYPE = 2;
    private static final int TENSOR_NAME = 8;
    private static final int TENSOR_EXTERNAL_DATA = 13;
    private static final int TENSOR_DATA_LOCATION = 14;
    /** float_data, int32_data, string_data, int64_data, raw_data, double_data, uint64_data. */
    private static final Set<Integer> TENSOR_DATA = Set.of(4, 5, 6, 7, 9, 10, 11);

    private final ProtoChannel in;
    private final List<OnnxSignature.Value> inputs = new ArrayList<>();
    private final List<OnnxSignature.Value> outputs = new ArrayList<>();
    private final Set<String> initializerNames = new HashSet<>();
    private final List<GraphSource.ExternalTensor> external = new ArrayList<>();
    private long inlineBytes;
    private int initializers;
    private boolean graphSeen;

    private OnnxSignatureReader(ProtoChannel in) {
        this.in = in;
    }

    static OnnxSignature read(Path file, String what) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            OnnxSignatureReader r = new OnnxSignatureReader(new ProtoChannel(ch, ch.size(), what));
            return r.model();
        } catch (IOException e) {
            throw new BundleException("cannot read " + what + ": " + e.getMessage(), e);
        }
    }

    private OnnxSignature model() {
        long end = in.size();
        while (in.position() < end) {
            long tag = in.tag(end);
            if (field(tag) == MODEL_GRAPH && wire(tag) == ProtoChannel.WIRE_LEN) {
                // protobuf merges repeated occurrences of a message field; exporters write one
                graph(in.lengthEnd(end));
                graphSeen = true;
            } else {
                in.skip(wire(tag), end);
            }
        }
        if (!graphSeen) {
            throw in.bad("it has no graph");
        }
        List<OnnxSignature.Value> realInputs = inputs.stream().filter(v -> !initializerNames.contains(v.name())).toList();
        return new OnnxSignature(realInputs, outputs, inlineBytes, initializers, external);
    }

    private void graph(long end) {
        while (in.position() < end) {
            long tag = in.tag(end);
            int field = field(tag);
            if (wire(tag) != ProtoChannel.WIRE_LEN) {
                in.skip(wire(tag), end);
                continue;
            }
            switch (field) {
                case GRAPH_INPUT -> add(inputs, value(in.lengthEnd(end)));
                case GRAPH_OUTPUT -> add(outputs, value(in.lengthEnd(end)));
                case GRAPH_INITIALIZER -> tensor(in.lengthEnd(end));
                case GRAPH_SPARSE_INITIALIZER -> sparse(in.lengthEnd(end));
                default -> in.skip(ProtoChannel.WIRE_LEN, end);
            }
        }
    }

    private void add(List<OnnxSignature.Value> list, OnnxSignature.Value v) {
        if (list.size() >= MAX_VALUES) {
            throw in.bad("more than " + MAX_VALUES + " inputs or outputs");
        }
        list.add(v);
    }

    private OnnxSignature.Value value(long end) {
        String name = "";
        int elemType = 0;
        List<OnnxSignature.Dim> dims = new ArrayList<>();
        while (in.position() < end) {
            long tag = in.tag(end);
            if (field(tag) == VALUE_NAME && wire(tag) == ProtoChannel.WIRE_LEN) {
                name = in.string(end, MAX_NAME);
            } else if (field(tag) == VALUE_TYPE && wire(tag) == ProtoChannel.WIRE_LEN) {
                long typeEnd = in.lengthEnd(end);
                while (in.position() < typeEnd) {
                    long t = in.tag(typeEnd);
                    if (field(t) == TYPE_TENSOR && wire(t) == ProtoChannel.WIRE_LEN) {
                        long tensorEnd = in.lengthEnd(typeEnd);
                        while (in.position() < tensorEnd) {
                            long u = in.tag(tensorEnd);
                            if (field(u) == TENSOR_TYPE_ELEM && wire(u) == ProtoChannel.WIRE_VARINT) {
                                elemType = (int) in.varint(tensorEnd);
                            } else if (field(u) == TENSOR_TYPE_SHAPE && wire(u) == ProtoChannel.WIRE_LEN) {
                                dims.clear();
                                shape(in.lengthEnd(tensorEnd), dims);
                            } else {
                                in.skip(wire(u), tensorEnd);
                            }
                        }
                    } else {
                        in.skip(wire(t), typeEnd); // sequence, map, optional, sparse: no tensor type
                    }
                }
            } else {
                in.skip(wire(tag), end);
            }
        }
        return new OnnxSignature.Value(name, elemType, dims);
    }

    private void shape(long end, List<OnnxSignature.Dim> dims) {
        while (in.position() < end) {
            long tag = in.tag(end);
            if (field(tag) != SHAPE_DIM || wire(tag) != ProtoChannel.WIRE_LEN) {
                in.skip(wire(tag), end);
                continue;
            }
            if (dims.size() >= MAX_DIMS) {
                throw in.bad("a shape with more than " + MAX_DIMS + " dimensions");
            }
            long dimEnd = in.lengthEnd(end);
            long value = -1;
            String param = "";
            while (in.position() < dimEnd) {
                long t = in.tag(dimEnd);
                if (field(t) == DIM_VALUE && wire(t) == ProtoChannel.WIRE_VARINT) {
                    value = in.varint(dimEnd); // negative values (invalid in ONNX) read as unknown, as ONNX Runtime does
                    param = "";
                } else if (field(t) == DIM_PARAM && wire(t) == ProtoChannel.WIRE_LEN) {
                    param = in.string(dimEnd, MAX_NAME);
                    value = -1;
                } else {
                    in.skip(wire(t), dimEnd);
                }
            }
            dims.add(new OnnxSignature.Dim(value < 0 ? -1 : value, param));
        }
    }

    private void sparse(long end) {
        while (in.position() < end) {
            long tag = in.tag(end);
            if (field(tag) == SPARSE_VALUES && wire(tag) == ProtoChannel.WIRE_LEN) {
                tensor(in.lengthEnd(end));
            } else {
                in.skip(wire(tag), end);
            }
        }
    }

    /** An initializer: its name (not an input), its inline data's size, its external-data entries. */
    private void tensor(long end) {
        String name = "";
        int dataType = 0;
        List<Long> dims = new ArrayList<>();
        String location = null;
        long offset = 0;
        long length = -1;
        boolean externalLocation = false;
        while (in.position() < end) {
            long tag = in.tag(end);
            int field = field(tag);
            int wire = wire(tag);
            if (field == TENSOR_NAME && wire == ProtoChannel.WIRE_LEN) {
                name = in.string(end, MAX_NAME);
            } else if (field == TENSOR_DATA_TYPE && wire == ProtoChannel.WIRE_VARINT) {
                dataType = (int) in.varint(end);
            } else if (field == TENSOR_DIMS && wire == ProtoChannel.WIRE_VARINT) {
                dims.add(in.varint(end));
            } else if (field == TENSOR_DIMS && wire == ProtoChannel.WIRE_LEN) {
                long stop = in.lengthEnd(end);
                while (in.position() < stop) {
                    dims.add(in.varint(stop));
                }
            } else if (field == TENSOR_DATA_LOCATION && wire == ProtoChannel.WIRE_VARINT) {
                externalLocation = in.varint(end) == 1;
            } else if (field == TENSOR_EXTERNAL_DATA && wire == ProtoChannel.WIRE_LEN) {
                String[] kv = entry(in.lengthEnd(end));
                switch (kv[0]) {
                    case "location" -> location = kv[1];
                    case "offset" -> offset = decimal(kv[1], name, "offset");
                    case "length" -> length = decimal(kv[1], name, "length");
                    default -> {
                    }
                }
            } else if (TENSOR_DATA.contains(field)) {
                inlineBytes += in.skip(wire, end);
            } else {
                in.skip(wire, end);
            }
            if (dims.size() > MAX_DIMS) {
                throw in.bad("initializer \"" + OnnxExternalRefs.printable(name) + "\" has more than " + MAX_DIMS
                        + " dimensions");
            }
        }
        initializers++;
        initializerNames.add(name);
        if (externalLocation || location != null) {
            if (!externalLocation || location == null || location.isEmpty()) {
                throw in.bad("initializer \"" + OnnxExternalRefs.printable(name) + "\" has incomplete external data "
                        + "(data_location and location are required)");
            }
            long[] d = new long[dims.size()];
            for (int i = 0; i < d.length; i++) {
                d[i] = dims.get(i);
                if (d[i] < 0) {
                    throw in.bad("initializer \"" + OnnxExternalRefs.printable(name) + "\" has a negative dimension");
                }
            }
            external.add(new GraphSource.ExternalTensor(name, location, offset, length, dataType, d));
        }
    }

    /** A {@code StringStringEntryProto}: key 1, value 2. */
    private String[] entry(long end) {
        String[] kv = {"", ""};
        while (in.position() < end) {
            long tag = in.tag(end);
            int field = field(tag);
            if ((field == 1 || field == 2) && wire(tag) == ProtoChannel.WIRE_LEN) {
                kv[field - 1] = in.string(end, MAX_NAME);
            } else {
                in.skip(wire(tag), end);
            }
        }
        return kv;
    }

    private long decimal(String s, String tensor, String key) {
        if (!s.matches("[0-9]{1,18}")) {
            throw in.bad("initializer \"" + OnnxExternalRefs.printable(tensor) + "\" has an invalid external-data " + key);
        }
        return Long.parseLong(s);
    }

    private static int field(long tag) {
        return (int) (tag >>> 3);
    }

    private static int wire(long tag) {
        return (int) (tag & 7);
    }
}
