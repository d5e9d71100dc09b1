package dev.avatar4j.tensorrt;

import dev.avatar4j.BackendException;
import dev.avatar4j.tensorrt.ffi.AvatarTrt;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Checked helpers over the jextract bindings: status codes become {@link BackendException}s. */
final class Shim {
    /** Bytes of the per-call message buffer. */
    static final long ERR_CAP = 1024;

    private Shim() {
    }

    /** Throws the mapped exception when {@code rc} is not {@code A4J_OK}. */
    static void check(int rc, MemorySegment err, String operation) {
        if (rc != AvatarTrt.A4J_OK()) {
            throw TrtStatus.exception(operation, rc, err.getString(0));
        }
    }

    /**
     * What the shim reports about this machine.
     *
     * @param tensorRtVersion  e.g. 101500 for 10.15.0
     * @param cudaRuntime      e.g. 12080 for 12.8
     * @param deviceCount      visible CUDA devices
     * @param deviceName       device 0's name (empty without a device)
     * @param computeCapability device 0's compute capability, e.g. {@code 8.9}
     */
    record Machine(int tensorRtVersion, int cudaRuntime, int deviceCount, String deviceName, String computeCapability) {
        String tensorRt() {
            return (tensorRtVersion / 10000) + "." + (tensorRtVersion / 100 % 100) + "." + (tensorRtVersion % 100);
        }

        String cuda() {
            return (cudaRuntime / 1000) + "." + (cudaRuntime % 1000 / 10);
        }
    }

    /**
     * Queries versions and device 0.
     *
     * @throws BackendException naming the failing CUDA call, or saying that no device is visible
     */
    static Machine machine() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(ERR_CAP);
            MemorySegment trt = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment cuda = a.allocate(ValueLayout.JAVA_INT);
            check(AvatarTrt.a4j_versions(trt, cuda, err, ERR_CAP), err, "version query");
            MemorySegment count = a.allocate(ValueLayout.JAVA_INT);
            check(AvatarTrt.a4j_device_count(count, err, ERR_CAP), err, "device query");
            int n = count.get(ValueLayout.JAVA_INT, 0);
            if (n <= 0) {
                throw new BackendException("no CUDA device is visible (cudaGetDeviceCount returned " + n
                        + "; check the NVIDIA driver and CUDA_VISIBLE_DEVICES)");
            }
            MemorySegment major = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment minor = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment name = a.allocate(256);
            check(AvatarTrt.a4j_device_info(0, major, minor, name, 256, err, ERR_CAP), err, "device 0 query");
            return new Machine(trt.get(ValueLayout.JAVA_INT, 0), cuda.get(ValueLayout.JAVA_INT, 0), n,
                    name.getString(0), major.get(ValueLayout.JAVA_INT, 0) + "." + minor.get(ValueLayout.JAVA_INT, 0));
        }
    }
}
