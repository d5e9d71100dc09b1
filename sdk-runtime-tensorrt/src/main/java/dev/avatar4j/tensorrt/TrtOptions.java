package dev.avatar4j.tensorrt;

import java.nio.file.Path;
import java.util.Locale;

/**
 * How engines are built.
 *
 * @param fp16           build FP16 engines (TensorRT may still keep layers in FP32 where FP16 loses accuracy)
 * @param dynamicMin     smallest value of every dynamic dimension in the optimisation profile
 * @param dynamicOpt     value TensorRT tunes kernels for
 * @param dynamicMax     largest value accepted at run time
 * @param workspaceBytes builder workspace limit; 0 = TensorRT's default
 * @param cacheDir       engine cache directory
 * @param ranges         per-input ranges overriding the uniform dynamic range
 */
record TrtOptions(boolean fp16, long dynamicMin, long dynamicOpt, long dynamicMax, long workspaceBytes, Path cacheDir,
                  ProfileRanges ranges) {
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

    /** Options from system properties. */
    static TrtOptions fromSystem() {
        String precision = System.getProperty(PRECISION_PROPERTY, "fp16").trim().toLowerCase(Locale.ROOT);
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
                        ? ProfileRanges.none() : ProfileRanges.read(Path.of(profiles)));
    }

    String precision() {
        return fp16 ? "fp16" : "fp32";
    }

    /** The profile of a graph in words, part of the engine cache key. */
    String profile(Path graphFile) {
        return "dynamic=" + dynamicMin + ":" + dynamicOpt + ":" + dynamicMax + ProfileRanges.text(ranges.forGraph(graphFile));
    }
}
