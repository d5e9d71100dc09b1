/**
 * Media for avatar4j through FFmpeg: every image, audio and video format FFmpeg reads, and MP4,
 * MOV, MKV and WebM output.
 *
 * <p>The module is named {@code dev.avatar4j.media.ffmpeg} (artifact {@code sdk-media}): it is the
 * FFmpeg implementation of the media SPI, whose interfaces are the package {@code dev.avatar4j.media}
 * of the module {@code dev.avatar4j}. A service-provider module: it exports no package, and
 * {@code dev.avatar4j} finds its {@link dev.avatar4j.media.MediaCodec} through
 * {@link java.util.ServiceLoader}, so an application on the module path only needs the jar there
 * (service binding resolves it).
 *
 * <p>FFmpeg comes from JavaCPP's bindings, the modules {@code org.bytedeco.ffmpeg} and
 * {@code org.bytedeco.javacpp}. Their native libraries are in separate per-platform jars
 * ({@code ffmpeg-VERSION-linux-x86_64.jar}, ...), whose modules ({@code org.bytedeco.ffmpeg.linux.x86_64},
 * ...) nothing requires: put those two jars on the class path (JavaCPP finds the libraries there),
 * or require them in your own descriptor. JavaCPP loads JNI libraries, so run with
 * {@code --enable-native-access=dev.avatar4j,org.bytedeco.javacpp,...}.
 */
module dev.avatar4j.media.ffmpeg {
    requires dev.avatar4j;
    requires org.bytedeco.javacpp;
    requires org.bytedeco.ffmpeg;
    requires org.slf4j;

    provides dev.avatar4j.media.MediaCodec with dev.avatar4j.ffmpeg.FfmpegMediaCodec;
}
