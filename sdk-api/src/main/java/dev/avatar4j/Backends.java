package dev.avatar4j;

import dev.avatar4j.backend.BackendRegistry;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.MediaCodec;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What this installation can run on: the inference backends and media codecs found on the class
 * or module path, and which backend a model loads on. For diagnostics (the CLI's {@code doctor})
 * and for applications that want to choose or report a backend before loading a model; loading
 * itself needs none of this ({@link AvatarModel#load} picks the backend).
 *
 * <p>A backend is chosen by name ({@link AvatarModel.Builder#backend}, the system property
 * {@value #PROPERTY}, or the environment variable {@value #ENV}, in that order), or else it is the
 * available backend with the lowest rank.
 */
public final class Backends {
    /** System property naming the backend models load on, e.g. {@code -Davatar4j.backend=onnx}. */
    public static final String PROPERTY = BackendRegistry.BACKEND_PROPERTY;
    /** Environment variable naming the backend models load on, used when the property is not set. */
    public static final String ENV = BackendRegistry.BACKEND_ENV;

    private Backends() {
    }

    /**
     * One installed backend and what its probe found.
     *
     * @param name      the backend's name, e.g. {@code onnx}
     * @param rank      its preference: lower is preferred when no backend is named
     * @param available whether it can run here
     * @param detail    what was found (runtime, device), or exactly what is missing
     */
    public record Status(String name, int rank, boolean available, String detail) {
    }

    /**
     * Probes every installed backend (once per process; later calls return the same results).
     * Probing loads no model and allocates no device memory.
     *
     * @return one status per installed backend, preferred (lowest rank) first; empty when none is
     *         installed
     */
    public static List<Status> probe() {
        BackendRegistry registry = BackendRegistry.global();
        Map<String, BackendProbe> probes = registry.probeAll();
        List<Status> out = new ArrayList<>();
        for (BackendProvider p : registry.providers()) {
            BackendProbe probe = probes.get(p.name());
            out.add(new Status(p.name(), p.rank(), probe.available(), probe.detail()));
        }
        return List.copyOf(out);
    }

    /**
     * The backend named by configuration: the system property {@value #PROPERTY}, else the
     * environment variable {@value #ENV}.
     *
     * @return the name as configured (trimmed), possibly {@code auto}; empty when neither is set
     */
    public static Optional<String> configured() {
        return Optional.ofNullable(BackendRegistry.configuredName());
    }

    /**
     * The media codecs found, in the order they are tried when reading a file or writing a video
     * (FFmpeg's from {@code dev.avatar4j:sdk-media} when present, the built-in JDK codec last).
     *
     * @return the codecs, preferred first; never empty (the JDK codec is always there)
     */
    public static List<MediaCodec> mediaCodecs() {
        return MediaRegistry.global().codecs();
    }
}
