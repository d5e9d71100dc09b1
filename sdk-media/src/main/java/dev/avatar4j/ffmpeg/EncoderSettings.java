package dev.avatar4j.ffmpeg;

import dev.avatar4j.media.VideoSpec;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The video encoder options for a {@link VideoSpec}'s quality and bit rate, per encoder. Keys
 * {@code b}, {@code qmin}, {@code qmax}, {@code maxrate} and {@code bufsize} are the generic
 * codec-context fields; the rest are the encoder's private options.
 *
 * <p><b>libopenh264</b> (the LGPL natives' H.264 encoder) honours the bit rate, the quantiser
 * range and its {@code rc_mode}. Measured on the repository's portrait: capping the quantiser
 * ({@code qmax}) in the {@code quality} mode is what keeps detail; the bit rate alone (the old
 * {@code w·h·fps/8}) let static backgrounds lose 3.4 dB against a plain 4:2:0 round trip. So the
 * quality is the {@code qmax} (with {@code qmin} 1) and the bit rate the target; a bit rate without
 * a quality switches to the {@code bitrate} mode without a cap, as users who ask for a size expect.
 */
final class EncoderSettings {
    private EncoderSettings() {
    }

    /** How far below the cap the quantiser may go (libopenh264). */
    static final int QMIN_SPAN = 8;

    /** A generous target: the cap on the quantiser, not the rate, decides. */
    static long defaultBitrate(int w, int h, int fps) {
        return Math.clamp((long) w * h * fps / 2, 1_000_000L, 60_000_000L);
    }

    static Map<String, String> video(String encoder, VideoSpec spec, int w, int h) {
        Map<String, String> o = new LinkedHashMap<>();
        int q = spec.effectiveQuality();
        boolean rateOnly = spec.quality() == 0 && spec.bitrate() > 0;
        // with a quality the bit rate is a target the quality cap overrides: never below the generous
        // default, so that asking for "at least the input's rate" cannot lower the quality
        long rate = rateOnly ? spec.bitrate() : Math.max(spec.bitrate(), defaultBitrate(w, h, spec.fps()));
        switch (encoder) {
            case "libopenh264" -> {
                o.put("b", Long.toString(rate));
                if (rateOnly) {
                    o.put("rc_mode", "bitrate");
                } else {
                    o.put("rc_mode", "quality");
                    // a floor too, so that a larger value also means a smaller file: the generous
                    // rate target alone would keep the quantiser near its floor
                    o.put("qmin", Integer.toString(Math.max(1, q - QMIN_SPAN)));
                    o.put("qmax", Integer.toString(q));
                }
            }
            case "libx264" -> {
                if (rateOnly) {
                    o.put("b", Long.toString(rate));
                } else {
                    o.put("crf", Integer.toString(q));
                    if (spec.bitrate() > 0) {
                        o.put("maxrate", Long.toString(spec.bitrate()));
                        o.put("bufsize", Long.toString(Math.min(Integer.MAX_VALUE, 2 * spec.bitrate())));
                    }
                }
                o.put("preset", "medium");
            }
            case "libvpx-vp9", "libvpx" -> {
                o.put("deadline", "good");
                o.put("cpu-used", "4");
                o.put("row-mt", "1");
                if (rateOnly) {
                    o.put("b", Long.toString(rate));
                } else {
                    o.put("crf", Integer.toString(Math.round(q * 63f / VideoSpec.MAX_QUALITY)));
                    o.put("b", Long.toString(spec.bitrate())); // 0: constant quality
                }
            }
            default -> {
                o.put("b", Long.toString(rate));
                if (!rateOnly) {
                    o.put("qmax", Integer.toString(q));
                }
            }
        }
        return o;
    }
}
