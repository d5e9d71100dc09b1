package dev.avatar4j.family.latentsync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.avatar4j.BundleException;
import dev.avatar4j.bundle.BundleManifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The manifest sections of the {@code latentsync} family: the committed tiny bundle, and the checks. */
class LatentSyncConfigTest {

    private static String tiny() throws IOException {
        return Files.readString(Path.of("..", "models", "latentsync-tiny", "avatar-bundle.json"));
    }

    private static LatentSyncConfig parse(String json) {
        return LatentSyncConfig.from(BundleManifest.parse(json.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void theTinyBundleHasLatentSyncsSettings() throws IOException {
        LatentSyncConfig c = parse(tiny());
        assertThat(c.fps()).isEqualTo(25);
        assertThat(c.resolution()).isEqualTo(256);
        assertThat(c.chunkFrames()).isEqualTo(16);
        assertThat(c.width()).isEqualTo(32);
        assertThat(c.scaling()).isEqualTo(0.18215);
        assertThat(c.defaultSteps()).isEqualTo(20);
        assertThat(c.guidance()).isEqualTo(1.5);
    }

    @Test
    void wrongSettingsAreBundleErrors() throws IOException {
        String t = tiny();
        assertThatThrownBy(() -> parse(t.replace("\"resolution\": 256", "\"resolution\": 252")))
                .isInstanceOf(BundleException.class).hasMessageContaining("multiple of 8");
        assertThatThrownBy(() -> parse(t.replace("\"fps\": 25", "\"fps\": 30")))
                .isInstanceOf(BundleException.class).hasMessageContaining("25 fps");
        assertThatThrownBy(() -> parse(t.replace("\"type\": \"ddim\"", "\"type\": \"euler\"")))
                .isInstanceOf(BundleException.class).hasMessageContaining("ddim");
        assertThatThrownBy(() -> parse(t.replace("\"scaling\": 0.18215", "\"scaling\": 0")))
                .isInstanceOf(BundleException.class).hasMessageContaining("scaling");
    }

    @Test
    void frameCountIsTheSpeechDurationRoundedUp() {
        // 25 fps at 16 kHz: 640 samples per frame
        assertThat(LatentSyncEngine.frameCount(16_000, 25, 16_000)).isEqualTo(25);
        assertThat(LatentSyncEngine.frameCount(16_001, 25, 16_000)).isEqualTo(26);
        assertThat(LatentSyncEngine.frameCount(15_360, 25, 16_000)).isEqualTo(24);
        assertThat(LatentSyncEngine.frameCount(1, 25, 16_000)).isEqualTo(1);
    }
}
