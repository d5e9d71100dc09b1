package dev.avatar4j;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.media.MediaCodec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The public view of what is installed, used by {@code avatar4j doctor} instead of engine internals. */
class BackendsTest {

    @Test
    void probeListsTheInstalledBackendsWithTheirProbesPreferredFirst() {
        List<Backends.Status> all = Backends.probe();
        // the test class path installs the fake backend (META-INF/services of sdk-api's tests)
        assertThat(all).contains(new Backends.Status("fake", 1000, true, "fake backend for tests"));
        for (int i = 1; i < all.size(); i++) {
            assertThat(all.get(i).rank()).isGreaterThanOrEqualTo(all.get(i - 1).rank());
        }
        assertThat(Backends.probe()).as("probed once per process").isEqualTo(all);
    }

    @Test
    void configuredFollowsTheProperty() {
        String previous = System.getProperty(Backends.PROPERTY);
        try {
            System.setProperty(Backends.PROPERTY, " onnx ");
            assertThat(Backends.configured()).contains("onnx");
        } finally {
            if (previous == null) {
                System.clearProperty(Backends.PROPERTY);
            } else {
                System.setProperty(Backends.PROPERTY, previous);
            }
        }
        assertThat(Backends.PROPERTY).isEqualTo("avatar4j.backend");
        assertThat(Backends.ENV).isEqualTo("AVATAR4J_BACKEND");
    }

    @Test
    void theJdkCodecIsAlwaysThereAndTriedLast() {
        List<MediaCodec> codecs = Backends.mediaCodecs();
        assertThat(codecs).isNotEmpty();
        assertThat(codecs.get(codecs.size() - 1).name()).isEqualTo("jdk");
    }
}
