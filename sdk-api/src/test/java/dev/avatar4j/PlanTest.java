package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.bundle.BundleManifest;
import dev.avatar4j.family.longcat.LongCatConfig;
import dev.avatar4j.family.longcat.LongCatPlan;
import dev.avatar4j.family.stableavatar.StableAvatarEngine;
import dev.avatar4j.family.stableavatar.StableAvatarPlan;
import dev.avatar4j.testing.TestMedia;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AvatarModel#plan(Path, PlanRequest)}: the public plan of each family agrees with the plan
 * its engine runs with, reads only the manifest, lays out several speakers like a generation, and
 * reports argument errors as {@link InvalidInputException}.
 */
class PlanTest {
    @TempDir
    static Path dir;
    static Path models;
    static Path speech;   // 7.3 s at 16 kHz
    static Path short2s;  // 2 s at 16 kHz

    @BeforeAll
    static void setUp() throws IOException {
        Path d = Path.of("").toAbsolutePath();
        while (!Files.isRegularFile(d.resolve("models/stableavatar-tiny/avatar-bundle.json"))) {
            d = d.getParent();
        }
        models = d.resolve("models");
        speech = TestMedia.writeWav(dir.resolve("speech.wav"), TestMedia.speechLike(7.3, 16_000), 16_000, 1);
        short2s = TestMedia.writeWav(dir.resolve("short.wav"), TestMedia.speechLike(2.0, 16_000), 16_000, 1);
    }

    private static BundleManifest manifest(String name) throws IOException {
        return BundleManifest.parse(Files.readAllBytes(models.resolve(name).resolve(BundleManifest.FILE_NAME)));
    }

    @Test
    void stableAvatarPlanIsTheEnginesPlan() throws IOException {
        Plan plan = AvatarModel.plan(models.resolve("stableavatar-tiny"), PlanRequest.audio(speech).steps(3));
        var cfg = StableAvatarEngine.configOf(manifest("stableavatar-tiny"));
        StableAvatarPlan expected = StableAvatarPlan.create(cfg, plan.audioSamples(), 3, cfg.overlap(), cfg.weights(),
                cfg.width(), cfg.height());
        assertThat(plan.family()).isEqualTo("stableavatar");
        assertThat(plan.diffusion()).isTrue();
        assertThat(plan.audioSamples()).isEqualTo(Math.round(7.3 * 16_000));
        assertThat(plan.frames()).isEqualTo(expected.frames());
        assertThat(plan.steps()).isEqualTo(3);
        assertThat(plan.windows()).isEqualTo(expected.windows().size()).isGreaterThan(1);
        assertThat(plan.modelCalls()).isEqualTo(expected.forwardPasses());
        assertThat(plan.workUnits()).isEqualTo(expected.workUnits());
        assertThat(plan.duration()).isEqualTo(Duration.ofNanos(Math.round(expected.frames() * 1e9 / expected.fps())));
        assertThat(plan.details()).containsEntry("frames", expected.frames()).containsKeys("sigmas", "windows",
                "overlapWeights", "peakLatentBytes");
        assertThat(plan.summary().getFirst()).startsWith("video ");
        assertThat(plan.tracks()).containsExactly(new Plan.Track(speech, 0, plan.audioSamples()));
    }

    @Test
    void previewPlanHasNoDiffusionAndIgnoresSamplerOptions() {
        Plan plan = AvatarModel.plan(models.resolve("preview"), PlanRequest.audio(speech).steps(30).overlap(3));
        assertThat(plan.family()).isEqualTo("preview");
        assertThat(plan.diffusion()).isFalse();
        assertThat(plan.steps()).isZero();
        assertThat(plan.windows()).isZero();
        assertThat(plan.modelCalls()).isZero();
        assertThat(plan.workUnits()).isEqualTo(plan.frames() + 2L);
        assertThat(plan.details()).containsEntry("diffusion", false);
    }

    @Test
    void longCatLaysOutSpeakersAsAGeneration() throws IOException {
        Path bundle = models.resolve("longcat-avatar-tiny");
        Plan turns = AvatarModel.plan(bundle, PlanRequest.speakers(List.of(speech, short2s), AudioMode.SEQUENTIAL));
        long a = Math.round(7.3 * 16_000);
        long b = 32_000;
        assertThat(turns.tracks()).containsExactly(new Plan.Track(speech, 0, a), new Plan.Track(short2s, a, b));
        assertThat(turns.audioSamples()).isEqualTo(a + b);
        Plan together = AvatarModel.plan(bundle, PlanRequest.speakers(List.of(speech, short2s), AudioMode.PARALLEL));
        assertThat(together.tracks()).extracting(Plan.Track::offset).containsExactly(0L, 0L);
        assertThat(together.audioSamples()).isEqualTo(a);
        LongCatConfig cfg = LongCatConfig.from(manifest("longcat-avatar-tiny"));
        LongCatPlan expected = LongCatPlan.create(cfg, (int) a, cfg.distilled() ? cfg.distilledSteps()
                : cfg.defaultSteps(), cfg.width(), cfg.height());
        assertThat(together.frames()).isEqualTo(expected.frames());
        assertThat(together.windows()).isEqualTo(expected.segments());
        assertThat(together.modelCalls()).isEqualTo(expected.ditPasses());
        assertThat(together.details()).containsEntry("persons", 2);
    }

    @Test
    void argumentErrorsAreInvalidInputAndBundleErrorsBundleExceptions() throws IOException {
        Path sa = models.resolve("stableavatar-tiny");
        assertThatThrownBy(() -> AvatarModel.plan(sa, PlanRequest.audio(speech).overlap(1)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("overlap");
        assertThatThrownBy(() -> AvatarModel.plan(sa, PlanRequest.audio(speech).steps(0)))
                .isInstanceOf(InvalidInputException.class).hasMessageContaining("steps");
        assertThatThrownBy(() -> AvatarModel.plan(sa, PlanRequest.speakers(List.of(speech, short2s),
                AudioMode.PARALLEL))).isInstanceOf(InvalidInputException.class).hasMessageContaining("one speaker");
        assertThatThrownBy(() -> AvatarModel.plan(models.resolve("longcat-avatar-tiny"),
                PlanRequest.audio(speech).shift(-1))).isInstanceOf(InvalidInputException.class)
                .hasMessageContaining("shift");
        assertThatThrownBy(() -> AvatarModel.plan(dir, PlanRequest.audio(speech)))
                .isInstanceOf(BundleException.class).hasMessageContaining("not a model bundle");
        assertThatThrownBy(() -> PlanRequest.speakers(List.of(), AudioMode.PARALLEL))
                .isInstanceOf(InvalidInputException.class);
    }
}
