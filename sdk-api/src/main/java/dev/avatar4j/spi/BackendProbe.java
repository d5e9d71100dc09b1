package dev.avatar4j.spi;

import java.util.Objects;

/**
 * The result of asking a backend whether it can run here.
 *
 * @param available whether {@link BackendProvider#create()} is expected to succeed
 * @param detail    what was found (versions, device) or exactly what is missing
 */
public record BackendProbe(boolean available, String detail) {
    /**
     * Checks the arguments.
     *
     * @param available whether {@link BackendProvider#create()} is expected to succeed
     * @param detail    what was found, or what is missing; not null
     * @throws NullPointerException if {@code detail} is null
     */
    public BackendProbe {
        Objects.requireNonNull(detail, "detail");
    }

    /**
     * A probe that found the backend usable.
     *
     * @param detail what was found, e.g. the runtime version and the device; not null
     * @return an available probe
     */
    public static BackendProbe available(String detail) {
        return new BackendProbe(true, detail);
    }

    /**
     * A probe that found the backend unusable here.
     *
     * @param reason exactly what is missing (a library, a driver, a device), so that a user can
     *               fix it; not null
     * @return an unavailable probe
     */
    public static BackendProbe unavailable(String reason) {
        return new BackendProbe(false, reason);
    }
}
