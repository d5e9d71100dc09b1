package dev.avatar4j.tensorrt;

import dev.avatar4j.BackendException;
import dev.avatar4j.tensorrt.ffi.AvatarTrt;

/** The shim's status codes ({@code A4J_*} in {@code avatar4j_trt.h}) and their mapping to exceptions. */
enum TrtStatus {
    OK(AvatarTrt.A4J_OK()),
    INVALID_ARGUMENT(AvatarTrt.A4J_ERR_INVALID_ARGUMENT()),
    CUDA(AvatarTrt.A4J_ERR_CUDA()),
    TENSORRT(AvatarTrt.A4J_ERR_TENSORRT()),
    OUT_OF_MEMORY(AvatarTrt.A4J_ERR_OUT_OF_MEMORY()),
    NOT_FOUND(AvatarTrt.A4J_ERR_NOT_FOUND()),
    INTERNAL(AvatarTrt.A4J_ERR_INTERNAL()),
    UNKNOWN(-1);

    private final int code;

    TrtStatus(int code) {
        this.code = code;
    }

    int code() {
        return code;
    }

    static TrtStatus of(int code) {
        for (TrtStatus s : values()) {
            if (s.code == code && s != UNKNOWN) {
                return s;
            }
        }
        return UNKNOWN;
    }

    /**
     * The exception for a failed shim call.
     *
     * @param operation what was being done, e.g. {@code deserialize engine}
     * @param code      the status returned
     * @param message   the shim's message
     */
    static BackendException exception(String operation, int code, String message) {
        TrtStatus s = of(code);
        String text = "TensorRT " + operation + " failed (" + s.name() + (s == UNKNOWN ? " " + code : "") + "): "
                + (message == null || message.isBlank() ? "no message" : message);
        return new TrtException(s, text);
    }

    /** A {@link BackendException} that keeps the shim's status. */
    static final class TrtException extends BackendException {
        private static final long serialVersionUID = 1L;
        private final transient TrtStatus status;

        TrtException(TrtStatus status, String message) {
            super(message);
            this.status = status;
        }

        TrtStatus status() {
            return status;
        }
    }
}
