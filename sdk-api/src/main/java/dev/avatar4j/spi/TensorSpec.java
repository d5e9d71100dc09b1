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
    /**
     * Checks the arguments and copies the shape.
     *
     * @param name  the tensor's name in the graph; not null
     * @param dtype element type; not null
     * @param shape dimensions, {@code -1} for a dynamic one; not null, copied
     * @throws NullPointerException if an argument is null
     */
    public TensorSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    /**
     * The declared shape.
     *
     * @return a copy of the dimensions, {@code -1} for a dynamic one
     */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /**
     * The number of dimensions.
     *
     * @return the rank (fixed even when dimensions are dynamic)
     */
    public int rank() {
        return shape.length;
    }

    /**
     * Whether a concrete shape fits this spec.
     *
     * @param concrete the shape of an actual tensor
     * @return {@code true} if it has the same rank and equals every fixed dimension (dynamic ones
     *         accept any size)
     */
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

    /**
     * The shape for messages.
     *
     * @return the shape with {@code ?} for dynamic dimensions, e.g. {@code [?,16,?,?,?]}
     */
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
