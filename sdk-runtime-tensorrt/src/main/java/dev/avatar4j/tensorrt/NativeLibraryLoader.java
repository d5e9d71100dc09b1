package dev.avatar4j.tensorrt;

import dev.avatar4j.tensorrt.ffi.AvatarTrt;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.SymbolLookup;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Loads the TensorRT shim library ({@code libavatar4j_trt.so}) so that the jextract bindings find its
 * symbols through the class loader. Places tried, in order:
 * <ol>
 *   <li>the explicit path in system property {@value #PATH_PROPERTY};</li>
 *   <li>the resource {@value #RESOURCE} (a classifier jar built where TensorRT is installed),
 *       extracted to a temporary file;</li>
 *   <li>every directory of {@code java.library.path}.</li>
 * </ol>
 * Every path tried and why it failed goes into one diagnostic report. The first successful load wins
 * for the whole process (the JVM loads a library once per class loader).
 */
final class NativeLibraryLoader {
    /** System property naming the shim library file. */
    static final String PATH_PROPERTY = "avatar4j.tensorrt.shim";
    static final String LIBRARY_FILE = "libavatar4j_trt.so";
    static final String RESOURCE = "/dev/avatar4j/tensorrt/native/linux-x86_64/" + LIBRARY_FILE;
    /** Every function of {@code avatar4j_trt.h}: a shim missing one is reported, not loaded. */
    static final List<String> SYMBOLS = List.of("a4j_abi_version", "a4j_versions", "a4j_device_count", "a4j_device_info",
            "a4j_logger_create", "a4j_logger_destroy", "a4j_runtime_create", "a4j_runtime_destroy",
            "a4j_engine_deserialize", "a4j_engine_destroy", "a4j_engine_serialize", "a4j_build_from_onnx",
            "a4j_blob_data", "a4j_blob_size", "a4j_blob_destroy", "a4j_engine_io_count", "a4j_engine_io_info",
            "a4j_context_create", "a4j_context_destroy", "a4j_context_set_input_shape", "a4j_context_tensor_shape",
            "a4j_context_set_tensor_address", "a4j_context_enqueue", "a4j_stream_create", "a4j_stream_synchronize",
            "a4j_stream_destroy", "a4j_device_malloc", "a4j_device_free", "a4j_memcpy_htod_async",
            "a4j_memcpy_dtoh_async", "a4j_memcpy_dtod_async", "a4j_memset_async");

    /**
     * The outcome of loading.
     *
     * @param loaded the library file that was loaded, if any
     * @param report one line per place tried, with the outcome
     */
    record Result(Optional<Path> loaded, List<String> report) {
        Result {
            report = List.copyOf(report);
        }

        /** The report as one line. */
        String reportLine() {
            return String.join("; ", report);
        }
    }

    private static Result shared;

    private NativeLibraryLoader() {
    }

    /** Loads the shim once per process from the standard places; later calls return the first result. */
    static synchronized Result loadShared() {
        if (shared == null || shared.loaded().isEmpty()) {
            shared = load(System.getProperty(PATH_PROPERTY), NativeLibraryLoader.class.getResource(RESOURCE),
                    System.getProperty("java.library.path", ""));
        }
        return shared;
    }

    /**
     * Tries the three places in order.
     *
     * @param explicitPath value of {@value #PATH_PROPERTY}, or null
     * @param resource     the packaged library, or null when this jar has none
     * @param libraryPath  {@code java.library.path}
     */
    static Result load(String explicitPath, URL resource, String libraryPath) {
        List<String> report = new ArrayList<>();
        if (explicitPath == null || explicitPath.isBlank()) {
            report.add("-D" + PATH_PROPERTY + " not set");
        } else {
            Optional<Path> p = tryLoad(Path.of(explicitPath), "-D" + PATH_PROPERTY + "=" + explicitPath, report);
            if (p.isPresent()) {
                return new Result(p, report);
            }
        }
        if (resource == null) {
            report.add("resource " + RESOURCE + " not on the class path (no native classifier jar)");
        } else {
            try {
                Path tmp = Files.createTempFile("avatar4j_trt", ".so");
                tmp.toFile().deleteOnExit();
                try (InputStream in = resource.openStream()) {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                }
                Optional<Path> p = tryLoad(tmp, "resource " + resource, report);
                if (p.isPresent()) {
                    return new Result(p, report);
                }
            } catch (IOException e) {
                report.add("resource " + resource + ": cannot extract (" + e.getMessage() + ")");
            }
        }
        boolean any = false;
        for (String dir : libraryPath.split(java.io.File.pathSeparator)) {
            if (dir.isBlank()) {
                continue;
            }
            any = true;
            Path f = Path.of(dir).resolve(LIBRARY_FILE);
            if (!Files.exists(f)) {
                report.add(f + ": not found");
                continue;
            }
            Optional<Path> p = tryLoad(f, f.toString(), report);
            if (p.isPresent()) {
                return new Result(p, report);
            }
        }
        if (!any) {
            report.add("java.library.path is empty");
        }
        return new Result(Optional.empty(), report);
    }

    /** The shim functions {@code lookup} cannot find. */
    static List<String> missingSymbols(SymbolLookup lookup) {
        return SYMBOLS.stream().filter(name -> lookup.find(name).isEmpty()).toList();
    }

    private static Optional<Path> tryLoad(Path file, String label, List<String> report) {
        if (!Files.isRegularFile(file)) {
            report.add(label + ": no such file");
            return Optional.empty();
        }
        try {
            System.load(file.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError e) {
            // e.g. "libnvinfer.so.10: cannot open shared object file" names the missing dependency
            report.add(label + ": " + e.getMessage());
            return Optional.empty();
        }
        try {
            int abi = AvatarTrt.a4j_abi_version();
            if (abi != AvatarTrt.A4J_ABI_VERSION()) {
                report.add(label + ": loaded, but its ABI version is " + abi + ", expected " + AvatarTrt.A4J_ABI_VERSION());
                return Optional.empty();
            }
        } catch (UnsatisfiedLinkError | IllegalArgumentException e) {
            report.add(label + ": loaded, but symbol a4j_abi_version is missing (" + e.getMessage() + ")");
            return Optional.empty();
        }
        List<String> missing = missingSymbols(SymbolLookup.loaderLookup());
        if (!missing.isEmpty()) {
            report.add(label + ": loaded, but symbol(s) " + String.join(", ", missing) + " are missing (an older shim?)");
            return Optional.empty();
        }
        report.add(label + ": loaded");
        return Optional.of(file.toAbsolutePath());
    }
}
