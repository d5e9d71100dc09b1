package dev.avatar4j.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TimedBackendTest {
    @Test
    void anExportedBundlesGraphFilesAreTimedUnderTheirStage() {
        // the ONNX Runtime variant of the DiT and the streamed VAE pairs (tools/export/stableavatar)
        assertThat(TimedBackend.stage("dit_mha.onnx")).isEqualTo("dit");
        assertThat(TimedBackend.stage("vae_encoder_first.onnx")).isEqualTo("vae_encoder");
        assertThat(TimedBackend.stage("vae_encoder_step.onnx")).isEqualTo("vae_encoder");
        assertThat(TimedBackend.stage("vae_decoder_first.onnx")).isEqualTo("vae_decoder");
        // the stages themselves, and names that only share a prefix without '_'
        assertThat(TimedBackend.stage("dit.onnx")).isEqualTo("dit");
        assertThat(TimedBackend.stage("audio_encoder.onnx")).isEqualTo("audio_encoder");
        assertThat(TimedBackend.stage("ditto.onnx")).isEqualTo("ditto");
        assertThat(TimedBackend.stage("unet.onnx")).isEqualTo("unet");
    }
}
