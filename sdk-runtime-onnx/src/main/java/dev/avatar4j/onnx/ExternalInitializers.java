package dev.avatar4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.avatar4j.BundleException;
import dev.avatar4j.spi.GraphSource;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The external-data initializers of one graph, read into memory from verified bytes and wrapped as
 * ONNX Runtime tensors for {@code SessionOptions.addExternalInitializers}: each external file is read
 * once into a shared arena (its digest checked on the bytes read), and each initializer is a
 * zero-copy tensor over its slice. Closing releases the tensors, then the memory; the owning session
 * closes it after the ONNX Runtime session.
 */
final class ExternalInitializers implements AutoCloseable {
    private final Arena arena;
    private final Map<String, OnnxTensorLike> tensors;

    private ExternalInitializers(Arena arena, Map<String, OnnxTensorLike> tensors) {
        this.arena = arena;
        this.tensors = tensors;
    }

    /**
     * Reads the external data of {@code graph}.
     *
     * @throws BundleException when a file changed since it was verified, or an initializer's type,
     *                         shape or extent is unusable
     * @throws OrtException    when ONNX Runtime refuses a tensor
     */
    static ExternalInitializers load(OrtEnvironment env, GraphSource graph) throws OrtException {
        Arena arena = Arena.ofShared();
        Map<String, OnnxTensorLike> out = new LinkedHashMap<>();
        try {
            Map<String, MemorySegment> files = new HashMap<>();
            for (GraphSource.ExternalFile f : graph.externalFiles()) {
                files.put(f.location(), f.load(arena));
            }
            for (GraphSource.ExternalTensor t : graph.externalTensors()) {
                MemorySegment file = files.get(t.location());
                OnnxJavaType type = javaType(graph, t);
                long bytes = byteSize(graph, t, type);
                if (t.length() >= 0 && t.length() != bytes) {
                    throw bad(graph, t, "its external-data length " + t.length() + " does not match its shape and type ("
                            + bytes + " bytes)");
                }
                if (t.offset() > file.byteSize() || bytes > file.byteSize() - t.offset()) {
                    throw bad(graph, t, "it lies beyond the end of \"" + t.location() + "\"");
                }
                if (bytes > Integer.MAX_VALUE - 8) {
                    throw bad(graph, t, "it is larger than 2 GB, which ONNX Runtime Java cannot take from memory");
                }
                if (out.containsKey(t.name())) {
                    throw bad(graph, t, "the name is used twice");
                }
                ByteBuffer buf = file.asSlice(t.offset(), bytes).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                out.put(t.name(), OnnxTensor.createTensor(env, buf, t.dims(), type));
            }
        } catch (OrtException | RuntimeException | Error e) {
            closeAll(out);
            arena.close();
            throw e;
        }
        return new ExternalInitializers(arena, Map.copyOf(out));
    }

    private static OnnxJavaType javaType(GraphSource g, GraphSource.ExternalTensor t) {
        return switch (t.dataType()) {
            case 1 -> OnnxJavaType.FLOAT;
            case 2 -> OnnxJavaType.UINT8;
            case 3 -> OnnxJavaType.INT8;
            case 5 -> OnnxJavaType.INT16;
            case 6 -> OnnxJavaType.INT32;
            case 7 -> OnnxJavaType.INT64;
            case 9 -> OnnxJavaType.BOOL;
            case 10 -> OnnxJavaType.FLOAT16;
            case 11 -> OnnxJavaType.DOUBLE;
            case 16 -> OnnxJavaType.BFLOAT16;
            default -> throw bad(g, t, "its element type (ONNX data type " + t.dataType()
                    + ") is not supported in external data");
        };
    }

    private static long byteSize(GraphSource g, GraphSource.ExternalTensor t, OnnxJavaType type) {
        long n = type.size;
        try {
            for (long d : t.dims()) {
                n = Math.multiplyExact(n, d);
            }
        } catch (ArithmeticException e) {
            throw bad(g, t, "its shape is impossibly large");
        }
        return n;
    }

    private static BundleException bad(GraphSource g, GraphSource.ExternalTensor t, String why) {
        return new BundleException("graph " + g.path() + ": initializer \"" + printable(t.name()) + "\" in external data"
                + " cannot be loaded: " + why);
    }

    /** As the bundle's own escaping: control and format characters (a right-to-left override) escaped. */
    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 100; i++) {
            char c = s.charAt(i);
            boolean hidden = Character.isISOControl(c) || Character.getType(c) == Character.FORMAT;
            b.append(hidden ? String.format("\\u%04x", (int) c) : String.valueOf(c));
        }
        return b.toString();
    }

    /** The tensors by initializer name, for {@code addExternalInitializers}. */
    Map<String, OnnxTensorLike> tensors() {
        return tensors;
    }

    private static void closeAll(Map<String, OnnxTensorLike> tensors) {
        for (OnnxTensorLike t : tensors.values()) {
            t.close();
        }
    }

    @Override
    public void close() {
        closeAll(tensors);
        arena.close();
    }
}
