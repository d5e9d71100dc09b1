package dev.avatar4j.tensor;

/**
 * Test access to the process-wide count of tensor memory (owning tensors and open
 * {@link TensorScope}s, and the bytes they hold), for leak tests.
 */
public final class TensorLeaks {
    private TensorLeaks() {
    }

    /** Owning tensors and tensor scopes made and not yet closed in this JVM. */
    public static long live() {
        return Tensor.liveCount();
    }

    /** Bytes of tensor memory (owning tensors and scopes) not yet freed in this JVM. */
    public static long liveBytes() {
        return Tensor.liveBytes();
    }
}
