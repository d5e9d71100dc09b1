package dev.avatar4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Zero-filled native memory for large tensors from the C library's {@code calloc}, tied to an arena.
 *
 * <p>Why: {@link Arena#allocate} zeroes every byte it hands out with an explicit memset, which for
 * the 64 MB VAE-encoder input of one generation (81 frames at 256²; 254 MB at 512²) costs 25–35 ms
 * on the generation thread, the single largest item of SDK overhead the benchmark profile showed
 * outside the graph runs. {@code calloc} serves such sizes with fresh {@code mmap} pages that the
 * kernel already zeroed, lazily, so untouched pages (most of that input is zeros the graph only
 * reads) cost nothing.
 *
 * <p>Needs native access for this module (the SDK's backends need it anyway); where it is denied,
 * or the C library cannot be found, allocation falls back to {@link Arena#allocate} with one DEBUG
 * line.
 */
final class ZeroedMemory {
    private static final Logger log = LoggerFactory.getLogger(ZeroedMemory.class);
    /** Below this, an arena's memset is as cheap as a downcall and keeps small tensors in the arena's bookkeeping. */
    static final long THRESHOLD = 1L << 20;
    private static final long ALIGN = 64;
    private static final MethodHandle CALLOC;
    private static final MethodHandle FREE;

    static {
        MethodHandle calloc = null;
        MethodHandle free = null;
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            calloc = linker.downcallHandle(libc.find("calloc").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
            free = linker.downcallHandle(libc.find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        } catch (RuntimeException e) { // IllegalCallerException when native access is denied
            log.debug("calloc unavailable ({}); large tensors are zeroed by the arena", e.toString());
            calloc = null;
            free = null;
        }
        CALLOC = calloc;
        FREE = free;
    }

    private ZeroedMemory() {
    }

    /**
     * {@code bytes} zero bytes aligned to 64, freed when {@code arena} closes.
     *
     * @throws OutOfMemoryError if the C library cannot provide them
     */
    static MemorySegment allocate(Arena arena, long bytes) {
        if (CALLOC == null || bytes < THRESHOLD) {
            return arena.allocate(Math.max(bytes, 1), ALIGN);
        }
        MemorySegment raw;
        try {
            raw = (MemorySegment) CALLOC.invokeExact(1L, bytes + ALIGN);
        } catch (Throwable t) {
            throw new IllegalStateException("calloc failed", t);
        }
        if (raw.address() == 0) {
            throw new OutOfMemoryError("calloc could not provide " + bytes + " bytes of native memory");
        }
        long pad = (ALIGN - (raw.address() % ALIGN)) % ALIGN;
        MemorySegment owned = raw.reinterpret(bytes + ALIGN, arena, ZeroedMemory::free);
        return owned.asSlice(pad, bytes);
    }

    /** Whether large allocations come from {@code calloc} (tests). */
    static boolean usesCalloc() {
        return CALLOC != null;
    }

    private static void free(MemorySegment raw) {
        try {
            FREE.invokeExact(raw);
        } catch (Throwable t) {
            throw new IllegalStateException("free failed", t);
        }
    }
}
