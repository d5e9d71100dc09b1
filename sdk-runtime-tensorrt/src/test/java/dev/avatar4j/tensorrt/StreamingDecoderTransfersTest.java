package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.family.StreamingVaeDecoder;
import dev.avatar4j.spi.DeviceScope;
import dev.avatar4j.spi.GraphSession;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.tensor.TensorScope;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streamed VAE decoder on the TensorRT backend with the real Wan decoder's 32 causal caches
 * (docs/BUNDLE-FORMAT.md, vae-decoder-first/step), through the test double: decoding N latent frames
 * moves at most N × (latent + 4 frames) bytes plus a constant between host and device, because the
 * caches stay on the device from the first latent frame to the last.
 */
class StreamingDecoderTransfersTest {
    private static final Logger log = LoggerFactory.getLogger(StreamingDecoderTransfersTest.class);
    static final int C = 16;
    static final int LH = 4;
    static final int LW = 6;
    static final int H = 8 * LH;
    static final int W = 8 * LW;
    static final int CACHES = 32;
    static final int[] SCALES = {1, 2, 4, 8};

    @TempDir
    Path tmp;
    private TensorRtBackend backend;

    @BeforeEach
    void start() {
        backend = (TensorRtBackend) TestDouble.provider(TestDouble.options(tmp.resolve("cache"), true, 64)).create();
    }

    @AfterEach
    void stop() {
        backend.close();
    }

    static List<StreamingVaeDecoder.Cache> caches() {
        List<StreamingVaeDecoder.Cache> out = new ArrayList<>();
        for (int i = 0; i < CACHES; i++) {
            out.add(new StreamingVaeDecoder.Cache("cache_in_" + i, "cache_out_" + i, 4 + i % 3, 2, SCALES[i % 4]));
        }
        return out;
    }

    private static String dims(StreamingVaeDecoder.Cache c) {
        return "0 5 1 " + c.channels() + " " + c.frames() + " " + LH * c.scale() + " " + LW * c.scale();
    }

    /**
     * first: frames = latent[0], every cache = latent[0] + 0.5; step: frames = cache_in_0[0], every
     * cache = cache_in + 0.25. The n-th later frame's pixels are latent0[0] + 0.5 + 0.25·(n−1): they
     * prove that the caches chain from call to call on the device.
     */
    private Path[] graphs() throws Exception {
        StringBuilder first = new StringBuilder("A4JFAKE\ninput latent 0 5 1 " + C + " 1 " + LH + " " + LW + "\n")
                .append("output frames 0 5 1 3 1 ").append(H).append(' ').append(W).append(" fill latent 0\n");
        StringBuilder step = new StringBuilder("A4JFAKE\ninput latent 0 5 1 " + C + " 1 " + LH + " " + LW + "\n");
        for (StreamingVaeDecoder.Cache c : caches()) {
            first.append("output ").append(c.output()).append(' ').append(dims(c)).append(" fill latent 0.5\n");
            step.append("input ").append(c.input()).append(' ').append(dims(c)).append('\n');
        }
        step.append("output frames 0 5 1 3 4 ").append(H).append(' ').append(W).append(" fill cache_in_0 0\n");
        for (StreamingVaeDecoder.Cache c : caches()) {
            step.append("output ").append(c.output()).append(' ').append(dims(c)).append(" add ").append(c.input())
                    .append(" 0.25\n");
        }
        return new Path[] {TestDouble.network(tmp, "vae_decoder_first.onnx", first.toString()),
                TestDouble.network(tmp, "vae_decoder_step.onnx", step.toString())};
    }

    private long cacheBytes() {
        long n = 0;
        for (StreamingVaeDecoder.Cache c : caches()) {
            n += 4L * c.channels() * c.frames() * LH * c.scale() * LW * c.scale();
        }
        return n;
    }

    /** Decodes {@code n} latent frames; returns the host↔device bytes the test double saw. */
    private long decode(int n, boolean onDevice, List<byte[]> frames) throws Exception {
        Path[] g = graphs();
        try (GraphSession first = backend.open(g[0], SessionOptions.defaults());
             GraphSession step = backend.open(g[1], SessionOptions.defaults());
             TensorScope scope = TensorScope.open();
             DeviceScope device = backend.openDeviceScope();
             Arena host = Arena.ofConfined()) {
            StreamingVaeDecoder.Graphs graphs = new StreamingVaeDecoder.Graphs(first, step);
            StreamingVaeDecoder d = onDevice
                    ? new StreamingVaeDecoder(scope, device, graphs, C, 4, caches(), LH, LW, W, H)
                    : new StreamingVaeDecoder(scope, graphs, C, 4, caches(), LH, LW, W, H);
            MemorySegment latent = host.allocate((long) C * LH * LW * 4);
            long before = TestDouble.hostDeviceBytes();
            for (int i = 0; i < n; i++) {
                latent.fill((byte) 0);
                latent.setAtIndex(ValueLayout.JAVA_FLOAT, 0, i == 0 ? -1f : 7f); // only latent 0 seeds the caches
                d.decode(latent, frames::add);
            }
            return TestDouble.hostDeviceBytes() - before;
        }
    }

    @Test
    void decodingNLatentFramesMovesOnlyTheLatentsAndTheFrames() throws Exception {
        int n = 6;
        List<byte[]> frames = new ArrayList<>();
        long moved = decode(n, true, frames);
        long latentBytes = 4L * C * LH * LW;
        long fourFrames = 4L * 3 * 4 * H * W;
        long constant = 8; // nothing else today; room for a flag tensor of an older layout
        assertThat(moved).as("host<->device bytes for %d latent frames", n)
                .isLessThanOrEqualTo(n * (latentBytes + fourFrames) + constant);
        assertThat(moved).isGreaterThanOrEqualTo(n * latentBytes); // the latents did go in
        assertThat(frames).hasSize(1 + 4 * (n - 1));
        // pixel = (v/2 + 0.5)·255 truncated; v = −1 (first), then −0.5 + 0.25·(k−1) for later latent frame k
        assertThat(frames.get(0)[0] & 0xff).isEqualTo(0);
        for (int k = 1; k < n; k++) {
            float v = -0.5f + 0.25f * (k - 1);
            int want = (int) ((v / 2 + 0.5f) * 255);
            for (int j = 0; j < 4; j++) {
                assertThat(frames.get(1 + 4 * (k - 1) + j)[0] & 0xff).as("latent frame %d, pixel frame %d", k, j)
                        .isEqualTo(want);
            }
        }
        log.info("host<->device bytes per latent frame (test double, {} caches of {} bytes per set, latent {}x{}): "
                        + "{} (latent {} + 4 frames {}; the caches stay on the device)", CACHES, cacheBytes(), LH, LW,
                moved / n, latentBytes, fourFrames);
        assertThat(TestDouble.misuse()).isZero();
    }

    /** The host-memory path on the same backend copies both cache sets every call: what the device scope removes. */
    @Test
    void hostBoundCachesWouldCrossTheBusEveryLatentFrame() throws Exception {
        int n = 4;
        List<byte[]> host = new ArrayList<>();
        List<byte[]> device = new ArrayList<>();
        long onHost = decode(n, false, host);
        long onDevice = decode(n, true, device);
        assertThat(onHost).isGreaterThanOrEqualTo(onDevice + (n - 1) * 2 * cacheBytes());
        assertThat(device).hasSameSizeAs(host);
        for (int i = 0; i < host.size(); i++) {
            assertThat(device.get(i)).as("frame %d", i).isEqualTo(host.get(i));
        }
    }
}
