package dev.avatar4j.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.avatar4j.Progress;
import dev.avatar4j.bundle.Bundle;
import dev.avatar4j.family.FamilyEngine;
import dev.avatar4j.family.FamilyEngines;
import dev.avatar4j.family.GenerationContext;
import dev.avatar4j.family.GenerationRequest;
import dev.avatar4j.family.stableavatar.StableAvatarEngine;
import dev.avatar4j.family.stableavatar.StableAvatarPlan;
import dev.avatar4j.media.AudioClip;
import dev.avatar4j.media.RgbImage;
import dev.avatar4j.spi.SessionOptions;
import dev.avatar4j.testing.FakeBundles;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A whole StableAvatar window generated on the TensorRT backend through the test double (every graph
 * of the bundle is a test-double network with the family's real signatures): what crosses between
 * host and device, by the double's own copy counters, is no more than the graphs' inputs from the
 * host and the outputs the host needs (the DiT's velocities, the decoded frames, the encoders'
 * features), each once: constants once per generation, audio once per window, the decoder's caches
 * never.
 */
class StableAvatarTransfersTest {
    private static final Logger log = LoggerFactory.getLogger(StableAvatarTransfersTest.class);
    static final int SIZE = 32;
    static final int L = 4;        // latent side
    static final int C = 16;
    static final int F = 21;       // latent frames of a full window
    static final int CLIP_SIDE = 112;
    static final int CLIP_TOKENS = 65;
    static final int DIM = 4;      // CLIP, audio and text widths
    static final int TEXT_TOKENS = 512;
    static final int CACHES = 4;

    @TempDir
    Path tmp;
    private TensorRtBackend backend;

    @BeforeEach
    void start() {
        backend = (TensorRtBackend) TestDouble.provider(TestDouble.options(tmp.resolve("cache"), true, 1 << 20)).create();
    }

    @AfterEach
    void stop() {
        backend.close();
    }

    /** An ONNX ModelProto holding the network text in its doc_string (field 6), as a bundle loader parses it. */
    static byte[] wrapped(String text) {
        byte[] t = text.getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0x32);
        for (long v = t.length; ; v >>>= 7) { // varint length
            if (v < 0x80) {
                out.write((int) v);
                break;
            }
            out.write((int) (v & 0x7f) | 0x80);
        }
        out.writeBytes(t);
        return out.toByteArray();
    }

    private static String cacheDims(int i) {
        int s = 1 << (i % 3);
        return "0 5 1 " + (2 + i) + " 2 " + L * s + " " + L * s;
    }

    private Path bundle(int audioTokens) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("bundle"));
        Map<String, String> graphs = new LinkedHashMap<>();
        graphs.put("audio_encoder", "input input_values 0 2 1 -1\n"
                + "output last_hidden_state 0 3 1 " + audioTokens + " " + DIM + " fill input_values 0\n");
        graphs.put("image_encoder", "input pixel_values 0 4 1 3 " + CLIP_SIDE + " " + CLIP_SIDE + "\n"
                + "output image_embeds 0 3 1 " + CLIP_TOKENS + " " + DIM + " fill pixel_values 0\n");
        graphs.put("vae_encoder", "input video 0 5 1 3 81 " + SIZE + " " + SIZE + "\n"
                + "output latent 0 5 1 " + C + " " + F + " " + L + " " + L + " fill video 0\n");
        graphs.put("dit", "input x 0 5 -1 " + C + " -1 " + L + " " + L + "\n"
                + "input t 0 1 -1\ninput context 0 3 -1 -1 -1\ninput clip 0 3 -1 -1 -1\n"
                + "input y 0 5 -1 " + (4 + C) + " -1 " + L + " " + L + "\n"
                + "input audio_tokens 0 3 1 -1 -1\ninput audio_index 8 2 " + F + " -1\ninput audio_gate 0 1 -1\n"
                + "output velocity 0 5 -1 " + C + " -1 " + L + " " + L + " affine x t 0.001\n");
        StringBuilder first = new StringBuilder("input latent 0 5 1 " + C + " 1 " + L + " " + L + "\n"
                + "output frames 0 5 1 3 1 " + SIZE + " " + SIZE + " fill latent 0\n");
        StringBuilder step = new StringBuilder("input latent 0 5 1 " + C + " 1 " + L + " " + L + "\n");
        StringBuilder entries = new StringBuilder();
        for (int i = 0; i < CACHES; i++) {
            first.append("output cache_out_").append(i).append(' ').append(cacheDims(i)).append(" fill latent 0\n");
            step.append("input cache_in_").append(i).append(' ').append(cacheDims(i)).append('\n');
            entries.append(i == 0 ? "" : ", ").append("{\"name\": \"cache_in_").append(i).append("\", \"output\": \"cache_out_")
                    .append(i).append("\", \"channels\": ").append(2 + i).append(", \"frames\": 2, \"scale\": ")
                    .append(1 << (i % 3)).append('}');
        }
        step.append("output frames 0 5 1 3 4 ").append(SIZE).append(' ').append(SIZE).append(" fill latent 0\n");
        for (int i = 0; i < CACHES; i++) {
            step.append("output cache_out_").append(i).append(' ').append(cacheDims(i)).append(" add cache_in_").append(i)
                    .append(" 0\n");
        }
        graphs.put("vae_decoder_first", first.toString());
        graphs.put("vae_decoder_step", step.toString());
        Map<String, String> sha = new LinkedHashMap<>();
        for (Map.Entry<String, String> g : graphs.entrySet()) {
            byte[] bytes = wrapped("A4JFAKE\n" + g.getValue());
            Files.write(dir.resolve(g.getKey() + ".onnx"), bytes);
            sha.put(g.getKey(), FakeBundles.sha256(bytes));
        }
        String neg = FakeBundles.writeTensor(dir.resolve("text_negative.safetensors"), 5, DIM, 0.5f);
        String def = FakeBundles.writeTensor(dir.resolve("text_default.safetensors"), 3, DIM, -0.25f);
        Files.writeString(dir.resolve("avatar-bundle.json"), """
                {
                  "format": 1, "family": "stableavatar", "name": "trt-double", "license": "test",
                  "video": {"fps": 25, "width": %d, "height": %d, "windowFrames": 81, "temporalStride": 4,
                            "spatialStride": 8, "latentChannels": %d, "patch": [1, 2, 2]},
                  "audio": {"sampleRate": 16000, "encoder": "wav2vec2", "normalize": "per-window", "sliceFrames": 84},
                  "sampler": {"type": "flow-match-euler", "shift": 5.0, "shiftMode": "diffusers-0.30.1",
                              "trainTimesteps": 1000, "defaultSteps": 4},
                  "guidance": {"type": "text-audio", "text": 3.0, "audio": 5.0},
                  "window": {"overlap": 5, "weights": "log"},
                  "text": {"tokenizer": "utf8-bytes", "maxTokens": %d},
                  "graphs": {
                    "audio-encoder": {"file": "audio_encoder.onnx", "sha256": "%s"},
                    "image-encoder": {"file": "image_encoder.onnx", "sha256": "%s"},
                    "vae-encoder": {"file": "vae_encoder.onnx", "sha256": "%s"},
                    "dit": {"file": "dit.onnx", "sha256": "%s"},
                    "vae-decoder-first": {"file": "vae_decoder_first.onnx", "sha256": "%s", "caches": [%s]},
                    "vae-decoder": {"file": "vae_decoder_step.onnx", "sha256": "%s", "caches": [%s]}
                  },
                  "tensors": {
                    "text-negative": {"file": "text_negative.safetensors", "sha256": "%s"},
                    "text-default": {"file": "text_default.safetensors", "sha256": "%s"}
                  }
                }
                """.formatted(SIZE, SIZE, C, TEXT_TOKENS, sha.get("audio_encoder"), sha.get("image_encoder"),
                sha.get("vae_encoder"), sha.get("dit"), sha.get("vae_decoder_first"), entries, sha.get("vae_decoder_step"),
                entries, neg, def));
        return dir;
    }

    @Test
    void aWholeWindowMovesNoMoreThanItsInputsAndVelocities() throws Exception {
        int samples = 16000; // 1 s: 25 video frames, 7 latent frames, one window
        int steps = 4;
        Path dir = bundle(0);
        StableAvatarPlan plan = StableAvatarPlan.create(StableAvatarEngine.configOf(Bundle.open(dir).manifest()), samples,
                steps, 5, "log", SIZE, SIZE);
        assertThat(plan.windows()).hasSize(1);
        int k = plan.windows().get(0).length();
        StableAvatarPlan.AudioSlice slice = plan.windowAudio().get(0);
        dir = bundle(slice.tokens()); // the audio encoder's token count for the window's slice
        int b = plan.branches();

        byte[] rgb = new byte[64 * 64 * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i * 7);
        }
        float[] audio = new float[samples];
        for (int i = 0; i < samples; i++) {
            audio[i] = (float) Math.sin(i * 0.01);
        }
        GenerationRequest request = new GenerationRequest(RgbImage.of(64, 64, rgb), new AudioClip(audio, 16000), SIZE,
                SIZE, steps, 1L, null, Double.NaN, Double.NaN, (frame, dst, floats) -> dst.asSlice(0, floats * 4)
                .fill((byte) 0), null);
        List<byte[]> frames = new ArrayList<>();
        GenerationContext ctx = new GenerationContext() {
            @Override
            public void emitFrame(byte[] f) {
                frames.add(f);
            }

            @Override
            public void advance(Progress.Stage stage, long units) {
            }

            @Override
            public void checkpoint() {
            }
        };
        long moved;
        try (FamilyEngine<GenerationRequest> engine = FamilyEngines.create(Bundle.open(dir), backend, SessionOptions.defaults())
                .runs(GenerationRequest.class).orElseThrow()) {
            long before = TestDouble.hostDeviceBytes();
            engine.generate(request, ctx);
            moved = TestDouble.hostDeviceBytes() - before;
        }
        assertThat(frames).hasSize(plan.frames());

        long hw = (long) L * L;
        long latentFrame = 4L * C * hw;
        // the host's inputs: each graph input that starts on the host, once
        long inputs = 4L * 3 * CLIP_SIDE * CLIP_SIDE            // image encoder
                + 4L * 3 * 81 * SIZE * SIZE                     // VAE encoder: [reference, 0 x 80]
                + 4L * slice.samples()                          // audio encoder: the window's slice
                + (long) b * 4 * (TEXT_TOKENS * DIM + CLIP_TOKENS * DIM + 1) // DiT constants: context, clip, gate
                + (long) b * 4 * (4 + C) * k * hw               // y, once for the window's length
                + 4L * slice.tokens() * DIM + 8L * F * audioIndexWidth(slice.tokens()) // the window's audio, once
                + (long) steps * (k * latentFrame + 4L * b)     // per step: the window's latents and the timestep
                + (long) plan.latentFrames() * latentFrame;     // the decoder's latents
        // what the host needs back: features, velocities, frames
        long outputs = 4L * CLIP_TOKENS * DIM + 4L * C * F * hw + 4L * slice.tokens() * DIM
                + (long) steps * b * k * latentFrame
                + 4L * 3 * SIZE * SIZE * plan.frames();
        long velocities = (long) steps * b * k * latentFrame;
        log.info("one StableAvatar window on the TensorRT test double ({} latent frames, {} steps, {} branches): {} "
                        + "host<->device bytes; inputs {} + outputs {} (velocities {}); {} per latent frame", k, steps, b,
                moved, inputs, outputs, velocities, moved / plan.latentFrames());
        assertThat(moved).as("host<->device bytes of the window").isLessThanOrEqualTo(inputs + outputs);
        assertThat(moved).as("the velocities did come back").isGreaterThanOrEqualTo(velocities);
        assertThat(TestDouble.misuse()).isZero();
    }

    /** W of {@code audio_index [F, W]} (AudioTokenIndex): 2·floor(L/81·4/2) + 1 + 2·4. */
    private static long audioIndexWidth(int tokens) {
        return 2L * (int) (tokens / 81.0 * 4 / 2) + 1 + 8;
    }
}
