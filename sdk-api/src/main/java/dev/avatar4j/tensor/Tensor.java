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
 * <p>A tensor either owns its memory (created by {@link #allocate}; freed by {@link #close()}) or
 * is a view over memory owned by someone else ({@link #wrap}; {@code close()} does nothing).
 * Tensors are not thread-safe for concurrent writes; reading from many threads is fine.
 */
public final class Tensor implements AutoCloseable {
    /**
     * Owning tensors allocated and not yet closed, process-wide. For leak tests only (read through
     * the test helper {@code dev.avatar4j.tensor.TensorLeaks}); one atomic increment per allocation
     * and one decrement per close.
     */
    private static final AtomicLong LIVE = new AtomicLong();

    private final DType dtype;
    private final long[] shape;
    private final MemorySegment segment;
    private final Arena arena; // null for views

    private Tensor(DType dtype, long[] shape, MemorySegment segment, Arena arena) {
        this.dtype = dtype;
        this.shape = shape;
        this.segment = segment;
        this.arena = arena;
    }

    /** Allocates a zero-filled tensor that owns its memory. */
    public static Tensor allocate(DType dtype, long... shape) {
        Objects.requireNonNull(dtype, "dtype");
        long[] s = checkShape(shape);
        long bytes = Math.multiplyExact(elementCount(s), dtype.byteSize());
        Arena arena = Arena.ofShared();
        try {
            MemorySegment seg = ZeroedMemory.allocate(arena, bytes);
            Tensor t = new Tensor(dtype, s, seg.asSlice(0, bytes), arena);
            LIVE.incrementAndGet();
            return t;
        } catch (RuntimeException | OutOfMemoryError e) {
            arena.close();
            throw e;
        }
    }

    /** Wraps existing memory without taking ownership; the segment must be at least as large as the shape needs. */
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

    /** A float32 tensor holding a copy of {@code values}. */
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

    /** An int64 tensor holding a copy of {@code values}. */
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

    private static long[] checkShape(long[] shape) {
        Objects.requireNonNull(shape, "shape");
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
        }
        return shape.clone();
    }

    /** Number of elements of a shape (1 for a scalar). */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    public DType dtype() {
        return dtype;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    /** Dimension {@code i} of the shape. */
    public long dim(int i) {
        return shape[i];
    }

    public int rank() {
        return shape.length;
    }

    public long elementCount() {
        return elementCount(shape);
    }

    public long byteSize() {
        return segment.byteSize();
    }

    /** The memory of this tensor, exactly {@link #byteSize()} bytes. */
    public MemorySegment segment() {
        return segment;
    }

    /** A direct {@link ByteBuffer} over the same memory in native order (zero-copy). */
    public ByteBuffer asByteBuffer() {
        return segment.asByteBuffer().order(ByteOrder.nativeOrder());
    }

    /** Reads element {@code i} as float (float16 and int64 are converted). */
    public float getFloat(long i) {
        return switch (dtype) {
            case FLOAT32 -> segment.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            case FLOAT16 -> Float.float16ToFloat(segment.getAtIndex(ValueLayout.JAVA_SHORT, i));
            case INT64 -> segment.getAtIndex(ValueLayout.JAVA_LONG, i);
        };
    }

    /** Writes element {@code i} from a float (rounded to the tensor's type). */
    public void setFloat(long i, float v) {
        switch (dtype) {
            case FLOAT32 -> segment.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            case FLOAT16 -> segment.setAtIndex(ValueLayout.JAVA_SHORT, i, Float.floatToFloat16(v));
            case INT64 -> segment.setAtIndex(ValueLayout.JAVA_LONG, i, (long) v);
        }
    }

    /** Copies all elements to a new float array (converting float16/int64). */
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

    /** Whether this tensor owns (and will free) its memory. */
    public boolean ownsMemory() {
        return arena != null;
    }

    /** Frees owned memory; a no-op for views. Idempotent. */
    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) {
            arena.close(); // a racing second close throws here, so the count stays exact
            LIVE.decrementAndGet();
        }
    }

    /** Owning tensors not yet closed, process-wide (for leak tests). */
    static long liveCount() {
        return LIVE.get();
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + " " + Arrays.toString(shape) + (arena == null ? ", view]" : "]");
    }
}
