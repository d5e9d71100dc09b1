#!/usr/bin/python3
"""Reference run of the toy `latentsync` bundle (sdk-runtime-onnx/src/test/bundles/latentsync-toy): LatentSync's inference loop (docs/REFERENCE.md
§2) written out in PyTorch on the same seeded modules tools/make_tiny_latentsync.py exports, so the
Java engine on ONNX Runtime can be checked against it (LatentSyncParityTest). Writes float32
little-endian goldens to sdk-runtime-onnx/src/test/resources/golden/latentsync-tiny/.

    /usr/bin/python3 tools/reference_run_latentsync.py

The inputs are closed-form so that Java rebuilds them without files:
  faces  F = 20 aligned crops, u8 face[f][y][x][c] = floor(127.5 + 100·sin(0.2·x + 0.13·(c+1)·y + 0.3·f))
  mel    [80][3000], mel[m][t] = 0.5·sin(0.01·(m+1)·t) for t < VALID, 0 after (normalised-domain padding)
  noise  one latent frame [4, 8, 8] from torch.randn (seed 7), stored as noise.bin
What the loop does (diffusers 0.32 DDIM with LatentSync's config; eta 0):
  - audio: encoder on the mel, first int(VALID/2) rows kept, per frame i the rows 2i-4 .. 2i+5 clamped;
  - faces x/255·2-1; masked = faces·keep (mask.png/255, per channel); mask latent = keep[0] at (8i, 8j);
    masked-image and reference latents = vae-encoder(·)·0.18215 (reference = the unmasked faces);
  - per 16-frame chunk: latents = the one noise frame repeated over the chunk's frames; for each t:
    unet(cat[latents, mask, masked, ref] for both branches, t, [zero audio, audio]),
    eps = u + 1.5·(c - u), DDIM step; then image = vae-decoder(latents/0.18215), to [0,255] with
    (x/2+0.5).clamp(0,1)·255, mixed: decoded·(1-keep) + face·keep.
"""
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_tiny_latentsync as ls  # noqa: E402

FRAMES = 20
CHUNK = 16
STEPS = 5
GUIDANCE = 1.5
VALID = 97            # mel frames of the "file": 48 encoder rows
OUT = os.path.join(HERE, "..", "sdk-runtime-onnx", "src", "test", "resources", "golden", "latentsync-tiny")


def faces():
    f = np.arange(FRAMES, dtype=np.float64)[:, None, None, None]
    y = np.arange(ls.RES, dtype=np.float64)[None, :, None, None]
    x = np.arange(ls.RES, dtype=np.float64)[None, None, :, None]
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
    return torch.cumprod(1.0 - betas, 0)


def main():
    torch.use_deterministic_algorithms(True)
    models = ls.build_models()
    os.makedirs(OUT, exist_ok=True)
    with torch.no_grad():
        hs = models["audio-encoder"](torch.from_numpy(mel())[None])[0]       # [1500,5,384]
        rows = VALID // 2
        feats = hs[:rows]
        windows = []
        for i in range(FRAMES):
            idx = [min(max(2 * i - 4 + s, 0), rows - 1) for s in range(10)]
            windows.append(feats[idx].reshape(50, ls.WIDTH))
        audio = torch.stack(windows)                                          # [F,50,384]
        rgb = ls.mouth_mask_rgb()
        keep = torch.tensor(np.frombuffer(rgb, dtype=np.uint8).reshape(ls.RES, ls.RES, 3).astype(np.float32) / 255)
        keep = keep.permute(2, 0, 1)                                          # [3,R,R]
        face_u8 = faces()
        face = torch.from_numpy(face_u8.astype(np.float32)).permute(0, 3, 1, 2)  # [F,3,R,R] 0..255
        norm = face / 255 * 2 - 1
        masked = norm * keep
        mask_lat = keep[0, ::8, ::8]                                          # [h,w]
        enc = models["vae-encoder"]
        masked_lat = enc(masked) * ls.SCALING                                 # [F,4,h,w]
        ref_lat = enc(norm) * ls.SCALING
        g = torch.Generator().manual_seed(7)
        h = ls.RES // 8
        noise = torch.randn(ls.Z, h, h, generator=g)
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
            for t in timesteps:
                inp = torch.cat([x, cond], 1).repeat(2, 1, 1, 1, 1)
                eps2 = models["unet"](inp, torch.tensor([float(t)]), torch.cat([torch.zeros_like(a), a]))
                eps = eps2[0:1] + GUIDANCE * (eps2[1:2] - eps2[0:1])
                ab = ac[t]
                prev = t - step
                abp = ac[prev] if prev >= 0 else ac[0]
                x0 = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
                x = abp.sqrt() * x0 + (1 - abp).sqrt() * eps
            all_lat.append(x[0])
            img = models["vae-decoder"](x[0].permute(1, 0, 2, 3) / ls.SCALING)  # [n,3,R,R]
            img = (img / 2 + 0.5).clamp(0, 1) * 255
            mixed.append(img * (1 - keep) + face[sl] * keep)
        lat = torch.cat(all_lat, 1)                                           # [4,F,h,w]
        mix = torch.cat(mixed, 0).permute(0, 2, 3, 1)                         # [F,R,R,3]
    for name, arr in (("noise", noise), ("audio_windows_0_19", torch.stack([audio[0], audio[FRAMES - 1]])),
                      ("latents", lat), ("mixed_0_17", torch.stack([mix[0], mix[17]]))):
        np.ascontiguousarray(arr.numpy().astype("<f4")).tofile(os.path.join(OUT, name + ".bin"))
    print("timesteps", timesteps, "latents |max|", float(lat.abs().max()), "mixed mean", float(mix.mean()))


if __name__ == "__main__":
    main()
