package dev.avatar4j.backend;

import dev.avatar4j.BackendException;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.spi.DeviceTensor;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.GraphSource;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.Tensor;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/** Opening bundle graphs on a backend, checked against their contracts. */
public final class Sessions {
    private Sessions() {
    }

    /**
     * Opens graph {@code key} of {@code bundle}, checks it against {@code contract} and makes it
     * safe to share: sessions that are not thread-safe are serialised behind a lock.
     */
    public static GraphSession open(Bundle bundle, String key, Backend backend, SessionOptions options,
                                    GraphContract contract) {
        bundle.graphFile(key); // a clear error when the manifest lacks the graph
        GraphSource source = bundle.graph(key, backend.graphVariants()); // the backend's variant, if listed
        Path file = source.path();
        GraphSession s;
        try {
            s = backend.open(source, options); // the verified bytes, never the path
        } catch (BackendException e) {
            throw new BackendException("cannot load graph \"" + key + "\" (" + file.getFileName() + ") on "
                    + backend.name() + ": " + e.getMessage(), e);
        }
        try {
            contract.check(s, file);
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        GraphSession checked = contract.hasOutputs() ? new Checked(s, contract, file) : s;
        return checked.isThreadSafe() ? checked : new Serialized(checked);
    }

    /** Checks every run's outputs against the graph's contract ({@link GraphContract#checkOutputs}). */
    private static final class Checked extends ForwardingGraphSession {
        private final GraphContract contract;
        private final Path file;

        Checked(GraphSession delegate, GraphContract contract, Path file) {
            super(delegate);
            this.contract = contract;
            this.file = file;
        }

        @Override
        public Result run(Map<String, Tensor> inputs, Set<String> outputs) {
            Result results = delegate.run(inputs, outputs);
            try {
                contract.checkOutputs(results, file);
            } catch (RuntimeException e) {
                results.close();
                throw e;
            }
            return results;
        }

        // runInto is forwarded as is: the caller's buffers have the shapes it needs, and backends
        // refuse a run whose outputs do not fit them
    }

    /** Runs a non-thread-safe session one call at a time. */
    private static final class Serialized extends ForwardingGraphSession {
        private final ReentrantLock lock = new ReentrantLock();

        Serialized(GraphSession delegate) {
            super(delegate);
        }

        @Override
        public Result run(Map<String, Tensor> inputs, Set<String> outputs) {
            lock.lock();
            try {
                return delegate.run(inputs, outputs);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void runInto(Map<String, Tensor> inputs, Map<String, Tensor> outputs) {
            lock.lock();
            try {
                delegate.runInto(inputs, outputs);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void run(DeviceScope device, Map<String, DeviceTensor> inputs, Map<String, DeviceTensor> outputs) {
            lock.lock();
            try {
                delegate.run(device, inputs, outputs);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public boolean isThreadSafe() {
            return true;
        }

        @Override
        public void close() {
            lock.lock();
            try {
                delegate.close();
            } finally {
                lock.unlock();
            }
        }
    }
}
