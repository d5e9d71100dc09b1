/**
 * Media types and the media SPI: decoded images and audio, frame sinks (MP4, PNG sequences) and
 * {@link dev.avatar4j.media.MediaCodec} providers.
 */
package dev.avatar4j.media;
