package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The real shim, linked against real TensorRT 10 and CUDA runtime libraries, loaded through FFM in a
 * child JVM: on a machine without an NVIDIA driver its probe must name the CUDA error; with one, it
 * must report the device. Enabled by the {@code tensorrt-redist} Maven profile (see the module's
 * pom.xml), which builds the shim and sets {@code avatar4j.tensorrt.realShim}.
 */
@EnabledIfSystemProperty(named = "avatar4j.tensorrt.realShim", matches = ".+")
class RealShimProbeTest {
    @Test
    void theRealShimLoadsAndItsProbeNamesTheMissingDriverOrTheDevice() throws Exception {
        Path shim = Path.of(System.getProperty("avatar4j.tensorrt.realShim"));
        assertThat(shim).as("the shim CMake built (TensorRT headers given with -Dtensorrt.include?)").isRegularFile();
        String out = child(System.getProperty("java.class.path"), shim.toString());
        assertThat(out).contains("load=-Davatar4j.tensorrt.shim=" + shim + ": loaded");
        assertProbe(out);

        // the same library found as a class-path resource: target/native-jar is what the build packages
        // as the linux-x86_64 classifier jar
        Path resources = shim.getParent().getParent().resolve("native-jar");
        assertThat(resources.resolve(NativeLibraryLoader.RESOURCE.substring(1))).isRegularFile();
        String fromJar = child(resources + File.pathSeparator + System.getProperty("java.class.path"), "-");
        assertThat(fromJar).contains("load=-Davatar4j.tensorrt.shim not set; resource file:" + resources).contains(": loaded");
        assertProbe(fromJar);
    }

    private static String child(String classPath, String shimArgument) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED", "-cp", classPath,
                RealShimProbeMain.class.getName(), shimArgument)).redirectErrorStream(true).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    private static void assertProbe(String out) {
        if (Files.exists(Path.of("/dev/nvidiactl"))) {
            assertThat(out).contains("available=true").contains("TensorRT 10.").contains("compute capability");
        } else {
            // e.g. "TensorRT device query failed (CUDA): cudaGetDeviceCount: cudaErrorInsufficientDriver (...)"
            assertThat(out).contains("available=false").contains("device query failed (CUDA): cudaGetDeviceCount: cudaError");
        }
    }
}
