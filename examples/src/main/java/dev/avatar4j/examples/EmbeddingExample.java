package dev.avatar4j.examples;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarException;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.RenderResult;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The SDK from Java in a dozen lines: load a model once, render an MP4 with frame and progress
 * listeners.
 *
 * <pre>
 * java -cp ... dev.avatar4j.examples.EmbeddingExample face.png speech.wav out.mp4 [bundle-dir]
 * </pre>
 *
 * Without {@code bundle-dir} it runs the default model ({@code $AVATAR4J_MODEL}, else the built-in
 * demo model).
 */
public final class EmbeddingExample {
    private EmbeddingExample() {
    }

    /**
     * Renders {@code args[0]} (image) speaking {@code args[1]} (audio) into {@code args[2]} (MP4).
     *
     * @param args image, audio, output MP4, and optionally a model bundle directory
     */
    public static void main(String[] args) {
        if (args.length < 3 || args.length > 4) {
            System.err.println("usage: EmbeddingExample IMAGE AUDIO OUT.mp4 [BUNDLE-DIR]");
            System.exit(2);
        }
        Path image = Path.of(args[0]);
        Path audio = Path.of(args[1]);
        Path out = Path.of(args[2]);
        try {
            RenderResult result = args.length == 4 ? renderWith(Path.of(args[3]), image, audio, out)
                    : render(image, audio, out);
            System.out.printf("wrote %s: %d frames at %d fps, %dx%d, seed %d, on %s in %d ms%n",
                    out, result.frames(), result.fps(), result.width(), result.height(), result.seed(),
                    result.backend(), result.elapsed().toMillis());
        } catch (AvatarException e) { // InvalidInputException, BundleException, BackendException, ...
            System.err.println(e.getClass().getSimpleName() + ": " + e.getMessage());
            System.exit(1);
        }
    }

    /**
     * The one-liner: the default model, default options, an MP4.
     *
     * @param image the portrait
     * @param audio the speech
     * @param out   the MP4 to write
     * @return what was rendered
     */
    public static RenderResult render(Path image, Path audio, Path out) {
        return Avatar.from(image).speak(audio).render(out);
    }

    /**
     * A model loaded once (and closed), a seeded request with listeners, an MP4.
     *
     * @param bundle the model bundle directory
     * @param image  the portrait
     * @param audio  the speech
     * @param out    the MP4 to write
     * @return what was rendered
     */
    public static RenderResult renderWith(Path bundle, Path image, Path audio, Path out) {
        try (AvatarModel model = AvatarModel.load(bundle)) {           // expensive: do it once, share it
            AtomicInteger streamed = new AtomicInteger();
            RenderResult result = Avatar.from(image)
                    .speak(audio)
                    .model(model)
                    .seed(42)                                          // same seed + inputs = same video
                    .onFrame(frame -> streamed.incrementAndGet())        // each frame the moment it is final
                    .onProgress(p -> System.err.printf("\r%s", p))     // stage, frames done/total, percent
                    .render(out);                                      // atomic: out appears only when complete
            System.err.println();
            System.err.printf("%d frames streamed to the listener%n", streamed.get());
            return result;
        }
    }
}
