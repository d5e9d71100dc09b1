package dev.avatar4j.spi;

import dev.avatar4j.tensor.DType;
import dev.avatar4j.tensor.Tensor;

/**
 * Device memory and ordering for one generation: the {@link DeviceTensor}s it allocates live until
 * it closes, and its copies and graph runs execute in order (TensorRT: one CUDA stream per scope).
 * Opened with {@link Backend#openDeviceScope()}; a backend whose device is the host (ONNX Runtime
 * CPU) hands out {@link #host()} scopes, whose tensors are plain host tensors bound without copies.
 *
 * <p>The scope counts the bytes its tensors' copy methods move between the host and the device
 * ({@link #transfers()}), so that a test or a benchmark can check what crosses the bus per frame.
 * Used by one thread at a time; close it after the last run that uses its tensors.
 */
public interface DeviceScope extends AutoCloseable {

    /**
     * Bytes moved by this scope's copies.
     *
     * @param toDevice bytes copied from the host into the scope's tensors
     * @param toHost   bytes copied from the scope's tensors to the host
     * @param onDevice bytes copied between tensors of the scope (no host involved)
     */
    record Transfers(long toDevice, long toHost, long onDevice) {
        /**
         * Host↔device bytes in both directions.
         *
         * @return {@code toDevice + toHost}
         */
        public long hostDevice() {
            return toDevice + toHost;
        }

        /**
         * The bytes moved since an earlier reading.
         *
         * @param earlier an earlier reading of the same scope
         * @return the difference, field by field
         */
        public Transfers since(Transfers earlier) {
            return new Transfers(toDevice - earlier.toDevice, toHost - earlier.toHost, onDevice - earlier.onDevice);
        }
    }

    /**
     * A scope whose device is host memory: tensors are zeroed host tensors, {@link DeviceTensor#host()}
     * is never null, and {@link GraphSession#run(DeviceScope, java.util.Map, java.util.Map)} binds
     * them directly ({@link GraphSession#runInto}). Its transfers count the bytes its copy methods
     * copy (memcpy), the same calls that would cross the bus on a device.
     *
     * @return a new scope; the caller closes it
     */
    static DeviceScope host() {
        return new HostDeviceScope();
    }

    /**
     * Where the tensors live, for messages.
     *
     * @return e.g. {@code host} or {@code cuda:0}
     */
    String device();

    /**
     * Allocates a zero-filled tensor that lives until this scope closes.
     *
     * @param dtype the element type
     * @param shape the dimensions
     * @return the tensor
     * @throws dev.avatar4j.BackendException when the device is out of memory
     * @throws IllegalStateException if the scope is closed
     */
    DeviceTensor allocate(DType dtype, long... shape);

    /**
     * Allocates a tensor of {@code host}'s type and shape and copies {@code host} into it (a
     * per-generation constant: uploaded once, bound on every call).
     *
     * @param host the values
     * @return the device tensor
     */
    default DeviceTensor upload(Tensor host) {
        DeviceTensor t = allocate(host.dtype(), host.shape());
        t.copyFrom(host.segment());
        return t;
    }

    /**
     * The bytes this scope's copies moved so far.
     *
     * @return the counters
     */
    Transfers transfers();

    /** Frees every tensor of the scope and its stream. Idempotent. */
    @Override
    void close();
}
