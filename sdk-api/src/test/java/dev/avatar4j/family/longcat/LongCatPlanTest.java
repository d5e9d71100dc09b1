package dev.avatar4j.family.longcat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.BundleManifest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Segment arithmetic of docs/REFERENCE.md §3 re-derived by hand, and manifest validation. */
class LongCatPlanTest {

    static String manifest() throws Exception {
        Path dir = Path.of("").toAbsolutePath();
        while (!Files.isRegularFile(dir.resolve("models/longcat-avatar-tiny/avatar-bundle.json"))) {
            dir = dir.getParent();
        }
        return Files.readString(dir.resolve("models/longcat-avatar-tiny/avatar-bundle.json"));
    }

    static LongCatConfig config(String json) {
        return LongCatConfig.from(BundleManifest.parse(json.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void segmentsAndPadding() throws Exception {
        LongCatConfig c = config(manifest());
        assertThat(c.segmentLatents()).isEqualTo(24);
        assertThat(c.contextLatents()).isEqualTo(4);
        assertThat(c.newFrames()).isEqualTo(80);
        // 2 s: 50 frames, one segment, padded to 93/25 s: in float64 (3.72 − 2)·16000 = 27520.000000000004,
        // which the reference's math.ceil turns into 27 521 added samples (Python gives the same)
        LongCatPlan a = LongCatPlan.create(c, 32_000, 8, 64, 64);
        assertThat(a.frames()).isEqualTo(50);
        assertThat(a.segments()).isEqualTo(1);
        assertThat(a.paddedSamples()).isEqualTo(59_521);
        assertThat(a.embeddingRows()).isEqualTo(93);
        // exactly 93 frames: still one segment; 94 frames: two
        assertThat(LongCatPlan.create(c, 59_520, 8, 64, 64).segments()).isEqualTo(1);
        assertThat(LongCatPlan.create(c, 59_520 + 640, 8, 64, 64).segments()).isEqualTo(2);
        // 3 minutes: 4500 frames = 93 + 80·k → 1 + ceil(4407/80) = 57 segments
        LongCatPlan m3 = LongCatPlan.create(c, 180 * 16_000, 8, 64, 64);
        assertThat(m3.frames()).isEqualTo(4500);
        assertThat(m3.segments()).isEqualTo(57);
        assertThat(m3.audioStart(56)).isEqualTo(80 * 56);
        assertThat(m3.ditPasses()).isEqualTo(57 * 8);
        assertThat(m3.conditionLatents(0)).isEqualTo(1);
        assertThat(m3.conditionLatents(3)).isEqualTo(5);
        assertThat(m3.noisyLatents(0)).isEqualTo(23);
        assertThat(m3.noisyLatents(3)).isEqualTo(20);
        assertThat(m3.branches()).isEqualTo(1);
        assertThat(m3.workUnits()).isEqualTo(57 * 8 + 57 * 24);
    }

    @Test
    void fullScheduleUsesEnhanceHfAfterTheFirstSegment() throws Exception {
        LongCatConfig c = config(manifest().replace("\"schedule\": \"distilled\"", "\"schedule\": \"full\""));
        LongCatPlan p = LongCatPlan.create(c, 8 * 16_000, 50, 64, 64);
        assertThat(p.branches()).isEqualTo(3);
        assertThat(p.schedule(0).steps()).isEqualTo(50);
        assertThat(p.schedule(1).timesteps()).endsWith(500f, 450f, 400f, 350f, 300f, 250f, 200f, 150f, 100f, 50f);
        assertThat(p.ditPasses()).isEqualTo(3L * (50 + p.schedule(1).steps() * (p.segments() - 1L)));
    }

    @Test
    void rejectsBadRequestsAndManifests() throws Exception {
        LongCatConfig c = config(manifest());
        assertThatThrownBy(() -> LongCatPlan.create(c, 0, 8, 64, 64)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LongCatPlan.create(c, 100, 30, 64, 64))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exactly 8 steps");
        assertThatThrownBy(() -> LongCatPlan.create(c, 100, 8, 60, 64)).isInstanceOf(IllegalArgumentException.class);
        String m = manifest();
        assertThatThrownBy(() -> config(m.replace("\"schedule\": \"distilled\"", "\"schedule\": \"fast\"")))
                .isInstanceOf(BundleException.class).hasMessageContaining("sampler.schedule");
        assertThatThrownBy(() -> config(m.replace("\"encoder\": \"whisper\"", "\"encoder\": \"wav2vec2\"")))
                .isInstanceOf(BundleException.class).hasMessageContaining("audio.encoder");
        assertThatThrownBy(() -> config(m.replace("\"contextFrames\": 13", "\"contextFrames\": 12")))
                .isInstanceOf(BundleException.class).hasMessageContaining("contextFrames");
        assertThatThrownBy(() -> config(m.replace("\"family\": \"longcat-avatar\"", "\"family\": \"stableavatar\"")))
                .isInstanceOf(BundleException.class);
    }
}
