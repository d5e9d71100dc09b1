package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.media.RgbImage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Speech cut into pushes of random sizes gives a live session exactly the frames (pixels and
 * speech spans) the same speech gives in one push, at the model's rate and at another one (the
 * pushes resampled as they come), as floats and as PCM16 bytes cut at odd offsets: the analysis
 * depends on the speech only, never on how it arrived.
 */
class LiveChunkingProperties {
    private static AvatarModel model;
    private static RgbImage portrait;
    private static float[] speech;
    private static final Map<String, List<Object>> REFERENCE = new HashMap<>();

    @BeforeContainer
    static void open() {
        model = AvatarModel.load(LiveHarness.BUNDLE);
        portrait = LiveHarness.portrait();
        speech = LiveHarness.speech(1.2);
    }

    @AfterContainer
    static void close() {
        model.close();
    }

    @Provide
    Arbitrary<List<Integer>> cuts() {
        return Arbitraries.integers().between(1, 5000).list().ofMinSize(1).ofMaxSize(12);
    }

    @Property(tries = 8)
    void chunkedPushesGiveTheFramesOfOnePush(@ForAll("cuts") List<Integer> cuts,
                                              @ForAll("rates") int rate, @ForAll boolean pcm16) {
        String key = rate + "/" + pcm16;
        List<Object> reference = REFERENCE.computeIfAbsent(key, k -> run(List.of(Integer.MAX_VALUE), rate, pcm16));
        assertThat(reference).as("the reference shows the speech").contains("0..640").contains("idle");
        List<Object> chunked = run(cuts, rate, pcm16);
        assertThat(chunked).hasSameSizeAs(reference);
        for (int i = 0; i < reference.size(); i++) {
            assertThat(chunked.get(i)).as("frame %d", i / 2).isEqualTo(reference.get(i));
        }
    }

    @Provide
    Arbitrary<Integer> rates() {
        return Arbitraries.of(16_000, 24_000);
    }

    /** Frame 0 (idle), then the speech pushed in pieces of {@code cuts} (cycled), then every frame to idle again. */
    private static List<Object> run(List<Integer> cuts, int rate, boolean pcm16) {
        float[] pcm = rate == LiveHarness.RATE ? speech : dev.avatar4j.audio.Resampler.resample(speech,
                LiveHarness.RATE, rate);
        byte[] bytes = new byte[pcm.length * 2];
        for (int i = 0; i < pcm.length; i++) {
            short v = (short) Math.round(Math.clamp(pcm[i], -1f, 1f) * 32767);
            bytes[2 * i] = (byte) v;
            bytes[2 * i + 1] = (byte) (v >> 8);
        }
        List<Object> out = new ArrayList<>();
        try (LiveHarness live = new LiveHarness(model, portrait, LiveOptions.defaults(), 11)) {
            record(out, live.next());
            int total = pcm16 ? bytes.length : pcm.length;
            int c = 0;
            for (int i = 0; i < total; ) {
                int n = (int) Math.min(total - i, (long) cuts.get(c++ % cuts.size()));
                if (pcm16) {
                    live.session.pushPcm16(bytes, i, n, rate);
                } else {
                    live.session.push(pcm, i, n, rate);
                }
                i += n;
            }
            live.session.endOfSpeech();
            long frames = Math.ceilDiv((long) Math.round(pcm.length * (double) LiveHarness.RATE / rate) * 25,
                    LiveHarness.RATE);
            for (long f = 0; f < frames + 3; f++) {
                record(out, live.step());
            }
        }
        return out;
    }

    private static void record(List<Object> out, Frame f) {
        out.add(java.util.HexFormat.of().formatHex(sha(f.image().toRgbArray())));
        out.add(f.speech().map(s -> s.start() + ".." + s.end()).orElse("idle"));
    }

    private static byte[] sha(byte[] b) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(b);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
