package dev.avatar4j.examples;

import dev.avatar4j.Avatar;
import dev.avatar4j.Frame;
import dev.avatar4j.Generation;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.RenderResult;
import java.nio.file.Path;
import java.util.Iterator;

/**
 * Frames as they become final, pulled from a running {@link Generation}, and cancellation: the
 * pattern for live preview or streaming to a network.
 *
 * <pre>
 * java -cp ... dev.avatar4j.examples.StreamingExample face.png speech.wav [max-frames]
 * </pre>
 *
 * Prints each frame's index and timestamp; with {@code max-frames} it cancels the generation after
 * that many frames.
 */
public final class StreamingExample {
    private StreamingExample() {
    }

    /**
     * Streams the frames of {@code args[0]} (image) speaking {@code args[1]} (audio).
     *
     * @param args image, audio, and optionally the number of frames after which to cancel
     */
    public static void main(String[] args) {
        if (args.length < 2 || args.length > 3) {
            System.err.println("usage: StreamingExample IMAGE AUDIO [MAX-FRAMES]");
            System.exit(2);
        }
        int maxFrames = args.length == 3 ? Integer.parseInt(args[2]) : Integer.MAX_VALUE;
        int seen = stream(Path.of(args[0]), Path.of(args[1]), maxFrames);
        System.out.println(seen + " frames received");
    }

    /**
     * Starts a generation in the background, consumes up to {@code maxFrames} frames and cancels
     * it if there are more.
     *
     * @param image     the portrait
     * @param audio     the speech
     * @param maxFrames how many frames to take before cancelling
     * @return the number of frames consumed
     */
    public static int stream(Path image, Path audio, int maxFrames) {
        Generation generation = Avatar.from(image).speak(audio).steps(4).start(); // returns at once
        int seen = 0;
        Iterator<Frame> frames = generation.iterator();       // open early: the generation then waits for us
        while (frames.hasNext()) {                            // blocks until the next frame is final
            Frame frame = frames.next();
            System.out.printf("frame %d at %d ms, %dx%d, %s%n", frame.index(), frame.timestamp().toMillis(),
                    frame.width(), frame.height(), generation.progress());
            if (++seen >= maxFrames) {
                generation.cancel();                          // stops at the next checkpoint
                break;
            }
        }
        try {
            RenderResult result = generation.await();
            System.out.println("finished: " + result.frames() + " frames in " + result.elapsed().toMillis() + " ms");
        } catch (GenerationCancelledException e) {
            System.out.println("cancelled after " + seen + " frames");
        }
        return seen;
    }
}
