package dev.avatar4j;

/** Receives progress updates on the generation's thread. An exception thrown here fails the generation. */
@FunctionalInterface
public interface ProgressListener {
    void onProgress(Progress progress);
}
