package dev.avatar4j.spi;

import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * A tensor that lives where a backend runs its graphs (GPU memory for TensorRT, host memory for
 * ONNX Runtime CPU), handed out by a {@link DeviceScope} and bound by name to graph inputs and
 * outputs with {@link GraphSession#run(DeviceScope, java.util.Map, java.util.Map)}. It is allocated
 * once and reused across calls: loop-carried state (a streamed decoder's caches, a window's latents)
 * and per-generation constants stay on the device, and the host sees only the bytes it copies in or
 * out explicitly ({@link #copyFrom(MemorySegment)}, {@link #copyTo(MemorySegment)}), which the scope
 * counts ({@link DeviceScope#transfers()}).
 *
 * <p>Memory belongs to the scope and is freed when it closes; a tensor has no {@code close()}.
 * Copies are ordered with the scope's graph runs (one stream per scope); the methods that hand data
 * to the host return when it is there, and those that read host memory return when it may be reused.
 * Not thread-safe: one generation uses its scope from one thread at a time.
 */
public interface DeviceTensor {

    /**
     * The element type.
     *
     * @return the type
     */
    DType dtype();

    /**
     * The shape.
     *
     * @return a copy of the dimensions
     */
    long[] shape();

    /**
     * The size of the data.
     *
     * @return {@code elementCount(shape) * dtype.byteSize()}
     */
    default long byteSize() {
        return Tensor.elementCount(shape()) * dtype().byteSize();
    }

    /**
     * The tensor as host memory, when the device is the host: a backend without device memory binds
     * it directly, and a caller reads results from it without a copy.
     *
     * @return the host tensor over the same memory, or {@code null} when the memory is not host
     *         memory (then only the copy methods reach it)
     */
    Tensor host();

    /**
     * Copies {@code bytes} bytes from the host into this tensor at {@code offset}.
     *
     * @param src    host memory, at least {@code bytes} bytes
     * @param offset byte offset in this tensor
     * @param bytes  how many bytes
     * @throws IndexOutOfBoundsException if the range is outside this tensor or {@code src}
     * @throws dev.avatar4j.BackendException when the device copy fails
     */
    void copyFrom(MemorySegment src, long offset, long bytes);

    /**
     * Copies the whole tensor's bytes from the host.
     *
     * @param src host memory of at least {@link #byteSize()} bytes
     */
    default void copyFrom(MemorySegment src) {
        copyFrom(src, 0, byteSize());
    }

    /**
     * Copies the whole tensor to the host; returns when the bytes are there.
     *
     * @param dst host memory of at least {@link #byteSize()} bytes
     * @throws dev.avatar4j.BackendException when the device copy fails
     */
    void copyTo(MemorySegment dst);

    /**
     * Copies bytes between two tensors of the same scope without passing through the host.
     *
     * @param src       the source (this tensor itself is allowed, for ranges that do not overlap)
     * @param srcOffset byte offset in {@code src}
     * @param offset    byte offset in this tensor
     * @param bytes     how many bytes
     * @throws IllegalArgumentException if {@code src} belongs to another scope
     * @throws IndexOutOfBoundsException if a range is outside its tensor
     */
    void copyFrom(DeviceTensor src, long srcOffset, long offset, long bytes);

    /** Sets every byte to zero, on the device. */
    void clear();

    /**
     * The leading bytes of this tensor as a packed tensor of another shape (no copy), e.g. a window of
     * {@code k} latent frames in a buffer allocated for the longest window.
     *
     * @param shape the view's dimensions; its size must not exceed {@link #byteSize()}
     * @return the view, valid as long as this tensor
     * @throws IllegalArgumentException if the view is larger than this tensor
     */
    DeviceTensor view(long... shape);

    /**
     * The tensor's bytes readable on the host: its own memory when it is host memory (no copy),
     * otherwise copied into {@code staging}.
     *
     * @param staging host memory of at least {@link #byteSize()} bytes, used only when the tensor is
     *                not host memory
     * @return the bytes, exactly {@link #byteSize()} long
     */
    default MemorySegment toHost(MemorySegment staging) {
        Tensor h = host();
        if (h != null) {
            return h.segment();
        }
        MemorySegment dst = staging.asSlice(0, byteSize());
        copyTo(dst);
        return dst;
    }
}
