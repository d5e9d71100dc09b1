package dev.avatar4j.tensorrt;

import java.nio.file.Path;
import java.util.Locale;

/**
 * How engines are built.
 *
 * @param fp16           the default precision: FP16 engines (TensorRT may still keep layers in FP32 where
 *                       FP16 loses accuracy), else FP32; a graph's own {@code @precision} line in the
 *                       profile files wins unless {@code forcePrecision}
 * @param dynamicMin     smallest value of every dynamic dimension in the optimisation profile
 * @param dynamicOpt     value TensorRT tunes kernels for
 * @param dynamicMax     largest value accepted at run time
 * @param workspaceBytes builder workspace limit; 0 = TensorRT's default
 * @param cacheDir       engine cache directory
 * @param ranges         per-input ranges overriding the uniform dynamic range, and per-graph precisions
 * @param forcePrecision the default precision applies to every graph ({@code -Davatar4j.tensorrt.precision}
 *                       was given), whatever the bundle says
 */
record TrtOptions(boolean fp16, long dynamicMin, long dynamicOpt, long dynamicMax, long workspaceBytes, Path cacheDir,
                  ProfileRanges ranges, boolean forcePrecision) {
    /** {@code -Davatar4j.tensorrt.precision=fp16|fp32} (default fp16). */
    static final String PRECISION_PROPERTY = "avatar4j.tensorrt.precision";
    /** {@code -Davatar4j.tensorrt.dynamicDims=MIN:OPT:MAX} (default 1:16:128). */
    static final String DYNAMIC_PROPERTY = "avatar4j.tensorrt.dynamicDims";

    TrtOptions {
        if (dynamicMin < 1 || dynamicOpt < dynamicMin || dynamicMax < dynamicOpt) {
            throw new IllegalArgumentException("dynamic dimension range must satisfy 1 <= min <= opt <= max, got "
                    + dynamicMin + ":" + dynamicOpt + ":" + dynamicMax);
        }
    }

    /** Options whose default precision yields to a graph's own {@code @precision} line. */
    TrtOptions(boolean fp16, long dynamicMin, long dynamicOpt, long dynamicMax, long workspaceBytes, Path cacheDir,
               ProfileRanges ranges) {
        this(fp16, dynamicMin, dynamicOpt, dynamicMax, workspaceBytes, cacheDir, ranges, false);
    }

    /** Options from system properties. */
    static TrtOptions fromSystem() {
        String given = System.getProperty(PRECISION_PROPERTY);
        String precision = (given == null ? "fp16" : given).trim().toLowerCase(Locale.ROOT);
        if (!precision.equals("fp16") && !precision.equals("fp32")) {
            throw new IllegalArgumentException("-D" + PRECISION_PROPERTY + " must be fp16 or fp32, got " + precision);
        }
        String profiles = System.getProperty(ProfileRanges.PROPERTY);
        String[] d = System.getProperty(DYNAMIC_PROPERTY, "1:16:128").trim().split(":");
        if (d.length != 3) {
            throw new IllegalArgumentException("-D" + DYNAMIC_PROPERTY + " must be MIN:OPT:MAX");
        }
        return new TrtOptions(precision.equals("fp16"), Long.parseLong(d[0].trim()), Long.parseLong(d[1].trim()),
                Long.parseLong(d[2].trim()), 0, EngineCache.defaultDir(), profiles == null || profiles.isBlank()
                        ? ProfileRanges.none() : ProfileRanges.read(Path.of(profiles)), given != null && !given.isBlank());
    }

    /** The default precision in words ({@code fp16} or {@code fp32}). */
    String precision() {
        return fp16 ? "fp16" : "fp32";
    }

    /**
     * The precision of one graph's engine: the forced default, else the graph's {@code @precision}
     * line (the bundle's file or {@code -Davatar4j.tensorrt.profiles}), else the default.
     */
    ProfileRanges.Precision precision(Path graphFile) {
        ProfileRanges.Precision dflt = fp16 ? ProfileRanges.Precision.FP16 : ProfileRanges.Precision.FP32;
        return forcePrecision ? dflt : ranges.precision(graphFile).orElse(dflt);
    }

    /** The profile of a graph in words, part of the engine cache key. */
    String profile(Path graphFile) {
        return "dynamic=" + dynamicMin + ":" + dynamicOpt + ":" + dynamicMax + ProfileRanges.text(ranges.forGraph(graphFile));
    }
}
