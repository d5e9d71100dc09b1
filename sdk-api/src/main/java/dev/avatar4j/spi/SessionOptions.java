package dev.avatar4j.spi;

/**
 * Options for opening a graph.
 *
 * @param intraOpThreads threads a backend may use inside one graph run; 0 lets the backend decide
 * @param allowCustomOps whether the backend may load custom-operator libraries named by the graph
 *                       (off by default: bundles are untrusted input)
 */
public record SessionOptions(int intraOpThreads, boolean allowCustomOps) {
    /**
     * Checks the arguments.
     *
     * @param intraOpThreads threads per graph run, at least 0 (0 lets the backend decide)
     * @param allowCustomOps whether custom-operator libraries may be loaded
     * @throws IllegalArgumentException if {@code intraOpThreads} is negative
     */
    public SessionOptions {
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("intraOpThreads must be >= 0, got " + intraOpThreads);
        }
    }

    /**
     * The options of a model loaded without a builder.
     *
     * @return backend-chosen threading, no custom ops
     */
    public static SessionOptions defaults() {
        return new SessionOptions(0, false);
    }
}
