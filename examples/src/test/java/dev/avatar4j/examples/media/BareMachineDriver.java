package dev.avatar4j.examples.media;

import dev.avatar4j.Avatar;
import dev.avatar4j.AvatarModel;
import dev.avatar4j.Frame;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.FrameSink;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.media.VideoSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Run in a fresh JVM by {@link BareMachineMediaTest}: the README's main job (a preview generation
 * of the repository's portrait to MP4) and a dub with the tiny LatentSync bundle, then prints the
 * process's {@code /proc/self/maps} after a {@code MAPS} line.
 *
 * <p>Arguments: the repository root and a scratch directory.
 */
public final class BareMachineDriver {
    private BareMachineDriver() {
    }

    /**
     * Runs the jobs.
     *
     * @param args repository root, scratch directory
     * @throws Exception on any failure (the exit status is then non-zero)
     */
    public static void main(String[] args) throws Exception {
        Path repo = Path.of(args[0]);
        Path dir = Path.of(args[1]);
        Path portrait = repo.resolve("examples/media/portrait.png");
        Path hello = repo.resolve("examples/media/hello.wav");
        Avatar.from(portrait).speak(hello).render(dir.resolve("hello.mp4"));

        MediaRegistry media = MediaRegistry.global();
        RgbImage img = media.readImage(portrait);
        int w = 320;
        int h = 240;
        Path clip = dir.resolve("clip.mp4");
        FrameSink sink = media.openVideoWriter(clip, new VideoSpec(w, h, 25, new AudioClip(new float[16_000], 16_000), null));
        byte[] src = img.toRgbArray();
        for (int f = 0; f < 25; f++) {
            byte[] rgb = new byte[w * h * 3];
            for (int y = 0; y < h; y++) {
                System.arraycopy(src, ((y + 10) * img.width() + 100 + f) * 3, rgb, y * w * 3, w * 3);
            }
            sink.accept(new Frame(f, 25, RgbImage.of(w, h, rgb)));
        }
        sink.complete();
        float[] speech = Arrays.copyOf(media.readAudio(hello, 16_000).samples(), 16_000);
        try (AvatarModel model = AvatarModel.load(repo.resolve("models/latentsync-tiny"))) {
            Avatar.dub(clip).speak(speech, 16_000).model(model).steps(1).seed(1).render(dir.resolve("dub.mp4"));
        }
        System.out.println("MAPS");
        System.out.println(Files.readString(Path.of("/proc/self/maps")));
    }
}
