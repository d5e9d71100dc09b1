package dev.avatar4j.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.TensorInfo;
import dev.avatar4j.tensor.DType;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Type mapping between avatar4j and ONNX Runtime Java, and read access to the memory of tensors
 * that ONNX Runtime allocated (graph outputs).
 *
 * <p><b>Why a private method.</b> ONNX Runtime Java 1.29 exposes an output's data only through
 * {@code OnnxTensor.getByteBuffer()/getFloatBuffer()…}, which each copy the native memory into a new
 * <em>heap</em> buffer; copying that into an off-heap {@link dev.avatar4j.tensor.Tensor} would be a
 * second full copy plus a large garbage array per output. The private {@code OnnxTensor.getBuffer()}
 * returns a direct {@link ByteBuffer} over the native data itself (JNI {@code NewDirectByteBuffer}),
 * which allows exactly one memcpy into the caller's tensor. It is looked up once; if a future ONNX
 * Runtime renames it or a module configuration denies access, {@link #nativeView} falls back to the
 * public copying accessor and the result stays correct (the test suite asserts the fast path on the
 * pinned version). Deep reflection works both on the class path and on the module path, where
 * ONNX Runtime is an automatic module and therefore opens all its packages.
 */
final class OrtBuffers {
    private static final Logger LOG = LoggerFactory.getLogger(OrtBuffers.class);
    private static final MethodHandle GET_BUFFER = findGetBuffer();

    private OrtBuffers() {
    }

    private static MethodHandle findGetBuffer() {
        try {
            Method m = OnnxTensor.class.getDeclaredMethod("getBuffer");
            if (m.getReturnType() != ByteBuffer.class) {
                return null;
            }
            m.setAccessible(true);
            return MethodHandles.lookup().unreflect(m).asType(MethodType.methodType(ByteBuffer.class, OnnxTensor.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.debug("OnnxTensor.getBuffer() is not accessible ({}); outputs are copied through a heap buffer", e.toString());
            return null;
        }
    }

    /** Whether outputs are read from the native memory directly (one copy) rather than through a heap copy. */
    static boolean directOutputAccess() {
        return GET_BUFFER != null;
    }

    /**
     * The data of an ONNX Runtime tensor in native byte order: a direct view of its native memory when
     * possible (valid only until the tensor is closed), otherwise a heap copy.
     */
    static ByteBuffer nativeView(OnnxTensor tensor) {
        if (GET_BUFFER != null) {
            try {
                ByteBuffer b = (ByteBuffer) GET_BUFFER.invokeExact(tensor);
                if (b != null) {
                    return b.order(ByteOrder.nativeOrder());
                }
            } catch (RuntimeException e) {
                LOG.debug("direct read of an ONNX Runtime tensor failed, copying instead", e);
            } catch (Throwable e) {
                if (e instanceof Error err) {
                    throw err;
                }
                LOG.debug("direct read of an ONNX Runtime tensor failed, copying instead", e);
            }
        }
        return tensor.getByteBuffer().order(ByteOrder.nativeOrder());
    }

    /** The avatar4j element type of an ONNX element type, or {@code null} when unsupported. */
    static DType dtypeOf(TensorInfo.OnnxTensorType type) {
        return switch (type) {
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> DType.FLOAT32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 -> DType.FLOAT16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> DType.INT64;
            default -> null;
        };
    }

    /** The ONNX Runtime Java type used to create a tensor of {@code dtype} from a buffer. */
    static OnnxJavaType javaTypeOf(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> OnnxJavaType.FLOAT;
            case FLOAT16 -> OnnxJavaType.FLOAT16;
            case INT64 -> OnnxJavaType.INT64;
        };
    }

    /** A short readable name of an ONNX element type, e.g. {@code INT32}. */
    static String onnxTypeName(TensorInfo.OnnxTensorType type) {
        return type.name().replace("ONNX_TENSOR_ELEMENT_DATA_TYPE_", "");
    }
}
