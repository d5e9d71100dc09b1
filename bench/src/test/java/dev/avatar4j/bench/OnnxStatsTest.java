package dev.avatar4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class OnnxStatsTest {
    private static final Path DIT = Path.of("../models/stableavatar-tiny/dit.onnx");

    /** Golden numbers from the onnx Python package: sum(prod(t.dims) for t in graph.initializer), 135 tensors (the real-architecture tiny export). */
    @Test
    void countsTheTinyDitsInitializersLikeOnnxDoes() throws Exception {
        List<OnnxStats.Initializer> init = OnnxStats.initializers(DIT);
        assertThat(init).hasSize(135);
        assertThat(OnnxStats.parameters(DIT)).isEqualTo(73_856L);
        assertThat(init).filteredOn(i -> i.name().equals("model.patch_embedding.weight")).singleElement()
                .satisfies(i -> assertThat(i.dims()).containsExactly(32, 36, 1, 2, 2));
    }

    @Test
    void ditFlopsFollowFromParametersAndGeometry() throws Exception {
        // 256x256 output, spatial stride 8 -> 32x32 latents, patch 2x2 -> 256 tokens per frame, 21 frames, 3 branches
        DitFlops f = DitFlops.of(DIT, 36, 3, 21, 32, 32, 2, 2, 0);
        assertThat(f.width()).isEqualTo(32);
        assertThat(f.tokens()).isEqualTo(3L * 21 * 256);
        assertThat(f.dense()).isEqualTo(2.0 * 73_856 * 16_128);
        assertThat(f.attention()).isZero();
        DitFlops full = DitFlops.of(DIT, 36, 3, 21, 32, 32, 2, 2, 2); // Wan's full self-attention, 2 blocks
        assertThat(full.attention()).isEqualTo(4.0 * 2 * 3 * 5376.0 * 5376.0 * 32);
        assertThat(full.total()).isEqualTo(full.dense() + full.attention());
    }
}
