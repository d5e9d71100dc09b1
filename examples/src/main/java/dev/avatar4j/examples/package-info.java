/**
 * Small runnable programs that show the avatar4j API from Java:
 * {@link dev.avatar4j.examples.EmbeddingExample} (render an MP4 with listeners) and
 * {@link dev.avatar4j.examples.StreamingExample} (pull frames as they become final, cancel).
 */
package dev.avatar4j.examples;
