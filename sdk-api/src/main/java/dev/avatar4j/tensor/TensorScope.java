package dev.avatar4j.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A lifetime for tensors: everything made in a scope lives until the scope closes, and closing it
 * frees all of it at once (one {@link Arena}).
 *
 * <p>Code that makes tensors opens a scope for the span they are needed (a generation, a window, a
 * segment, one model call), makes them with {@link #allocate}, {@link #ofFloats} or
 * {@link #ofLongs}, and closes the scope once, instead of closing each tensor on every path. Other
 * resources whose life is the same span (a graph result, a graph session, a sub-scope) are
 * {@linkplain #attach attached} and closed with it. Like DJL's {@code NDManager.newSubManager()}:
 * a {@linkplain #newSubScope() sub-scope} is a shorter span inside this one, freed early by its
 * own {@code close()} or, at the latest, with its parent.
 *
 * <p>Tensors of a scope are not freed one by one: their {@link Tensor#close()} does nothing, and
 * reading or writing them after the scope closed throws {@link IllegalStateException} (never a
 * crash). A scope may be used from several threads; closing it while another thread still uses
 * its tensors is a programming error that the memory checks turn into that exception.
 */
public final class TensorScope implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final TensorScope parent;
    /** Attached resources in attachment order; closed in reverse. Guarded by {@code this}. */
    private final List<AutoCloseable> attached = new ArrayList<>();
    private long bytes; // guarded by this
    private boolean closed; // guarded by this

    private TensorScope(TensorScope parent) {
        this.parent = parent;
        Tensor.ownerOpened(0);
    }

    /**
     * Opens a new root scope.
     *
     * @return an open scope; the caller closes it
     */
    public static TensorScope open() {
        return new TensorScope(null);
    }

    /**
     * Opens a scope for a shorter span inside this one. It can be closed on its own (freeing its
     * tensors early); if it is still open when this scope closes, it is closed then.
     *
     * @return an open sub-scope
     * @throws IllegalStateException if this scope is closed
     */
    public TensorScope newSubScope() {
        TensorScope child = new TensorScope(this);
        synchronized (this) {
            if (closed) {
                child.close();
                throw new IllegalStateException("tensor scope is closed");
            }
            attached.add(child);
        }
        return child;
    }

    /**
     * Allocates a zero-filled tensor whose memory lives until this scope closes.
     *
     * @param dtype the element type; not null
     * @param shape the dimensions, each at least 0 (none for a scalar); copied
     * @return the new tensor, owned by this scope
     * @throws IllegalArgumentException if a dimension is negative
     * @throws IllegalStateException if this scope is closed
     * @throws OutOfMemoryError if the native memory cannot be allocated
     */
    public Tensor allocate(DType dtype, long... shape) {
        Objects.requireNonNull(dtype, "dtype");
        long[] s = Tensor.checkShape(shape);
        long size = Math.multiplyExact(Tensor.elementCount(s), dtype.byteSize());
        MemorySegment seg;
        synchronized (this) {
            checkOpen();
            seg = ZeroedMemory.allocate(arena, size);
            bytes += size;
        }
        Tensor.allocatedInScope(size);
        return Tensor.scoped(dtype, s, seg.asSlice(0, size));
    }

    /**
     * A float32 tensor of this scope holding a copy of {@code values}.
     *
     * @param values the elements in row-major order; exactly {@code elementCount(shape)} of them
     * @param shape the dimensions; copied
     * @return the new tensor, owned by this scope
     * @throws IllegalArgumentException if the number of values does not match the shape
     * @throws IllegalStateException if this scope is closed
     */
    public Tensor ofFloats(float[] values, long... shape) {
        checkCount(values.length, shape);
        Tensor t = allocate(DType.FLOAT32, shape);
        MemorySegment.copy(values, 0, t.segment(), ValueLayout.JAVA_FLOAT, 0, values.length);
        return t;
    }

    /**
     * An int64 tensor of this scope holding a copy of {@code values}.
     *
     * @param values the elements in row-major order; exactly {@code elementCount(shape)} of them
     * @param shape the dimensions; copied
     * @return the new tensor, owned by this scope
     * @throws IllegalArgumentException if the number of values does not match the shape
     * @throws IllegalStateException if this scope is closed
     */
    public Tensor ofLongs(long[] values, long... shape) {
        checkCount(values.length, shape);
        Tensor t = allocate(DType.INT64, shape);
        MemorySegment.copy(values, 0, t.segment(), ValueLayout.JAVA_LONG, 0, values.length);
        return t;
    }

    private static void checkCount(int values, long[] shape) {
        long n = Tensor.elementCount(Tensor.checkShape(shape));
        if (n != values) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " values, got "
                    + values);
        }
    }

    /**
     * Makes {@code resource} live as long as this scope: it is closed when the scope closes
     * (resources in the reverse order of attachment, then the scope's own tensors). Typical
     * resources: a {@link dev.avatar4j.spi.GraphSession.Result}, a graph session, a tensor made
     * elsewhere.
     *
     * @param resource the resource; not null
     * @param <T> its type
     * @return {@code resource}, for chaining ({@code scope.attach(session.run(...)).get("y")})
     * @throws IllegalStateException if this scope is closed (the resource is closed first)
     */
    public <T extends AutoCloseable> T attach(T resource) {
        Objects.requireNonNull(resource, "resource");
        synchronized (this) {
            if (!closed) {
                attached.add(resource);
                return resource;
            }
        }
        try {
            resource.close();
        } catch (Exception e) {
            // the caller learns that the scope is closed; the resource is gone either way
        }
        throw new IllegalStateException("tensor scope is closed");
    }

    /**
     * Whether the scope is still open.
     *
     * @return {@code false} once {@link #close()} has begun
     */
    public synchronized boolean isOpen() {
        return !closed;
    }

    /**
     * Bytes of tensor memory made directly in this scope (not in sub-scopes or attached resources).
     *
     * @return the sum of the sizes of the tensors allocated here; 0 after close
     */
    public synchronized long byteSize() {
        return closed ? 0 : bytes;
    }

    /**
     * Closes the attached resources and sub-scopes (newest first), then frees every tensor made in
     * this scope. Idempotent. If a resource fails to close, the others are still closed and the
     * memory still freed; the first failure is rethrown afterwards (unchecked as is, checked
     * wrapped in an {@link IllegalStateException}).
     */
    @Override
    public void close() {
        List<AutoCloseable> toClose;
        long freed;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toClose = new ArrayList<>(attached);
            attached.clear();
            freed = bytes;
            bytes = 0;
        }
        Throwable failure = null;
        for (int i = toClose.size() - 1; i >= 0; i--) {
            try {
                toClose.get(i).close();
            } catch (Throwable e) {
                if (failure == null) {
                    failure = e;
                } else if (failure != e) {
                    failure.addSuppressed(e);
                }
            }
        }
        try {
            arena.close();
        } finally {
            Tensor.ownerClosed(freed);
            if (parent != null) {
                parent.detach(this);
            }
        }
        if (failure instanceof RuntimeException re) {
            throw re;
        }
        if (failure instanceof Error err) {
            throw err;
        }
        if (failure != null) {
            throw new IllegalStateException("closing a resource of a tensor scope failed: " + failure, failure);
        }
    }

    private synchronized void detach(AutoCloseable child) {
        // identity: resources may override equals
        for (int i = attached.size() - 1; i >= 0; i--) {
            if (attached.get(i) == child) {
                attached.remove(i);
                return;
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("tensor scope is closed");
        }
    }

    @Override
    public synchronized String toString() {
        return "TensorScope[" + (closed ? "closed" : bytes + " bytes, " + attached.size() + " attached") + "]";
    }
}
