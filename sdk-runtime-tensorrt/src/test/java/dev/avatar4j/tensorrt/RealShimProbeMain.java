package dev.avatar4j.tensorrt;

import dev.avatar4j.spi.BackendProbe;
import java.util.Optional;

/**
 * Run in a child JVM by {@link RealShimProbeTest}: loads the real shim given as the argument (it
 * cannot share a JVM with the test double, which defines the same symbols) and prints the loader's
 * report and the probe, skipping only the file checks so that the shim and CUDA answer.
 */
public final class RealShimProbeMain {
    private RealShimProbeMain() {
    }

    public static void main(String[] args) {
        // "-": the standard places (the classifier jar's resource when it is on the class path)
        NativeLibraryLoader.Result r = args[0].equals("-") ? NativeLibraryLoader.loadShared()
                : NativeLibraryLoader.load(args[0], null, "");
        System.out.println("load=" + r.reportLine());
        BackendProbe p = new TensorRtBackendProvider(Optional::empty, () -> r, TrtOptions::fromSystem).probe();
        System.out.println("available=" + p.available());
        System.out.println("detail=" + p.detail());
    }
}
