package dev.avatar4j.examples.cli;

import dev.avatar4j.Avatar;
import dev.avatar4j.Dub;
import dev.avatar4j.media.VideoSpec;
import java.util.Locale;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code --crf} and {@code --bitrate} of {@code generate} and {@code dub}: the video encoder's
 * quality (CRF-like, 1 best .. 51 smallest) and the bit rate it aims at.
 */
final class EncodingOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--crf", paramLabel = "Q",
            description = "Video quality, CRF-like: " + VideoSpec.MIN_QUALITY + " (best, largest file) to "
                    + VideoSpec.MAX_QUALITY + " (smallest). Default: " + VideoSpec.DEFAULT_QUALITY + ".")
    Integer crf;

    @Option(names = "--bitrate", paramLabel = "RATE",
            description = "Video bit rate to aim at, in bit/s, with an optional k or M suffix (e.g. 2M). "
                    + "Default: set by the quality (dub: at least the input video's bit rate).")
    String bitrate;

    Avatar apply(Avatar request) {
        if (crf != null) {
            request = request.quality(checkedCrf());
        }
        return bitrate != null ? request.bitrate(parsedBitrate()) : request;
    }

    Dub apply(Dub request) {
        if (crf != null) {
            request = request.quality(checkedCrf());
        }
        return bitrate != null ? request.bitrate(parsedBitrate()) : request;
    }

    private int checkedCrf() {
        if (crf < VideoSpec.MIN_QUALITY || crf > VideoSpec.MAX_QUALITY) {
            throw new ParameterException(spec.commandLine(), "--crf must be " + VideoSpec.MIN_QUALITY + ".."
                    + VideoSpec.MAX_QUALITY + " (lower is better), got " + crf);
        }
        return crf;
    }

    /** {@code 800000}, {@code 800k}, {@code 2M}, {@code 2.5M}. */
    long parsedBitrate() {
        String s = bitrate.strip().toLowerCase(Locale.ROOT);
        double scale = 1;
        if (s.endsWith("k")) {
            scale = 1e3;
            s = s.substring(0, s.length() - 1);
        } else if (s.endsWith("m")) {
            scale = 1e6;
            s = s.substring(0, s.length() - 1);
        }
        double v;
        try {
            v = Double.parseDouble(s) * scale;
        } catch (NumberFormatException e) {
            v = Double.NaN;
        }
        if (!Double.isFinite(v) || v < 10_000 || v > 1e9) {
            throw new ParameterException(spec.commandLine(),
                    "--bitrate wants bits per second from 10k to 1000M (e.g. 800k or 2M), got '" + bitrate + "'");
        }
        return Math.round(v);
    }
}
