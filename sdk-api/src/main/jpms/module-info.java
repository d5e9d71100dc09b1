/**
 * avatar4j: turns a reference image plus speech audio into a talking-avatar video.
 *
 * <p>Public API: {@link dev.avatar4j.Avatar} (the fluent request), {@link dev.avatar4j.AvatarModel}
 * (a loaded model bundle) and {@link dev.avatar4j.Generation} (a running generation); SPIs for
 * inference backends ({@code dev.avatar4j.spi}) and media codecs ({@code dev.avatar4j.media}),
 * with off-heap tensors in {@code dev.avatar4j.tensor}. Everything else is internal and not
 * exported: {@code bundle} (except to the TensorRT backend), {@code family} (the family contract) and
 * its sub-packages (one per family), {@code backend}, {@code io}, {@code face}, {@code audio},
 * {@code image} and {@code sampling} (docs/ARCHITECTURE.md §2).
 */
module dev.avatar4j {
    requires transitive java.desktop; // BufferedImage in the public API; ImageIO and javax.sound inside
    requires org.slf4j;
    requires com.fasterxml.jackson.jr.ob;
    requires JTransforms; // FFT of the Whisper log-mel front end (automatic module, no descriptor)

    exports dev.avatar4j;
    exports dev.avatar4j.spi;
    exports dev.avatar4j.tensor;
    exports dev.avatar4j.media;
    // TensorRtBackend#prebuild reads graphs the way bundles do (not an API for applications)
    exports dev.avatar4j.bundle to dev.avatar4j.tensorrt;

    uses dev.avatar4j.spi.BackendProvider;
    uses dev.avatar4j.media.MediaCodec;
}
