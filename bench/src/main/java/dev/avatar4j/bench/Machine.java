package dev.avatar4j.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** A description of the machine the benchmarks ran on, from /proc and the JVM. */
final class Machine {
    private Machine() {
    }

    static String cpuModel() {
        return proc("/proc/cpuinfo", "model name").orElse(System.getProperty("os.arch"));
    }

    static double cpuMhz() {
        return proc("/proc/cpuinfo", "cpu MHz").map(Double::parseDouble).orElse(Double.NaN);
    }

    static boolean hasFlag(String flag) {
        return proc("/proc/cpuinfo", "flags").map(f -> List.of(f.split(" ")).contains(flag)).orElse(false);
    }

    static long memTotalMiB() {
        return proc("/proc/meminfo", "MemTotal").map(v -> Long.parseLong(v.split(" ")[0]) / 1024).orElse(-1L);
    }

    /**
     * An estimate of the CPU's float32 peak: cores × clock × FLOPs per cycle (32 with AVX-512
     * FMA, 32 with two 256-bit FMA units (AVX2), 8 otherwise). An upper bound for the utilisation
     * column, not a measured number.
     */
    static double cpuPeakFlops() {
        double mhz = cpuMhz();
        if (Double.isNaN(mhz)) {
            return 0;
        }
        int perCycle = hasFlag("avx512f") || hasFlag("fma") ? 32 : 8;
        return Runtime.getRuntime().availableProcessors() * mhz * 1e6 * perCycle;
    }

    /** {@code /proc/loadavg}'s three load averages. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return f[0] + " / " + f[1] + " / " + f[2];
        } catch (Exception e) {
            return "n/a";
        }
    }

    static String describe() {
        return String.format(Locale.ROOT, "%s, %d cores visible to the JVM, %.1f GHz, %s; %,d MiB RAM; %s %s (%s); %s %s",
                cpuModel(), Runtime.getRuntime().availableProcessors(), cpuMhz() / 1000,
                hasFlag("avx512f") ? "AVX-512" : hasFlag("avx2") ? "AVX2/FMA" : "no AVX2", memTotalMiB(),
                System.getProperty("java.vm.name"), System.getProperty("java.runtime.version"),
                System.getProperty("java.vm.vendor"), System.getProperty("os.name"), System.getProperty("os.version"));
    }

    private static java.util.Optional<String> proc(String file, String key) {
        try {
            for (String line : Files.readAllLines(Path.of(file))) {
                int c = line.indexOf(':');
                if (c > 0 && line.substring(0, c).trim().equals(key)) {
                    return java.util.Optional.of(line.substring(c + 1).trim());
                }
            }
        } catch (Exception e) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.empty();
    }
}
