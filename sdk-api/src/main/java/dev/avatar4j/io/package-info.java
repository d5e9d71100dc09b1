/**
 * Reading the inputs: media codec dispatch ({@link dev.avatar4j.io.MediaRegistry}: the installed
 * codecs by rank, the built-in {@link dev.avatar4j.io.JdkMediaCodec} last), streamed speech read by
 * range ({@link dev.avatar4j.io.AudioSource}), the checks every decoder applies to samples and WAV
 * files ({@link dev.avatar4j.io.AudioSamples}, {@link dev.avatar4j.io.WavIntegrity}) and the layout
 * and mix of several speakers' tracks ({@link dev.avatar4j.io.Speaker},
 * {@link dev.avatar4j.io.SpeakerLayout}). See {@code docs/ARCHITECTURE.md} §4 and §6.
 *
 * <p>Internal package: not exported.
 */
package dev.avatar4j.io;
