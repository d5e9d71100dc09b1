package dev.avatar4j;

/**
 * Receives progress updates on the generation's thread. An exception thrown here fails the
 * generation. Like a {@link FrameListener} it must return promptly and must not block: cancellation
 * and {@link AvatarModel#close()} wait for it.
 */
@FunctionalInterface
public interface ProgressListener {
    /**
     * Called after each unit of progress and at every change of stage.
     *
     * @param progress an immutable snapshot of the generation's progress
     */
    void onProgress(Progress progress);
}
