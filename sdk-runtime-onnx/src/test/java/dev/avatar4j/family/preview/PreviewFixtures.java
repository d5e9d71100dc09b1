package dev.avatar4j.family.preview;

import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.io.MediaRegistry;
import dev.avatar4j.family.NoiseSource;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.onnx.OnnxBackendProvider;
import dev.avatar4j.spi.Backend;
import dev.avatar4j.spi.SessionOptions;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** The committed preview bundle on ONNX Runtime, and the real photos and speech the tests use. */
final class PreviewFixtures {
    static final Path BUNDLE = Path.of("..", "models", "preview");
    static final Path PORTRAIT = Path.of("..", "examples", "media", "portrait.png");
    static final Path SPEECH = Path.of("..", "examples", "media", "hello.wav");

    private PreviewFixtures() {
    }

    static Backend backend() {
        return new OnnxBackendProvider().create();
    }

    static PreviewEngine engine(Backend backend) {
        return PreviewEngine.open(Bundle.open(BUNDLE), backend, SessionOptions.defaults());
    }

    /** A photo from {@code src/test/resources/preview} (see PROVENANCE.md there). */
    static RgbImage photo(String name) {
        try {
            return MediaRegistry.global().readImage(Path.of(PreviewFixtures.class.getResource("/preview/" + name).toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static RgbImage portrait() {
        return MediaRegistry.global().readImage(PORTRAIT);
    }

    static AudioClip speech() {
        return MediaRegistry.global().readAudio(SPEECH, 16_000);
    }

    /**
     * hello.wav with pauses: {@code lead} s of quiet, the first {@code split} s of speech,
     * {@code gap} s of quiet, the rest of the speech, {@code tail} s of quiet. "Quiet" is seeded
     * white noise at about −60 dBFS, like a real recording's room tone.
     */
    static AudioClip speechWithPauses(double lead, double split, double gap, double tail) {
        float[] s = speech().samples();
        int rate = 16_000;
        int cut = (int) (split * rate);
        int n = (int) ((lead + gap + tail) * rate) + s.length;
        float[] out = new float[n];
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < n; i++) {
            out[i] = (float) ((rnd.nextDouble() * 2 - 1) * 0.0017);
        }
        int p = (int) (lead * rate);
        for (int i = 0; i < cut; i++) {
            out[p + i] += s[i];
        }
        p += cut + (int) (gap * rate);
        for (int i = cut; i < s.length; i++) {
            out[p + i - cut] += s[i];
        }
        return new AudioClip(out, rate);
    }

    static GenerationRequest request(RgbImage image, AudioClip audio, int size, long seed) {
        return new GenerationRequest(image, audio, size, size, 1, seed, null, Double.NaN, Double.NaN,
                NoiseSource.seeded(seed), null);
    }

    /** Collects emitted frames. */
    static final class Collector implements GenerationContext {
        final List<byte[]> frames = new ArrayList<>();

        @Override
        public void emitFrame(byte[] rgb) {
            frames.add(rgb);
        }

        @Override
        public void advance(Progress.Stage stage, long units) {
        }

        @Override
        public void checkpoint() {
        }
    }
}
