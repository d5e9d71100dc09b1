package dev.avatar4j.spi;

import java.util.Objects;

/**
 * The result of asking a backend whether it can run here.
 *
 * @param available whether {@link BackendProvider#create()} is expected to succeed
 * @param detail    what was found (versions, device) or exactly what is missing
 */
public record BackendProbe(boolean available, String detail) {
    public BackendProbe {
        Objects.requireNonNull(detail, "detail");
    }

    public static BackendProbe available(String detail) {
        return new BackendProbe(true, detail);
    }

    public static BackendProbe unavailable(String reason) {
        return new BackendProbe(false, reason);
    }
}
