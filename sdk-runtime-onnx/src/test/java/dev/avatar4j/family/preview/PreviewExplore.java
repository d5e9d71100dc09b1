package dev.avatar4j.family.preview;

import dev.avatar4j.face.FaceDetection;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.Backend;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/** Development aid, off unless {@code -Dpreview.dump=DIR}: writes frames and numbers to look at. */
@EnabledIfSystemProperty(named = "preview.dump", matches = ".+")
class PreviewExplore {
    @Test
    void dump() throws Exception {
        Path dir = Path.of(System.getProperty("preview.dump"));
        Files.createDirectories(dir);
        try (Backend b = PreviewFixtures.backend(); PreviewEngine e = PreviewFixtures.engine(b)) {
            for (String name : new String[] {"camera.png", "chelsea.png", "coffee.png"}) {
                try {
                    RgbImage img = PreviewEngine.coverResize(PreviewFixtures.photo(name), 512, 512);
                    System.out.println(name + " -> " + e.detect(img) + " kp " + java.util.Arrays.toString(e.detect(img).keypoints()));
                } catch (RuntimeException ex) {
                    System.out.println(name + " -> " + ex);
                }
            }
            RgbImage img = PreviewFixtures.portrait();
            FaceDetection f = e.detect(img);
            System.out.println("portrait -> " + f + " kp " + java.util.Arrays.toString(f.keypoints()));
            AudioClip a = PreviewFixtures.speechWithPauses(0.6, 1.3, 0.8, 0.6);
            PreviewFixtures.Collector c = new PreviewFixtures.Collector();
            long t0 = System.nanoTime();
            e.generate(PreviewFixtures.request(img, a, 512, 42), c);
            double sec = (System.nanoTime() - t0) / 1e9;
            System.out.println("blinks " + java.util.Arrays.toString(BlinkSchedule.seeded(42, 10).starts()));
            System.out.printf("%d frames in %.2fs = %.1f fps%n", c.frames.size(), sec, c.frames.size() / sec);
            MouthShape[] m = e.mouthTrack(a.samples(), c.frames.size());
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < m.length; i++) {
                sb.append(String.format("%d %.2f %.2f %.2f%n", i, m[i].open(), m[i].width(), m[i].round()));
            }
            Files.writeString(dir.resolve("mouth.txt"), sb);
            for (int i = 0; i < c.frames.size(); i++) {
                ImageIO.write(RgbImage.ofOwned(512, 512, c.frames.get(i)).toBufferedImage(), "png",
                        dir.resolve(String.format("f%04d.png", i)).toFile());
            }
            float[] s = a.samples();
            short[] pcm = new short[s.length];
            java.nio.ByteBuffer bb = java.nio.ByteBuffer.allocate(s.length * 2).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (float v : s) {
                bb.putShort((short) Math.round(Math.clamp(v, -1f, 1f) * 32767));
            }
            Files.write(dir.resolve("audio.raw"), bb.array());
        }
    }
}
