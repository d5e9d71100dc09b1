/**
 * FFmpeg media for avatar4j: {@link dev.avatar4j.ffmpeg.FfmpegMediaCodec} reads every image and
 * audio format FFmpeg reads and writes MP4 (H.264 + AAC), registered as the {@code ffmpeg}
 * {@link dev.avatar4j.media.MediaCodec}.
 *
 * <p><b>Why JavaCV.</b> FFmpeg's own decoders, encoders, scaler (swscale) and resampler
 * (swresample) are used in-process through JavaCV and JavaCPP's FFmpeg presets
 * ({@code org.bytedeco:ffmpeg}): no external {@code ffmpeg} binary, no process spawning or pipes,
 * and one jar of natives per platform ({@code ffmpeg-8.0.1-1.5.13-linux-x86_64.jar}, …) instead
 * of the all-platform {@code -platform} bundle. Only the JavaCV classes for FFmpeg are used; its
 * OpenCV and other optional dependencies are excluded.
 *
 * <p><b>Licensing.</b> The default {@code org.bytedeco:ffmpeg} natives are an LGPL build of
 * FFmpeg; they encode H.264 with the BSD-licensed {@code libopenh264} (constrained-baseline
 * profile, rate-controlled by bitrate), built into the natives. Applications that can accept the GPL may use the
 * {@code -gpl} classifier instead ({@code linux-x86_64-gpl}), which adds {@code libx264}; the
 * writer asks FFmpeg for "an H.264 encoder" by codec id and so picks {@code libx264} there
 * automatically. Shipping the LGPL natives means keeping them replaceable (they are separate
 * shared libraries inside the natives jar) and giving FFmpeg's LGPL notice; H.264 patent
 * licensing, where it applies, is the application's concern with either encoder.
 *
 * <p>FFmpeg's log goes to the SLF4J logger {@code dev.avatar4j.ffmpeg.native} (DEBUG and below);
 * set the system property {@code avatar4j.ffmpeg.log=native} to leave FFmpeg's logging alone.
 */
package dev.avatar4j.ffmpeg;
