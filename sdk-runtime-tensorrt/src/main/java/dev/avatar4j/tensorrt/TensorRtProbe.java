package dev.avatar4j.tensorrt;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Looks for what the TensorRT backend needs — an NVIDIA GPU device, the CUDA runtime and TensorRT
 * 10 shared libraries — and says exactly what is missing. Only files are inspected: nothing is
 * loaded, so probing is safe on any machine.
 */
final class TensorRtProbe {
    /** Library file names, most specific first. */
    static final List<String> TENSORRT_LIBS = List.of("libnvinfer.so.10", "libnvinfer.so");
    static final List<String> ONNX_PARSER_LIBS = List.of("libnvonnxparser.so.10", "libnvonnxparser.so");
    static final List<String> CUDA_RUNTIME_LIBS = List.of("libcudart.so.13", "libcudart.so.12", "libcudart.so");

    private final List<Path> searchPath;
    private final Path deviceNode;

    TensorRtProbe(List<Path> searchPath, Path deviceNode) {
        this.searchPath = List.copyOf(searchPath);
        this.deviceNode = deviceNode;
    }

    /** Probes the standard places of this machine. */
    static TensorRtProbe ofSystem() {
        Set<Path> dirs = new LinkedHashSet<>();
        String explicit = System.getProperty("avatar4j.tensorrt.path");
        if (explicit != null && !explicit.isBlank()) {
            dirs.add(Path.of(explicit));
        }
        for (String var : new String[] {"java.library.path"}) {
            split(System.getProperty(var), dirs);
        }
        split(System.getenv("LD_LIBRARY_PATH"), dirs);
        for (String d : new String[] {"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib",
                "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/tensorrt/lib",
                "/opt/tensorrt/lib"}) {
            dirs.add(Path.of(d));
        }
        return new TensorRtProbe(new ArrayList<>(dirs), Path.of("/dev/nvidiactl"));
    }

    private static void split(String pathList, Set<Path> into) {
        if (pathList == null) {
            return;
        }
        for (String p : pathList.split(java.io.File.pathSeparator)) {
            if (!p.isBlank()) {
                into.add(Path.of(p));
            }
        }
    }

    /** The first missing requirement, or empty when everything was found. */
    Optional<String> missing() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return Optional.of("TensorRT backend supports Linux only (this is " + System.getProperty("os.name") + ")");
        }
        if (!Files.exists(deviceNode)) {
            return Optional.of("no NVIDIA GPU driver: " + deviceNode + " does not exist");
        }
        for (List<String> libs : List.of(CUDA_RUNTIME_LIBS, TENSORRT_LIBS, ONNX_PARSER_LIBS)) {
            if (find(libs).isEmpty()) {
                return Optional.of("library " + libs.get(0) + " not found (searched " + searchPath.size()
                        + " directories: java.library.path, LD_LIBRARY_PATH, /usr/lib…, /usr/local/cuda/lib64; "
                        + "set -Davatar4j.tensorrt.path=DIR)");
            }
        }
        return Optional.empty();
    }

    Optional<Path> find(List<String> names) {
        for (Path dir : searchPath) {
            for (String n : names) {
                Path p = dir.resolve(n);
                if (Files.isRegularFile(p) || Files.isSymbolicLink(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }
}
