package com.example.talkingavatar;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Frame;
import dev.avatar4j.Generation;
import dev.avatar4j.GenerationCancelledException;
import dev.avatar4j.RenderResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Uses avatar4j as an application would: the one-liner with the built-in model, frames as a stream,
 * cancellation, and a model bundle loaded from a directory. Exits with status 1 when something is
 * not as expected, so that a script can run it.
 *
 * <pre>
 * App IMAGE AUDIO MODEL-DIR OUT-DIR
 * </pre>
 */
public final class App {
    private App() {
    }

    /**
     * Runs the four uses.
     *
     * @param args portrait, speech, a model bundle directory ({@code models/stableavatar-tiny}), output directory
     * @throws IOException when the output directory cannot be written
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 4) {
            System.err.println("usage: App IMAGE AUDIO MODEL-DIR OUT-DIR");
            System.exit(2);
        }
        Path image = Path.of(args[0]);
        Path audio = Path.of(args[1]);
        Path modelDir = Path.of(args[2]);
        Path outDir = Files.createDirectories(Path.of(args[3]));
        System.out.println("running on " + (App.class.getModule().isNamed() ? "the module path" : "the class path"));

        // 1. the one-liner, with the built-in preview model; MP4 needs the media module (FFmpeg)
        Path mp4 = outDir.resolve("hello.mp4");
        RenderResult one = Avatar.from(image).speak(audio).render(mp4);
        check(Files.size(mp4) > 10_000, "the MP4 is too small: " + Files.size(mp4) + " bytes");
        check(isMp4(mp4), mp4 + " is not an MP4");
        System.out.println("one-liner: " + one.frames() + " frames " + one.width() + "x" + one.height()
                + " -> " + mp4 + " (" + Files.size(mp4) + " bytes)");

        // 2. frames as a stream; closing the stream early cancels the generation
        Generation streamed = Avatar.from(image).speak(audio).start();
        long taken;
        try (Stream<Frame> frames = streamed.frames()) {
            taken = frames.limit(10).filter(f -> f.width() > 0 && f.height() > 0).count();
        }
        check(taken == 10, "10 frames expected from the stream, got " + taken);
        System.out.println("streamed: " + taken + " frames, then closed the stream");

        // 3. explicit cancellation
        Generation cancelled = Avatar.from(image).speak(audio).start();
        cancelled.iterator().next(); // wait for the first frame
        cancelled.cancel();
        try {
            cancelled.await();
            check(false, "a cancelled generation finished");
        } catch (GenerationCancelledException expected) {
            System.out.println("cancelled: " + expected.getMessage());
        }

        // 4. a model bundle from a directory (the random tiny StableAvatar: exercises the diffusion pipeline)
        try (AvatarModel model = AvatarModel.load(modelDir)) {
            Path tiny = outDir.resolve("tiny.mp4");
            RenderResult r = Avatar.from(image).speak(audio).model(model).steps(2).seed(1).render(tiny);
            check(isMp4(tiny), tiny + " is not an MP4");
            System.out.println("bundle " + model.name() + " (" + model.family() + ", backend " + model.backendName()
                    + "): " + r.frames() + " frames -> " + tiny);
        }
        System.out.println("OK");
    }

    private static boolean isMp4(Path file) throws IOException {
        byte[] head = Files.readAllBytes(file);
        return head.length > 8 && new String(head, 4, 4, java.nio.charset.StandardCharsets.US_ASCII).equals("ftyp");
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            System.err.println("FAILED: " + message);
            System.exit(1);
        }
    }
}
