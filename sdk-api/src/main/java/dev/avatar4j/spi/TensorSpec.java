package dev.avatar4j.spi;

import dev.avatar4j.tensor.DType;
import java.util.Arrays;
import java.util.Objects;

/**
 * The declared name, element type and shape of a graph input or output.
 *
 * @param name  the tensor's name in the graph
 * @param dtype element type
 * @param shape dimensions; {@code -1} marks a dynamic (symbolic) dimension
 */
public record TensorSpec(String name, DType dtype, long[] shape) {
    public TensorSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Whether a concrete shape fits this spec (same rank, equal fixed dimensions). */
    public boolean accepts(long[] concrete) {
        if (concrete.length != shape.length) {
            return false;
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] >= 0 && shape[i] != concrete[i]) {
                return false;
            }
        }
        return true;
    }

    /** Human-readable shape with {@code ?} for dynamic dimensions, e.g. {@code [?,16,?,?,?]}. */
    public String shapeString() {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            b.append(i == 0 ? "" : ",").append(shape[i] < 0 ? "?" : Long.toString(shape[i]));
        }
        return b.append(']').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape));
    }

    @Override
    public String toString() {
        return name + ":" + dtype + shapeString();
    }
}
