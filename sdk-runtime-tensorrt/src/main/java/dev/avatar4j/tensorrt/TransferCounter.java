package dev.avatar4j.tensorrt;

import java.util.concurrent.atomic.AtomicLong;

/** Host↔device bytes a backend moved, over all its sessions and device scopes (for diagnostics). */
final class TransferCounter {
    private final AtomicLong toDevice = new AtomicLong();
    private final AtomicLong toHost = new AtomicLong();

    void add(long in, long out) {
        toDevice.addAndGet(in);
        toHost.addAndGet(out);
    }

    long toDevice() {
        return toDevice.get();
    }

    long toHost() {
        return toHost.get();
    }
}
