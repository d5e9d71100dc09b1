package dev.avatar4j.family.stableavatar;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.bundle.BundleManifest;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * Windows planned as an utterance's audio comes in are exactly the offline plan's windows and audio
 * slices, whatever the pieces; each is planned only once its slice is all in and it is certainly
 * not the last.
 */
class OpenWindowPlanTest {

    @Property(tries = 300)
    void piecesGiveTheOfflinePlan(@ForAll @LongRange(min = 0, max = 400_000) long samples,
                                  @ForAll @IntRange(min = 2, max = 20) int overlap,
                                  @ForAll boolean correctedTail, @ForAll long seed) throws Exception {
        StableAvatarConfig cfg = config(correctedTail);
        OpenWindowPlan open = new OpenWindowPlan(cfg, overlap);
        List<OpenWindowPlan.Planned> got = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(seed);
        long in = 0;
        while (in < samples) {
            in = Math.min(samples, in + 1 + rnd.nextLong(20_000));
            for (OpenWindowPlan.Planned p : open.advance(in)) {
                assertThat(p.audio().to()).as("its slice is in").isLessThanOrEqualTo(in);
                got.add(p);
            }
        }
        got.addAll(open.finish(samples));
        int t = AudioWindowSlicer.latentFrames(samples, cfg.samplesPerFrame(), cfg.temporalStride());
        if (t < 1) {
            assertThat(got).isEmpty();
            assertThat(open.frames()).isZero();
            return;
        }
        StableAvatarPlan offline = StableAvatarPlan.create(cfg, samples, 4, overlap, "log", 64, 64);
        assertThat(got.stream().map(OpenWindowPlan.Planned::window).toList()).isEqualTo(offline.windows());
        assertThat(got.stream().map(OpenWindowPlan.Planned::audio).toList()).isEqualTo(offline.windowAudio());
        assertThat(open.latentFrames()).isEqualTo(offline.latentFrames());
        assertThat(open.frames()).isEqualTo(offline.frames());
    }

    /** The tiny bundle's configuration (F = 21, 84-frame slices), with the tail rule asked for. */
    private static StableAvatarConfig config(boolean correctedTail) throws Exception {
        String json = java.nio.file.Files.readString(java.nio.file.Path.of("..", "models", "stableavatar-tiny",
                BundleManifest.FILE_NAME));
        String tail = correctedTail ? "corrected" : "reference";
        json = json.replace("\"weights\": \"log\"", "\"weights\": \"log\", \"tail\": \"" + tail + "\"");
        StableAvatarConfig cfg = StableAvatarEngine.configOf(BundleManifest.parse(
                json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertThat(cfg.tailMode()).isEqualTo(correctedTail ? TailMode.CORRECTED : TailMode.REFERENCE);
        return cfg;
    }
}
