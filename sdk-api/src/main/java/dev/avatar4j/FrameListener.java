package dev.avatar4j;

/**
 * Receives each frame the moment it is final, in order, on the generation's thread. Keep it
 * fast (hand heavy work to another thread); an exception thrown here fails the generation.
 */
@FunctionalInterface
public interface FrameListener {
    void onFrame(Frame frame);
}
