package dev.avatar4j.tensorrt;

import dev.avatar4j.tensorrt.ffi.AvatarTrt;
import dev.avatar4j.tensorrt.ffi.a4j_log_fn;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bridge from TensorRT's logger to SLF4J (logger name {@code dev.avatar4j.tensorrt.TensorRT}).
 *
 * <p>One native logger per process, as TensorRT itself keeps one: the upcall stub and the native
 * logger live in the global arena and are never freed. The upcall may run on any native thread and
 * never throws back into native code.
 */
final class TrtLogger {
    private static final Logger log = LoggerFactory.getLogger("dev.avatar4j.tensorrt.TensorRT");
    private static final CopyOnWriteArrayList<BiConsumer<Integer, String>> taps = new CopyOnWriteArrayList<>();
    private static MemorySegment handle;

    private TrtLogger() {
    }

    /** The process-wide native logger, created on first use (the shim must be loaded). */
    static synchronized MemorySegment handle() {
        if (handle == null) {
            MemorySegment stub = a4j_log_fn.allocate(TrtLogger::onMessage, Arena.global());
            int min = log.isDebugEnabled() ? AvatarTrt.A4J_LOG_VERBOSE()
                    : log.isInfoEnabled() ? AvatarTrt.A4J_LOG_INFO() : AvatarTrt.A4J_LOG_WARNING();
            MemorySegment out = Arena.global().allocate(ValueLayout.ADDRESS);
            try (Arena call = Arena.ofConfined()) {
                MemorySegment err = call.allocate(Shim.ERR_CAP);
                int rc = AvatarTrt.a4j_logger_create(stub, MemorySegment.NULL, min, out, err, Shim.ERR_CAP);
                Shim.check(rc, err, "create logger");
            }
            handle = out.get(ValueLayout.ADDRESS, 0);
        }
        return handle;
    }

    /** Adds an observer of every message (tests); returns the action that removes it. */
    static AutoCloseable tap(BiConsumer<Integer, String> observer) {
        taps.add(observer);
        return () -> taps.remove(observer);
    }

    /** The upcall: must never throw. */
    static void onMessage(MemorySegment user, int severity, MemorySegment message) {
        try {
            String text = message.equals(MemorySegment.NULL) ? "" : message.reinterpret(65_536).getString(0);
            switch (severity) {
                case 0, 1 -> log.error(text);
                case 2 -> log.warn(text);
                case 3 -> log.info(text);
                default -> log.debug(text);
            }
            for (BiConsumer<Integer, String> t : taps) {
                try {
                    t.accept(severity, text);
                } catch (RuntimeException e) {
                    log.warn("TensorRT log observer failed: {}", e.toString());
                }
            }
        } catch (Throwable t) { // an exception escaping an upcall would crash the JVM
            try {
                log.warn("TensorRT log message dropped: {}", t.toString());
            } catch (Throwable ignored) {
                // nothing more can be done safely on a native thread
            }
        }
    }
}
