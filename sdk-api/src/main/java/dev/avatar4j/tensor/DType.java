package dev.avatar4j.tensor;

/** Element types of tensors exchanged with backends. */
public enum DType {
    /** IEEE 754 single precision. */
    FLOAT32(4),
    /** IEEE 754 half precision (TensorRT FP16 engines). */
    FLOAT16(2),
    /** Signed 64-bit integer (index tables, token ids). */
    INT64(8);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /**
     * The size of one element.
     *
     * @return bytes per element: 4, 2 or 8
     */
    public int byteSize() {
        return byteSize;
    }
}
