#!/usr/bin/env python3
"""Golden numbers for dev.avatar4j.image.ImageOps (ImageOpsTest).

Run with a Python that has Pillow and torch (Debian: python3-pil, python3-torch):

    /usr/bin/python3 tools/golden/image_ops_golden.py

It prints the values that are hard-coded in
sdk-api/src/test/java/dev/avatar4j/image/ImageOpsTest.java. The test images are defined by integer
formulas that the Java test repeats exactly, so nothing but these printed numbers has to be shared.

- resize: Pillow Image.resize(size) with its default filter for RGB (BICUBIC, antialiased when
  downscaling), which is what StableAvatar applies to the reference image.
- clip: torch F.interpolate(mode='bicubic', align_corners=False) to 224x224, then *0.5+0.5, then
  (x - mean) / std with OpenAI CLIP constants, as in Wan's CLIPModel.visual.
"""
import zlib

import numpy as np
import PIL
import torch
import torch.nn.functional as F
from PIL import Image


def image_a(w, h):
    """Small test image: every pixel and channel differs."""
    a = np.zeros((h, w, 3), np.uint8)
    for y in range(h):
        for x in range(w):
            for c in range(3):
                a[y, x, c] = (x * 37 + y * 91 + c * 53 + x * y * 13) % 256
    return a


def image_b(w, h):
    """Larger textured test image, for wide (downscaling) filter supports."""
    a = np.zeros((h, w, 3), np.uint8)
    for y in range(h):
        for x in range(w):
            for c in range(3):
                a[y, x, c] = (x * 29 + y * 71 + c * 101 + ((x * y) % 23) * 11) % 256
    return a



print("Pillow", PIL.__version__, "torch", torch.__version__)
cases = [("A", image_a, 7, 5, 4, 3), ("A", image_a, 7, 5, 11, 9), ("A", image_a, 7, 5, 3, 8),
         ("B", image_b, 40, 30, 9, 7), ("B", image_b, 40, 30, 64, 13)]
for name, fn, w, h, ow, oh in cases:
    src = Image.fromarray(fn(w, h), "RGB")
    out = np.asarray(src.resize((ow, oh)))  # default resample for RGB = BICUBIC
    data = out.astype(np.uint8).tobytes()
    shown = f"\"{data.hex()}\"" if len(data) <= 300 else "(too long to print)"
    print(f"resize {name} {w}x{h} -> {ow}x{oh}: crc32=0x{zlib.crc32(data):08x} bytes={shown}")

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def clip_pre(t):
    x = F.interpolate(t[None], size=(224, 224), mode="bicubic", align_corners=False)[0]
    x = x.mul(0.5).add(0.5)
    m = torch.tensor(MEAN, dtype=torch.float32)[:, None, None]
    s = torch.tensor(STD, dtype=torch.float32)[:, None, None]
    return x.sub(m).div(s)


def tensor_small():
    t = np.zeros((3, 5, 6), np.float32)
    for c in range(3):
        for y in range(5):
            for x in range(6):
                t[c, y, x] = np.float32((c * 31 + y * 7 + x * 13) % 17) / np.float32(8) - np.float32(1)
    return torch.from_numpy(t)


def tensor_large(h=300, w=260):
    c, y, x = np.meshgrid(np.arange(3), np.arange(h), np.arange(w), indexing="ij")
    k = (c * 7 + y * 3 + x * 5 + (x * y) % 11) % 255
    t = (k.astype(np.float32) / np.float32(127.5) - np.float32(1)).astype(np.float32)
    return torch.from_numpy(t)


POS = (0, 1, 57, 111, 112, 200, 223)
for name, t in (("small 3x5x6", tensor_small()), ("large 3x300x260", tensor_large())):
    out = clip_pre(t).numpy()
    vals = [out[c, y, x] for c in range(3) for y in POS for x in POS]
    print(f"clip {name}: sums(float64)={[float(out[c].astype(np.float64).sum()) for c in range(3)]}")
    print("  samples c,y,x in", POS, ":")
    print("  " + ", ".join(f"{v!r}f" for v in map(float, vals)))
