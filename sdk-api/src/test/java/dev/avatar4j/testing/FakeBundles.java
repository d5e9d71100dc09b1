package dev.avatar4j.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes small {@code stableavatar} bundles whose graphs the {@link FakeBackend} understands. */
public final class FakeBundles {
    private FakeBundles() {
    }

    /** Writes a complete, valid fake bundle into {@code dir} and returns {@code dir}. */
    public static Path write(Path dir) throws IOException {
        return write(dir, Map.of());
    }

    /**
     * The bytes of a fake graph: a valid, empty ONNX {@code ModelProto} whose producer name is
     * {@code "fake graph <name>"} (the loader parses every graph for external-data references).
     */
    public static byte[] fakeGraph(String name) {
        byte[] text = ("fake graph " + name).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] out = new byte[2 + text.length];
        out[0] = 0x12; // field 2 (producer_name), wire type 2
        out[1] = (byte) text.length;
        System.arraycopy(text, 0, out, 2, text.length);
        return out;
    }

    /** Writes a fake bundle; {@code replacements} are applied to the manifest text (to break it on purpose). */
    public static Path write(Path dir, Map<String, String> replacements) throws IOException {
        Files.createDirectories(dir);
        Map<String, String> graphs = new LinkedHashMap<>();
        for (String g : new String[] {"audio_encoder", "image_encoder", "vae_encoder", "dit", "vae_decoder"}) {
            Path f = dir.resolve(g + ".onnx");
            Files.write(f, fakeGraph(g));
            graphs.put(g, sha256(Files.readAllBytes(f)));
        }
        String neg = writeTensor(dir.resolve("text_negative.safetensors"), 5, 8, 0.5f);
        String def = writeTensor(dir.resolve("text_default.safetensors"), 3, 8, -0.25f);
        String manifest = """
                {
                  "format": 1, "family": "stableavatar", "name": "fake-tiny", "license": "test",
                  "video": {"fps": 25, "width": 32, "height": 32, "windowFrames": 81, "temporalStride": 4,
                            "spatialStride": 8, "latentChannels": 16, "patch": [1, 2, 2]},
                  "audio": {"sampleRate": 16000, "encoder": "wav2vec2", "normalize": "per-window", "sliceFrames": 84},
                  "sampler": {"type": "flow-match-euler", "shift": 5.0, "shiftMode": "diffusers-0.30.1",
                              "trainTimesteps": 1000, "defaultSteps": 2},
                  "guidance": {"type": "text-audio", "text": 3.0, "audio": 5.0},
                  "window": {"overlap": 5, "weights": "log"},
                  "graphs": {
                    "audio-encoder": {"file": "audio_encoder.onnx", "sha256": "%s"},
                    "image-encoder": {"file": "image_encoder.onnx", "sha256": "%s"},
                    "vae-encoder": {"file": "vae_encoder.onnx", "sha256": "%s"},
                    "dit": {"file": "dit.onnx", "sha256": "%s"},
                    "vae-decoder": {"file": "vae_decoder.onnx", "sha256": "%s",
                                    "caches": [{"name": "cache_in_0", "scale": 1}]}
                  },
                  "tensors": {
                    "text-negative": {"file": "text_negative.safetensors", "sha256": "%s"},
                    "text-default": {"file": "text_default.safetensors", "sha256": "%s"}
                  }
                }
                """.formatted(graphs.get("audio_encoder"), graphs.get("image_encoder"), graphs.get("vae_encoder"),
                graphs.get("dit"), graphs.get("vae_decoder"), neg, def);
        for (Map.Entry<String, String> r : replacements.entrySet()) {
            manifest = manifest.replace(r.getKey(), r.getValue());
        }
        Files.writeString(dir.resolve("avatar-bundle.json"), manifest);
        return dir;
    }

    /**
     * Writes a fake bundle in the current layout of a real export (docs/BUNDLE-FORMAT.md): the
     * streamed VAE encoder pair instead of the whole-clip graph, the decoder as a first-frame + step
     * pair with the manifest's full cache entries, a {@code dit} with an {@code onnxruntime} variant
     * ({@code dit_mha.onnx}), and an image encoder of side 112 ({@code [1, 65, Dc]} tokens).
     */
    public static Path writeCurrentLayout(Path dir) throws IOException {
        write(dir);
        Map<String, String> sha = new LinkedHashMap<>();
        for (String g : new String[] {"image_encoder_112", "vae_encoder_first", "vae_encoder_step", "dit_mha",
                "vae_decoder_first", "vae_decoder_step"}) {
            Path f = dir.resolve(g + ".onnx");
            Files.write(f, fakeGraph(g));
            sha.put(g, sha256(Files.readAllBytes(f)));
        }
        Files.delete(dir.resolve("vae_encoder.onnx"));
        Files.delete(dir.resolve("vae_decoder.onnx"));
        Files.delete(dir.resolve("image_encoder.onnx"));
        String enc = "[{\"name\": \"cache_in_0\", \"output\": \"cache_out_0\", \"channels\": 16, \"frames\": 1, \"scale\": 1}]";
        String dec = "[{\"name\": \"cache_in_0\", \"output\": \"cache_out_0\", \"channels\": 2, \"frames\": 2, \"scale\": 1}]";
        String m = Files.readString(dir.resolve("avatar-bundle.json"));
        String graphs = m.substring(m.indexOf("\"graphs\""), m.indexOf("\"tensors\""));
        String ditSha = graphs.replaceAll("(?s).*\"dit\": \\{\"file\": \"dit.onnx\", \"sha256\": \"([0-9a-f]+)\".*", "$1");
        String audioSha = graphs.replaceAll("(?s).*\"audio-encoder\": \\{\"file\": \"audio_encoder.onnx\", \"sha256\": \"([0-9a-f]+)\".*", "$1");
        String current = """
                "graphs": {
                    "audio-encoder": {"file": "audio_encoder.onnx", "sha256": "%s"},
                    "image-encoder": {"file": "image_encoder_112.onnx", "sha256": "%s"},
                    "vae-encoder-first": {"file": "vae_encoder_first.onnx", "sha256": "%s", "caches": %s},
                    "vae-encoder-step": {"file": "vae_encoder_step.onnx", "sha256": "%s", "caches": %s},
                    "dit": {"file": "dit.onnx", "sha256": "%s",
                            "variants": {"onnxruntime": {"file": "dit_mha.onnx", "sha256": "%s"}}},
                    "vae-decoder-first": {"file": "vae_decoder_first.onnx", "sha256": "%s", "caches": %s},
                    "vae-decoder": {"file": "vae_decoder_step.onnx", "sha256": "%s", "caches": %s}
                  },
                  """.formatted(audioSha, sha.get("image_encoder_112"), sha.get("vae_encoder_first"), enc,
                sha.get("vae_encoder_step"), enc, ditSha, sha.get("dit_mha"), sha.get("vae_decoder_first"), dec,
                sha.get("vae_decoder_step"), dec);
        Files.writeString(dir.resolve("avatar-bundle.json"), m.replace(graphs, current));
        return dir;
    }

    /** Writes a one-tensor safetensors file named "embeddings" of shape [rows, cols]; returns its sha256. */
    public static String writeTensor(Path file, int rows, int cols, float scale) throws IOException {
        String header = "{\"embeddings\":{\"dtype\":\"F32\",\"shape\":[" + rows + "," + cols + "],\"data_offsets\":[0,"
                + rows * cols * 4 + "]}}";
        while (header.length() % 8 != 0) {
            header += " ";
        }
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + rows * cols * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (int i = 0; i < rows * cols; i++) {
            b.putFloat(scale * (i % 5 - 2));
        }
        Files.write(file, b.array());
        return sha256(b.array());
    }

    public static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
