package dev.avatar4j.tensor;

/** Test access to {@link Tensor}'s count of live owning tensors, for leak tests. */
public final class TensorLeaks {
    private TensorLeaks() {
    }

    /** Owning tensors allocated and not yet closed in this JVM. */
    public static long live() {
        return Tensor.liveCount();
    }
}
