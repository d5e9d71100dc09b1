#!/usr/bin/python3
"""Reference run of `models/latentsync-tiny`: LatentSync's inference loop (docs/REFERENCE.md §2) written
out in PyTorch on the exporter's own modules (tools/export/a4jexport/latentsync), built from the same
reduced real-architecture checkpoint tools/export_tiny_latentsync.py exports
(tools/export/tests/fixtures/latentsync), so the Java engine on ONNX Runtime can be checked against it
(LatentSyncParityTest). The modules run in float64, so that the goldens are their exact results
(rounded to float32 once, when written) and a parity test measures the SDK's float32 error alone: a
float32 run of this script is itself 1.2e-3 away from the float64 one in the final latents, because
torch 1.13's CPU GroupNorm for channels-last float32 input (the faces come from an HWC array) loses
2e-3 in the first GroupNorm of the masked faces, whose masked-out half is one constant value (with a
contiguous copy of the faces, the float32 run is 2.1e-5 away). Writes float32 little-endian goldens to
sdk-runtime-onnx/src/test/resources/golden/latentsync-tiny/.

    /usr/bin/python3 tools/reference_run_latentsync.py

The inputs are closed-form so that Java rebuilds them without files:
  faces  F = 20 aligned crops (R = 256), u8 face[f][y][x][c] = floor(127.5 + 100·sin(0.2·x + 0.13·(c+1)·y + 0.3·f))
  mel    [80][3000], mel[m][t] = 0.5·sin(0.01·(m+1)·t) for t < VALID, 0 after (normalised-domain padding)
  noise  one latent frame [4, 32, 32] from torch.randn (seed 7, float32), stored as noise.bin
What the loop does (diffusers 0.32 DDIM with LatentSync's config; eta 0):
  - audio: Whisper encoder on the mel, first int(VALID/2) rows kept, per frame i the rows 2i-4 .. 2i+5 clamped;
  - faces x/255·2-1; masked = faces·keep (the bundle's mask.png/255, per channel); mask latent = keep[0] at
    (8i, 8j); masked-image and reference latents = the VAE encoder's posterior mean ·0.18215 (reference =
    the unmasked faces), stored (scaled) as vae_masked.bin / vae_reference.bin [F,4,h,w];
  - per 16-frame chunk: latents = the one noise frame repeated over the chunk's frames; for each step k:
    the UNet on cat[latents, mask, masked, ref] for both branches, t, [zero audio, audio] -- a full
    forward (keeping DeepCache's cache) when k % 3 == 0, the shallow forward on the latest cache
    otherwise (sampler.deepCacheInterval 3, as DeepCacheSDHelper in LatentSync's inference.sh) --
    eps = u + 1.5·(c - u), DDIM step; then image = vae-decoder(latents/0.18215), to [0,255] with
    (x/2+0.5).clamp(0,1)·255, mixed: decoded·(1-keep) + face·keep.
"""
import os
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "export"))
from a4jexport.checkpoint import open_checkpoint  # noqa: E402
from a4jexport.latentsync import unet as unet_part  # noqa: E402
from a4jexport.latentsync import vae as vae_part  # noqa: E402
from a4jexport.latentsync import whisper as whisper_part  # noqa: E402

FIXTURE = os.path.join(HERE, "export", "tests", "fixtures", "latentsync")
BUNDLE = os.path.join(HERE, "..", "models", "latentsync-tiny")
FRAMES = 20
CHUNK = 16
STEPS = 5
INTERVAL = 3
GUIDANCE = 1.5
SCALING = 0.18215
RES = 256
Z = 4
VALID = 97            # mel frames of the "file": 48 encoder rows
DT = torch.float64    # see the module docstring
OUT = os.path.join(HERE, "..", "sdk-runtime-onnx", "src", "test", "resources", "golden", "latentsync-tiny")


def faces():
    f = np.arange(FRAMES, dtype=np.float64)[:, None, None, None]
    y = np.arange(RES, dtype=np.float64)[None, :, None, None]
    x = np.arange(RES, dtype=np.float64)[None, None, :, None]
    c = np.arange(3, dtype=np.float64)[None, None, None, :]
    return np.floor(127.5 + 100 * np.sin(0.2 * x + 0.13 * (c + 1) * y + 0.3 * f)).astype(np.uint8)


def mel():
    m = np.arange(80, dtype=np.float64)[:, None]
    t = np.arange(3000, dtype=np.float64)[None, :]
    out = (0.5 * np.sin(0.01 * (m + 1) * t)).astype(np.float32)
    out[:, VALID:] = 0
    return out


def ddim_table():
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float32) ** 2
    return torch.cumprod(1.0 - betas, 0).to(DT)   # the table in float32 as diffusers makes it


def build(part, path, *args):
    ck = open_checkpoint(path)
    try:
        return part.build(ck, *args).to(DT)
    finally:
        ck.close()


def main():
    torch.use_deterministic_algorithms(True)
    ck = os.path.join(FIXTURE, "checkpoints")
    whisper = build(whisper_part, os.path.join(ck, "whisper", "tiny.pt"))
    vae_dir = os.path.join(FIXTURE, "sd-vae-ft-mse")
    vae = build(vae_part, vae_part.find_weights(vae_dir), vae_part.read_config(vae_dir))
    unet = build(unet_part, os.path.join(ck, "latentsync_unet.pt"))
    width = whisper.width
    os.makedirs(OUT, exist_ok=True)
    with torch.no_grad():
        hs = whisper(torch.from_numpy(mel())[None].to(DT))[0]                      # [1500,5,W]
        rows = VALID // 2
        feats = hs[:rows]
        windows = []
        for i in range(FRAMES):
            idx = [min(max(2 * i - 4 + s, 0), rows - 1) for s in range(10)]
            windows.append(feats[idx].reshape(50, width))
        audio = torch.stack(windows)                                          # [F,50,W]
        rgb = np.asarray(Image.open(os.path.join(BUNDLE, "mask.png")).convert("RGB"))
        keep = torch.tensor(rgb.astype(np.float32) / 255).permute(2, 0, 1).to(DT)  # [3,R,R]
        face = torch.from_numpy(faces().astype(np.float32)).permute(0, 3, 1, 2).to(DT)  # [F,3,R,R] 0..255
        norm = face / 255 * 2 - 1
        masked = norm * keep
        mask_lat = keep[0, ::8, ::8]                                          # [h,w]
        masked_lat = vae.encoder(masked)[0] * SCALING                         # posterior mean [F,4,h,w]
        ref_lat = vae.encoder(norm)[0] * SCALING
        g = torch.Generator().manual_seed(7)
        h = RES // 8
        noise = torch.randn(Z, h, h, generator=g).to(DT)
        ac = ddim_table()
        step = 1000 // STEPS
        timesteps = [k * step + 1 for k in range(STEPS)][::-1]
        all_lat, mixed = [], []
        for start in range(0, FRAMES, CHUNK):
            n = min(CHUNK, FRAMES - start)
            sl = slice(start, start + n)
            x = noise[:, None].repeat(1, n, 1, 1)[None]                       # [1,4,n,h,w]
            cond = torch.cat([mask_lat.expand(1, 1, n, h, h),
                              masked_lat[sl].permute(1, 0, 2, 3)[None],
                              ref_lat[sl].permute(1, 0, 2, 3)[None]], 1)      # [1,9,n,h,w]
            a = audio[sl][None]
            aud = torch.cat([torch.zeros_like(a), a])
            cache = None
            for k, t in enumerate(timesteps):
                inp = torch.cat([x, cond], 1).repeat(2, 1, 1, 1, 1)
                ts = torch.tensor([float(t)], dtype=DT)
                if k % INTERVAL == 0:
                    eps2, cache = unet(inp, ts, aud, with_cache=True)
                else:
                    eps2 = unet.shallow(inp, ts, aud, cache)
                eps = eps2[0:1] + GUIDANCE * (eps2[1:2] - eps2[0:1])
                ab = ac[t]
                prev = t - step
                abp = ac[prev] if prev >= 0 else ac[0]
                x0 = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
                x = abp.sqrt() * x0 + (1 - abp).sqrt() * eps
            all_lat.append(x[0])
            img = vae.decoder(x[0].permute(1, 0, 2, 3) / SCALING)             # [n,3,R,R]
            img = (img / 2 + 0.5).clamp(0, 1) * 255
            mixed.append(img * (1 - keep) + face[sl] * keep)
        lat = torch.cat(all_lat, 1)                                           # [4,F,h,w]
        mix = torch.cat(mixed, 0).permute(0, 2, 3, 1)                         # [F,R,R,3]
    for name, arr in (("noise", noise), ("audio_windows_0_19", torch.stack([audio[0], audio[FRAMES - 1]])),
                      ("vae_masked", masked_lat), ("vae_reference", ref_lat),
                      ("latents", lat), ("mixed_0_17", torch.stack([mix[0], mix[17]]))):
        np.ascontiguousarray(arr.numpy().astype("<f4")).tofile(os.path.join(OUT, name + ".bin"))
    print("timesteps", timesteps, "latents |max|", float(lat.abs().max()), "mixed mean", float(mix.mean()))


if __name__ == "__main__":
    main()
