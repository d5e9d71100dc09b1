package dev.avatar4j.tensorrt;

import dev.avatar4j.BackendException;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.BackendProbe;
import dev.avatar4j.spi.BackendProvider;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The TensorRT FP16 backend's entry point (rank 10, preferred when usable).
 *
 * <p>The probe checks, in order and stopping at the first gap: Linux, the NVIDIA driver's device
 * node and the CUDA/TensorRT libraries on disk ({@link TensorRtProbe}), then loads the shim library
 * ({@link NativeLibraryLoader}, reporting every path tried), then asks the CUDA runtime for a device.
 * Its detail names exactly the missing library, symbol or device; when it is unavailable and
 * TensorRT was not requested by name, the SDK uses ONNX Runtime with one WARN line.
 */
public final class TensorRtBackendProvider implements BackendProvider {
    private final Supplier<Optional<String>> filesCheck;
    private final Supplier<NativeLibraryLoader.Result> loader;
    private final Supplier<TrtOptions> options;

    /** The provider probing this machine's standard locations. */
    public TensorRtBackendProvider() {
        this(() -> TensorRtProbe.ofSystem().missing(), NativeLibraryLoader::loadShared, TrtOptions::fromSystem);
    }

    TensorRtBackendProvider(Supplier<Optional<String>> filesCheck, Supplier<NativeLibraryLoader.Result> loader,
                            Supplier<TrtOptions> options) {
        this.filesCheck = filesCheck;
        this.loader = loader;
        this.options = options;
    }

    @Override
    public String name() {
        return "tensorrt";
    }

    @Override
    public int rank() {
        return 10;
    }

    @Override
    public BackendProbe probe() {
        try {
            Optional<String> missing = filesCheck.get();
            if (missing.isPresent()) {
                return BackendProbe.unavailable(missing.get());
            }
            NativeLibraryLoader.Result lib = loader.get();
            if (lib.loaded().isEmpty()) {
                return BackendProbe.unavailable("TensorRT shim " + NativeLibraryLoader.LIBRARY_FILE
                        + " could not be loaded; tried: " + lib.reportLine());
            }
            Shim.Machine m = Shim.machine();
            return BackendProbe.available("TensorRT " + m.tensorRt() + ", CUDA runtime " + m.cuda() + ", " + m.deviceCount()
                    + " device(s), device 0: " + m.deviceName() + " (compute capability " + m.computeCapability()
                    + "); shim " + lib.loaded().get());
        } catch (BackendException e) {
            return BackendProbe.unavailable(e.getMessage());
        } catch (RuntimeException | LinkageError e) {
            return BackendProbe.unavailable("TensorRT probe failed: " + e);
        }
    }

    @Override
    public Backend create() {
        BackendProbe p = probe();
        if (!p.available()) {
            throw new BackendException("tensorrt backend unavailable: " + p.detail());
        }
        return new TensorRtBackend(Shim.machine(), options.get());
    }
}
