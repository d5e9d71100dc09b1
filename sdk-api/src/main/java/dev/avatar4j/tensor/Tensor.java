package dev.avatar4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A dense, row-major tensor in off-heap memory (native byte order).
 *
 * <p>A tensor's memory has one of three owners:
 * <ul>
 *   <li>a {@link TensorScope} ({@link TensorScope#allocate} and friends): freed when the scope
 *       closes, all at once with the scope's other tensors; {@code close()} does nothing. This is
 *       how engine code makes tensors (one scope per generation, window or model call).</li>
 *   <li>the tensor itself ({@link #allocate}, {@link #ofFloats}, {@link #ofLongs}): freed by
 *       {@link #close()}; for a tensor whose life matches no scope.</li>
 *   <li>someone else ({@link #wrap}): a view, {@code close()} does nothing.</li>
 * </ul>
 * Tensors are not thread-safe for concurrent writes; reading from many threads is fine.
 */
public final class Tensor implements AutoCloseable {
    /**
     * Owners of tensor memory (owning tensors and open {@link TensorScope}s) not yet closed,
     * process-wide, and the bytes they hold. For leak tests only (read through the test helper
     * {@code dev.avatar4j.tensor.TensorLeaks}); a few atomic additions per allocation and close.
     */
    private static final AtomicLong LIVE = new AtomicLong();
    private static final AtomicLong LIVE_BYTES = new AtomicLong();

    private final DType dtype;
    private final long[] shape;
    private final MemorySegment segment;
    private final Arena arena; // null for views and scope tensors
    private final boolean scoped;

    private Tensor(DType dtype, long[] shape, MemorySegment segment, Arena arena) {
        this(dtype, shape, segment, arena, false);
    }

    private Tensor(DType dtype, long[] shape, MemorySegment segment, Arena arena, boolean scoped) {
        this.dtype = dtype;
        this.shape = shape;
        this.segment = segment;
        this.arena = arena;
        this.scoped = scoped;
    }

    /**
     * Allocates a zero-filled tensor that owns its memory (a shared arena: usable from any thread,
     * freed by {@link #close()}).
     *
     * @param dtype the element type; not null
     * @param shape the dimensions, each at least 0 (none for a scalar); copied
     * @return the new owning tensor; the caller must close it
     * @throws IllegalArgumentException if a dimension is negative
     * @throws ArithmeticException if the size in bytes overflows a {@code long}
     * @throws OutOfMemoryError if the native memory cannot be allocated
     */
    public static Tensor allocate(DType dtype, long... shape) {
        Objects.requireNonNull(dtype, "dtype");
        long[] s = checkShape(shape);
        long bytes = Math.multiplyExact(elementCount(s), dtype.byteSize());
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg = ZeroedMemory.allocate(arena, bytes);
            Tensor t = new Tensor(dtype, s, seg.asSlice(0, bytes), arena);
            ownerOpened(bytes);
            return t;
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Wraps existing memory without taking ownership: the view is valid as long as {@code segment}
     * is, and {@link #close()} does not free it. The data is read in native byte order.
     *
     * @param segment the memory, at least {@code elementCount(shape) * dtype.byteSize()} bytes
     *                (the view covers exactly that many from its start); not null
     * @param dtype the element type; not null
     * @param shape the dimensions, each at least 0 (none for a scalar); copied
     * @return a view over {@code segment}
     * @throws IllegalArgumentException if a dimension is negative or {@code segment} is too small
     */
    public static Tensor wrap(MemorySegment segment, DType dtype, long... shape) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(dtype, "dtype");
        long[] s = checkShape(shape);
        long bytes = Math.multiplyExact(elementCount(s), dtype.byteSize());
        if (segment.byteSize() < bytes) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes is too small for shape "
                    + Arrays.toString(s) + " of " + dtype);
        }
        return new Tensor(dtype, s, segment.asSlice(0, bytes), null);
    }

    /**
     * A float32 tensor holding a copy of {@code values}.
     *
     * @param values the elements in row-major order; exactly {@code elementCount(shape)} of them
     * @param shape the dimensions, each at least 0 (none for a scalar); copied
     * @return a new owning tensor; the caller must close it
     * @throws IllegalArgumentException if the number of values does not match the shape, or a
     *                                  dimension is negative
     */
    public static Tensor ofFloats(float[] values, long... shape) {
        Tensor t = allocate(DType.FLOAT32, shape);
        if (t.elementCount() != values.length) {
            t.close();
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + t.elementCount()
                    + " values, got " + values.length);
        }
        MemorySegment.copy(values, 0, t.segment, ValueLayout.JAVA_FLOAT, 0, values.length);
        return t;
    }

    /**
     * An int64 tensor holding a copy of {@code values}.
     *
     * @param values the elements in row-major order; exactly {@code elementCount(shape)} of them
     * @param shape the dimensions, each at least 0 (none for a scalar); copied
     * @return a new owning tensor; the caller must close it
     * @throws IllegalArgumentException if the number of values does not match the shape, or a
     *                                  dimension is negative
     */
    public static Tensor ofLongs(long[] values, long... shape) {
        Tensor t = allocate(DType.INT64, shape);
        if (t.elementCount() != values.length) {
            t.close();
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + t.elementCount()
                    + " values, got " + values.length);
        }
        MemorySegment.copy(values, 0, t.segment, ValueLayout.JAVA_LONG, 0, values.length);
        return t;
    }

    /** A tensor over memory of a {@link TensorScope} (freed with the scope; {@code close()} does nothing). */
    static Tensor scoped(DType dtype, long[] shape, MemorySegment segment) {
        return new Tensor(dtype, shape, segment, null, true);
    }

    static long[] checkShape(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
        }
        return shape.clone();
    }

    /**
     * Number of elements of a shape.
     *
     * @param shape the dimensions
     * @return the product of the dimensions: 1 for a scalar (empty shape), 0 if any dimension is 0
     * @throws ArithmeticException if the product overflows a {@code long}
     */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * The element type.
     *
     * @return the type of every element
     */
    public DType dtype() {
        return dtype;
    }

    /**
     * The shape.
     *
     * @return a copy of the dimensions (empty for a scalar), free to modify
     */
    public long[] shape() {
        return shape.clone();
    }

    /**
     * One dimension of the shape.
     *
     * @param i the axis, 0 to {@code rank() - 1}
     * @return the size of axis {@code i}
     * @throws ArrayIndexOutOfBoundsException if {@code i} is not a valid axis
     */
    public long dim(int i) {
        return shape[i];
    }

    /**
     * The number of dimensions.
     *
     * @return the rank, 0 for a scalar
     */
    public int rank() {
        return shape.length;
    }

    /**
     * The number of elements.
     *
     * @return the product of the dimensions (1 for a scalar)
     */
    public long elementCount() {
        return elementCount(shape);
    }

    /**
     * The size of the data.
     *
     * @return size in bytes: {@code elementCount() * dtype().byteSize()}
     */
    public long byteSize() {
        return segment.byteSize();
    }

    /**
     * The memory of this tensor, for zero-copy exchange with native code.
     *
     * @return the segment, exactly {@link #byteSize()} bytes; not valid after an owning tensor (or the scope of a scoped one) is
     *         closed
     */
    public MemorySegment segment() {
        return segment;
    }

    /**
     * The memory as a {@link ByteBuffer} (zero-copy).
     *
     * @return a direct buffer over the same memory, in native byte order, {@link #byteSize()} bytes
     */
    public ByteBuffer asByteBuffer() {
        return segment.asByteBuffer().order(ByteOrder.nativeOrder());
    }

    /**
     * Reads one element as a float (float16 is widened exactly; int64 is rounded to the nearest
     * float).
     *
     * @param i the flat (row-major) index, 0 to {@code elementCount() - 1}
     * @return the element's value
     * @throws IndexOutOfBoundsException if {@code i} is out of range
     * @throws IllegalStateException if an owning tensor has been closed
     */
    public float getFloat(long i) {
        return switch (dtype) {
            case FLOAT32 -> segment.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            case FLOAT16 -> Float.float16ToFloat(segment.getAtIndex(ValueLayout.JAVA_SHORT, i));
            case INT64 -> segment.getAtIndex(ValueLayout.JAVA_LONG, i);
        };
    }

    /**
     * Writes one element from a float, converted to the tensor's type (rounded to the nearest
     * float16; truncated toward zero for int64).
     *
     * @param i the flat (row-major) index, 0 to {@code elementCount() - 1}
     * @param v the value
     * @throws IndexOutOfBoundsException if {@code i} is out of range
     * @throws IllegalStateException if an owning tensor has been closed
     */
    public void setFloat(long i, float v) {
        switch (dtype) {
            case FLOAT32 -> segment.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            case FLOAT16 -> segment.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(v));
            case INT64 -> segment.setAtIndex(ValueLayout.JAVA_LONG, i, (long) v);
        }
    }

    /**
     * Copies all elements to a new float array, converted as by {@link #getFloat(long)}.
     *
     * @return the elements in row-major order
     * @throws IllegalStateException if the tensor has more than {@link Integer#MAX_VALUE} elements,
     *                               or an owning tensor has been closed
     */
    public float[] toFloatArray() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalStateException("tensor too large for a Java array: " + n + " elements");
        }
        if (dtype == DType.FLOAT32) {
            return segment.toArray(ValueLayout.JAVA_FLOAT);
        }
        float[] out = new float[(int) n];
        for (int i = 0; i < out.length; i++) {
            out[i] = getFloat(i);
        }
        return out;
    }

    /**
     * Whether this tensor owns its memory.
     *
     * @return {@code true} if created by {@link #allocate} (or {@code ofFloats}/{@code ofLongs}) and
     *         freed by {@link #close()}; {@code false} for a view made by {@link #wrap} and for a
     *         tensor of a {@link TensorScope} (freed with the scope)
     */
    public boolean ownsMemory() {
        return arena != null;
    }

    /** Frees owned memory; a no-op for views and tensors of a {@link TensorScope}. Idempotent. */
    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) {
            arena.close(); // a racing second close throws here, so the count stays exact
            ownerClosed(segment.byteSize());
        }
    }

    /** An owner of tensor memory (an owning tensor of {@code bytes}, or a scope with 0) was made. */
    static void ownerOpened(long bytes) {
        LIVE.incrementAndGet();
        LIVE_BYTES.addAndGet(bytes);
    }

    /** A scope allocated {@code bytes} more. */
    static void allocatedInScope(long bytes) {
        LIVE_BYTES.addAndGet(bytes);
    }

    /** An owner closed, freeing {@code bytes}. */
    static void ownerClosed(long bytes) {
        LIVE.decrementAndGet();
        LIVE_BYTES.addAndGet(-bytes);
    }

    /** Owners of tensor memory not yet closed, process-wide (for leak tests). */
    static long liveCount() {
        return LIVE.get();
    }

    /** Bytes of tensor memory not yet freed, process-wide (for leak tests). */
    static long liveBytes() {
        return LIVE_BYTES.get();
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + (scoped ? ", scoped]" : arena == null ? ", view]" : "]");
    }
}
