#!/usr/bin/python3
"""Builds the tiny `latentsync` test bundle (sdk-runtime-onnx/src/test/bundles/latentsync-toy/; models/latentsync-tiny is
the real-architecture export of tools/export_tiny_latentsync.py): seeded random PyTorch modules
with the graph signatures of docs/BUNDLE-FORMAT.md ("Family latentsync"), exported to ONNX (opset 17),
a mouth mask image and a manifest carrying each file's sha256. The face detector is a byte copy of
models/preview's BlazeFace graph, with its licence.

    /usr/bin/python3 tools/make_tiny_latentsync.py          # PyTorch 1.13 + onnx 1.12 (Debian)

Graphs (float32; R = face resolution, h = w = R/8, B = guidance branches, F = frames):
  audio-encoder  input_features [1,80,3000] -> hidden_states [1,1500,5,384]
                 Whisper-tiny-shaped: Conv1d(80->DA,3)+GELU, Conv1d(DA->DA,3,stride 2)+GELU,
                 sinusoidal positions, 4 pre-LN layers; the 5 states are the embeddings and the
                 output of each layer (the last after the final LayerNorm), projected to 384.
  vae-encoder    image [N,3,R,R] in [-1,1] -> latent [N,4,h,w]: the posterior mean, NOT scaled
                 (the engine multiplies by vae.scaling = 0.18215)
  vae-decoder    latent [N,4,h,w] (already divided by 0.18215) -> image [N,3,R,R], about [-1,1]
  unet           sample [B,13,F,h,w] = cat(noisy latents 4, mask 1, masked-image latents 4,
                 reference latents 4), timestep [1], audio [B,F,50,384] -> noise [B,4,F,h,w]
                 (epsilon prediction); per-frame audio cross-attention, a temporal mean mixes frames.
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys
import zlib

import torch
import torch.nn as nn
import torch.nn.functional as Fn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_tiny_stableavatar as sa  # noqa: E402  (init, export helpers, pre-LN layer)

SEED = 20261121
RES = 64            # LatentSync 1.5: 256, 1.6: 512
MEL = 80
DA = 24             # Whisper tiny: 384 (the encoder works at DA and projects to 384)
WIDTH = 384
LAYERS = 4          # Whisper tiny: 4
C = 16              # UNet width
Z = 4
SCALING = 0.18215
MODEL_SEEDS = {"audio-encoder": 1, "vae-encoder": 2, "vae-decoder": 3, "unet": 4}
PREVIEW = os.path.join(HERE, "..", "models", "preview")
BLAZEFACE = "face_detection_front_128x128_barracuda.onnx"


def sinusoids(length, channels):
    """Whisper's encoder positions: sin on the first half of the channels, cos on the second."""
    inc = math.log(10000) / (channels // 2 - 1)
    inv = torch.exp(-inc * torch.arange(channels // 2, dtype=torch.float32))
    t = torch.arange(length, dtype=torch.float32)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], 1)


class WhisperTinyEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(MEL, DA, 3, padding=1)
        self.conv2 = nn.Conv1d(DA, DA, 3, stride=2, padding=1)
        self.register_buffer("positions", sinusoids(1500, DA))
        self.layers = nn.ModuleList([sa.PreLNLayer(DA, 2, 2 * DA) for _ in range(LAYERS)])
        self.ln_post = nn.LayerNorm(DA, eps=1e-5)
        self.proj = nn.Linear(DA, WIDTH)

    def forward(self, input_features):                       # [1,80,3000]
        x = Fn.gelu(self.conv1(input_features))
        x = Fn.gelu(self.conv2(x)).permute(0, 2, 1) + self.positions
        states = [x]
        for i, layer in enumerate(self.layers):
            x = layer(x)
            states.append(self.ln_post(x) if i == LAYERS - 1 else x)
        return self.proj(torch.stack(states, 2))             # [1,1500,5,384]


class VaeEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.c3 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.moments = nn.Conv2d(8, 2 * Z, 1)

    def forward(self, image):
        x = Fn.silu(self.c1(image))
        x = Fn.silu(self.c2(x))
        x = Fn.silu(self.c3(x))
        return self.moments(x)[:, :Z] * 4.0                  # posterior mean (logvar dropped)


class VaeDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.c0 = nn.Conv2d(Z, 8, 3, padding=1)
        self.c1 = nn.Conv2d(8, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.out = nn.Conv2d(8, 3, 3, padding=1)

    def forward(self, latent):
        x = Fn.silu(self.c0(latent * 0.25))
        for conv in (self.c1, self.c2):
            x = Fn.interpolate(x, scale_factor=2.0, mode="nearest")
            x = Fn.silu(conv(x))
        x = Fn.interpolate(x, scale_factor=2.0, mode="nearest")
        return torch.tanh(self.out(x)) * 1.05


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_in = nn.Conv2d(13, C, 3, padding=1)
        self.t1 = nn.Linear(C, C)
        self.t2 = nn.Linear(C, C)
        self.q = nn.Linear(C, C)
        self.k = nn.Linear(WIDTH, C)
        self.v = nn.Linear(WIDTH, C)
        self.o = nn.Linear(C, C)
        self.temporal = nn.Linear(C, C)
        self.mid = nn.Conv2d(C, C, 3, padding=1)
        self.conv_out = nn.Conv2d(C, Z, 3, padding=1)

    def forward(self, sample, timestep, audio):              # [B,13,F,h,w], [1], [B,F,50,384]
        b, _, f, h, w = sample.shape
        x = sample.permute(0, 2, 1, 3, 4).reshape(b * f, 13, h, w)
        x = Fn.silu(self.conv_in(x))                         # [BF,C,h,w]
        half = C // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        arg = timestep.reshape(1, 1) * freqs[None, :]
        temb = self.t2(Fn.silu(self.t1(torch.cat([torch.cos(arg), torch.sin(arg)], 1))))
        x = x + temb.reshape(1, C, 1, 1)
        tokens = x.flatten(2).transpose(1, 2)                # [BF,hw,C]
        a = audio.reshape(b * f, audio.shape[2], WIDTH)
        att = torch.softmax(self.q(tokens) @ self.k(a).transpose(1, 2) / math.sqrt(C), -1)
        tokens = tokens + self.o(att @ self.v(a))
        per = tokens.reshape(b, f, h * w, C)
        per = per + self.temporal(per.mean(1, keepdim=True))
        x = per.reshape(b * f, h * w, C).transpose(1, 2).reshape(b * f, C, h, w)
        x = self.conv_out(Fn.silu(self.mid(x)))              # [BF,4,h,w]
        return x.reshape(b, f, Z, h, w).permute(0, 2, 1, 3, 4)


BUILDERS = {"audio-encoder": WhisperTinyEncoder, "vae-encoder": VaeEncoder, "vae-decoder": VaeDecoder,
            "unet": UNet}


def build_models():
    return {k: sa.init_weights(BUILDERS[k](), SEED + s) for k, s in MODEL_SEEDS.items()}


def mouth_mask_rgb(res=RES):
    """LatentSync's mask.png shape at the tiny resolution: white (keep) everywhere except the lower
    face, a black (regenerate) band from 55 % of the height down to 90 % between 15 % and 85 % of the
    width. Returns packed RGB bytes."""
    out = bytearray()
    for y in range(res):
        for x in range(res):
            black = 0.55 * res <= y < 0.90 * res and 0.15 * res <= x < 0.85 * res
            out += bytes((0, 0, 0)) if black else bytes((255, 255, 255))
    return bytes(out)


def write_png(path, w, h, rgb):
    raw = b"".join(b"\x00" + rgb[y * w * 3:(y + 1) * w * 3] for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                 + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "sdk-runtime-onnx", "src", "test", "bundles", "latentsync-toy"))
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    torch.use_deterministic_algorithms(True)
    models = build_models()
    F = sa.FLOAT
    g = torch.Generator().manual_seed(SEED + 1000)
    h = RES // 8
    with torch.no_grad():
        mel = torch.randn(1, MEL, 3000, generator=g) * 0.3
        hs = models["audio-encoder"](mel)
        assert hs.shape == (1, 1500, 5, WIDTH) and torch.isfinite(hs).all()
        sa.export(models["audio-encoder"], (mel,), os.path.join(out, "audio_encoder.onnx"),
                  [("input_features", F, [1, MEL, 3000])], [("hidden_states", F, [1, 1500, 5, WIDTH])],
                  "audio-encoder")
        img = (torch.rand(2, 3, RES, RES, generator=g) * 2 - 1)
        sa.export(models["vae-encoder"], (img,), os.path.join(out, "vae_encoder.onnx"),
                  [("image", F, ["N", 3, RES, RES])], [("latent", F, ["N", Z, h, h])], "vae-encoder")
        lat = torch.randn(2, Z, h, h, generator=g) / SCALING
        sa.export(models["vae-decoder"], (lat,), os.path.join(out, "vae_decoder.onnx"),
                  [("latent", F, ["N", Z, h, h])], [("image", F, ["N", 3, RES, RES])], "vae-decoder")
        sample = torch.randn(2, 13, 3, h, h, generator=g)
        t = torch.tensor([951.0])
        audio = torch.randn(2, 3, 50, WIDTH, generator=g)
        eps = models["unet"](sample, t, audio)
        assert eps.shape == (2, Z, 3, h, h)
        # the audio matters (zero audio is the unconditional branch)
        assert (models["unet"](sample, t, audio * 0) - eps).abs().max() > 1e-3
        sa.export(models["unet"], (sample, t, audio), os.path.join(out, "unet.onnx"),
                  [("sample", F, ["B", 13, "F", h, h]), ("timestep", F, [1]), ("audio", F, ["B", "F", 50, WIDTH])],
                  [("noise", F, ["B", Z, "F", h, h])], "unet")
    write_png(os.path.join(out, "mask.png"), RES, RES, mouth_mask_rgb())
    shutil.copyfile(os.path.join(PREVIEW, BLAZEFACE), os.path.join(out, BLAZEFACE))
    shutil.copyfile(os.path.join(PREVIEW, "LICENSE-blazeface.txt"), os.path.join(out, "LICENSE-blazeface.txt"))
    manifest = {
        "format": 1,
        "family": "latentsync",
        "name": "latentsync-tiny",
        "license": "Apache-2.0 (random weights generated by tools/make_tiny_latentsync.py; "
                   "BlazeFace copied from models/preview, LICENSE-blazeface.txt)",
        "video": {"fps": 25, "resolution": RES, "chunkFrames": 16},
        "audio": {"sampleRate": 16000, "encoder": "whisper", "melBins": MEL, "width": WIDTH},
        "vae": {"scaling": SCALING, "shift": 0.0},
        "sampler": {"type": "ddim", "defaultSteps": 20},
        "guidance": {"type": "cfg-zero-audio", "scale": 1.5},
        "face": {"minScore": 0.5},
        "graphs": {},
    }
    for key, f in (("audio-encoder", "audio_encoder.onnx"), ("vae-encoder", "vae_encoder.onnx"),
                   ("vae-decoder", "vae_decoder.onnx"), ("unet", "unet.onnx"), ("face-detector", BLAZEFACE)):
        manifest["graphs"][key] = {"file": f, "sha256": sa.sha256(os.path.join(out, f))}
    manifest["tensors"] = {"mouth-mask": {"file": "mask.png", "sha256": sa.sha256(os.path.join(out, "mask.png"))}}
    manifest["notices"] = {"blazeface-license": {"file": "LICENSE-blazeface.txt",
                                                 "sha256": sa.sha256(os.path.join(out, "LICENSE-blazeface.txt"))}}
    with open(os.path.join(out, "avatar-bundle.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"wrote {out} ({total} bytes)")


if __name__ == "__main__":
    main()
