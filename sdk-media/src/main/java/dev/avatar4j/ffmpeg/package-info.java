/**
 * FFmpeg media for avatar4j: {@link dev.avatar4j.ffmpeg.FfmpegMediaCodec} reads every image and
 * audio format FFmpeg reads and writes MP4 (H.264 + AAC), MOV, MKV and WebM (VP9 + Opus),
 * registered as the {@code ffmpeg} {@link dev.avatar4j.media.MediaCodec}.
 *
 * <p><b>How FFmpeg is used.</b> FFmpeg's own demuxers, decoders, encoders, muxers, scaler
 * (libswscale) and resampler (libswresample) run in-process through JavaCPP's FFmpeg bindings
 * ({@code org.bytedeco:ffmpeg}, the {@code org.bytedeco.ffmpeg.global.avformat} etc. classes):
 * no external {@code ffmpeg} binary, no process spawning or pipes, and one jar of natives per
 * platform ({@code ffmpeg-8.0.1-1.5.13-linux-x86_64.jar}, …) instead of the all-platform
 * {@code -platform} bundle. Only libavutil, libswresample, libswscale, libavcodec and
 * libavformat are loaded; JavaCV is not used, because its grabber and recorder load libavdevice,
 * which links PulseAudio, ALSA and X11 and so fails on a machine without a desktop.
 *
 * <p><b>Licensing.</b> The default {@code org.bytedeco:ffmpeg} natives are an LGPL build of
 * FFmpeg; they encode H.264 with the BSD-licensed {@code libopenh264} (constrained-baseline
 * profile; its quantiser capped by the quality setting), built into the natives. Applications that can accept the GPL may use the
 * {@code -gpl} classifier instead ({@code linux-x86_64-gpl}), which adds {@code libx264}; the
 * writer prefers {@code libx264} by name and so picks it there automatically (the quality is then
 * its CRF). Shipping the LGPL natives means keeping them replaceable (they are separate
 * shared libraries inside the natives jar) and giving FFmpeg's LGPL notice; H.264 patent
 * licensing, where it applies, is the application's concern with either encoder.
 *
 * <p>FFmpeg's log goes to the SLF4J logger {@code dev.avatar4j.ffmpeg.native} (DEBUG and below);
 * set the system property {@code avatar4j.ffmpeg.log=native} to leave FFmpeg's logging alone.
 */
package dev.avatar4j.ffmpeg;
