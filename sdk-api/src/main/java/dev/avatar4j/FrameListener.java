package dev.avatar4j;

/**
 * Receives each frame the moment it is final, in order, on the generation's thread. Keep it
 * fast (hand heavy work to another thread); an exception thrown here fails the generation.
 *
 * <p>It must not block: while it runs the generation cannot reach its next checkpoint, so
 * {@link Generation#cancel()} takes effect only when it returns, and {@link AvatarModel#close()}
 * (which waits for running generations) waits for it too. A listener may call
 * {@link Generation#cancel()}; it must not call {@link AvatarModel#close()} on the model it runs
 * on (that fails with {@link IllegalStateException}).
 */
@FunctionalInterface
public interface FrameListener {
    /**
     * Called with each final frame.
     *
     * @param frame the frame; immutable, so it may be kept or handed to another thread
     */
    void onFrame(Frame frame);
}
