package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The test double of the shim (native/testdouble/avatar4j_trt_fake.c, compiled by the Maven build):
 * loads it through {@link NativeLibraryLoader} and reaches its test-only accounting functions.
 */
final class TestDouble {
    static final String PROPERTY = "avatar4j.tensorrt.testdouble";

    /** A network with a dynamic batch: y = x * scale[0] + 0.5, n = element count of x. */
    static final String AFFINE = """
            A4JFAKE
            input x 0 2 -1 4
            input scale 0 1 1
            output y 0 2 -1 4 affine x scale 0.5
            output n 8 1 1 count x
            """;

    private static NativeLibraryLoader.Result result;

    private TestDouble() {
    }

    static synchronized NativeLibraryLoader.Result load() {
        if (result == null) {
            String path = System.getProperty(PROPERTY);
            assertThat(path).as("system property " + PROPERTY + " (set by the Maven build)").isNotBlank();
            result = NativeLibraryLoader.load(path, null, "");
            assertThat(result.loaded()).as(result.reportLine()).isPresent();
        }
        return result;
    }

    static Path path() {
        return Path.of(System.getProperty(PROPERTY));
    }

    /** A provider that skips the file checks and uses the test double. */
    static TensorRtBackendProvider provider(TrtOptions options) {
        load();
        return new TensorRtBackendProvider(java.util.Optional::empty, TestDouble::load, () -> options);
    }

    static TrtOptions options(Path cacheDir, boolean fp16, long max) {
        return new TrtOptions(fp16, 1, Math.min(2, max), max, 0, cacheDir, ProfileRanges.none());
    }

    static Path network(Path dir, String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private static MethodHandle fn(String name, FunctionDescriptor d) {
        load();
        MemorySegment sym = SymbolLookup.loaderLookup().find(name).orElseThrow();
        return Linker.nativeLinker().downcallHandle(sym, d);
    }

    private static final class H {
        static final MethodHandle LIVE_HANDLES = fn("a4j_fake_live_handles", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        static final MethodHandle LIVE_ALLOCS = fn("a4j_fake_live_allocations", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        static final MethodHandle LIVE_BYTES = fn("a4j_fake_live_device_bytes", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        static final MethodHandle MISUSE = fn("a4j_fake_misuse_count", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        static final MethodHandle BUILDS = fn("a4j_fake_build_count", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        static final MethodHandle IN_ENQUEUE = fn("a4j_fake_in_enqueue", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        static final MethodHandle ENQUEUES = fn("a4j_fake_enqueue_count", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
        static final MethodHandle DEVICES = fn("a4j_fake_set_device_count", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
        static final MethodHandle HOLD = fn("a4j_fake_hold_enqueue", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
        static final MethodHandle COPIED = fn("a4j_fake_copied_bytes", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
        static final MethodHandle LOG_THREAD = fn("a4j_fake_log_from_thread",
                FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    }

    private static long call(MethodHandle h) {
        try {
            return (long) h.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static long liveHandles() {
        return call(H.LIVE_HANDLES);
    }

    static long liveAllocations() {
        return call(H.LIVE_ALLOCS);
    }

    static long liveDeviceBytes() {
        return call(H.LIVE_BYTES);
    }

    /** Bytes copied so far, as the double's memcpy functions saw them: 0 host to device, 1 device to host, 2 on the device. */
    static long copiedBytes(int direction) {
        try {
            return (long) H.COPIED.invokeExact(direction);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Host↔device bytes copied so far (both directions). */
    static long hostDeviceBytes() {
        return copiedBytes(0) + copiedBytes(1);
    }

    static long misuse() {
        return call(H.MISUSE);
    }

    static long builds() {
        return call(H.BUILDS);
    }

    static long inEnqueue() {
        return call(H.IN_ENQUEUE);
    }

    static long enqueues() {
        return call(H.ENQUEUES);
    }

    static void setDeviceCount(int n) {
        try {
            H.DEVICES.invokeExact(n);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static void holdEnqueue(boolean on) {
        try {
            H.HOLD.invokeExact(on ? 1 : 0);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static void logFromThread(MemorySegment logger, int severity, MemorySegment message) {
        try {
            H.LOG_THREAD.invokeExact(logger, severity, message);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
