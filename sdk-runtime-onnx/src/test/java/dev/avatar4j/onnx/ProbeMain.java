package dev.avatar4j.onnx;

import dev.avatar4j.spi.BackendProbe;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run in a child JVM by {@link OnnxBackendProviderTest}: probes the provider and writes
 * {@code available|detail} to the file named by the first argument, so that a native library that
 * fails to load can be tested without poisoning the test JVM's ONNX Runtime.
 */
public final class ProbeMain {
    private ProbeMain() {
    }

    public static void main(String[] args) throws IOException {
        BackendProbe probe = new OnnxBackendProvider().probe();
        Files.writeString(Path.of(args[0]), probe.available() + "|" + probe.detail());
    }
}
