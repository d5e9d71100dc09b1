package dev.avatar4j;

/**
 * Receives progress updates on the generation's thread. An exception thrown here fails the
 * generation. Like a {@link FrameListener} it must return promptly and must not block: cancellation
 * and {@link AvatarModel#close()} wait for it.
 */
@FunctionalInterface
public interface ProgressListener {
    void onProgress(Progress progress);
}
