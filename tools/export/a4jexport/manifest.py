"""``avatar-bundle.json`` for family ``stableavatar`` (docs/BUNDLE-FORMAT.md), prompt tensors and
TensorRT profiles.

Every file the manifest names is hashed here from the bytes on disk (graph entries that
``onnxio.export_graph`` returned are re-checked, so an entry can never describe another file).
"""
import json
import os
import re

import torch

from .checkpoint import write_safetensors
from .onnxio import sha256_file

GRAPH_KEYS = ("audio-encoder", "image-encoder", "text-encoder", "vae-encoder", "dit", "vae-decoder")
REQUIRED_GRAPHS = ("audio-encoder", "image-encoder", "vae-encoder", "dit", "vae-decoder")
SIZES = {"512x512": (512, 512), "480x832": (480, 832), "832x480": (832, 480)}


def parse_size(text):
    """``WIDTHxHEIGHT`` (multiples of 16, at most 4096) -> (width, height)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size {text!r} is not WIDTHxHEIGHT") from None
    if not (16 <= w <= 4096 and 16 <= h <= 4096) or w % 16 or h % 16:
        raise ValueError(f"size {text!r}: width and height must be multiples of 16 in [16, 4096]")
    return w, h


def write_embeddings(path, embeddings):
    """A prompt tensor file: safetensors with one float32 tensor ``embeddings [L, Dt]``."""
    e = torch.as_tensor(embeddings).detach().float()
    if e.dim() == 3 and e.shape[0] == 1:
        e = e[0]
    if e.dim() != 2 or e.shape[0] < 1:
        raise ValueError(f"prompt embeddings must be [L, Dt], got {tuple(e.shape)}")
    write_safetensors(path, {"embeddings": e.contiguous()})


def _entry(bundle, entry):
    """Re-hashes a graph/tensor entry's files; returns a clean copy."""
    out = dict(entry)
    f = os.path.join(bundle, out["file"])
    if not os.path.isfile(f):
        raise FileNotFoundError(f"manifest names {out['file']}, but {f} does not exist")
    out["sha256"] = sha256_file(f)
    if "externalData" in out:
        ext = []
        for x in out["externalData"]:
            p = os.path.join(bundle, x["file"])
            if not os.path.isfile(p):
                raise FileNotFoundError(f"manifest names external data {x['file']}, but {p} does not exist")
            ext.append({"file": x["file"], "sha256": sha256_file(p), "size": os.path.getsize(p)})
        if len(ext) > 64:
            raise ValueError(f"{out['file']}: {len(ext)} external data files (at most 64)")
        out["externalData"] = ext
    return out


def stableavatar_manifest(bundle, graphs, tensors, name="stableavatar", license="see the model cards",
                          width=512, height=512, fps=25, window_frames=81, slice_frames=84,
                          default_steps=50, text_scale=3.0, audio_scale=5.0, overlap=5, shift=5.0,
                          text=None):
    """The manifest dict; ``graphs``: key -> entry from export_graph; ``tensors``: key -> file name.

    Defaults are the reference's (inference.sh: 50 steps, text guidance 3.0, audio 5.0, overlap 5,
    81-frame windows, 25 fps; audio slice 84 frames at the reference HEAD). ``text``: None (only the
    precomputed prompts) or e.g. ``{"tokenizer": "sentencepiece", ...}`` once the SDK reads it.
    """
    missing = [k for k in REQUIRED_GRAPHS if k not in graphs]
    if missing:
        raise ValueError(f"a stableavatar bundle needs the graphs {', '.join(missing)}")
    bad = [k for k in graphs if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", k)]
    if bad:
        raise ValueError(f"graph keys must be lowercase words joined by '-': {bad}")
    for k in ("text-default", "text-negative"):
        if k not in tensors:
            raise ValueError(f"a stableavatar bundle needs the tensor {k}")
    if (window_frames - 1) % 4:
        raise ValueError(f"windowFrames {window_frames} is not 4n+1")
    parse_size(f"{width}x{height}")
    m = {
        "format": 1,
        "family": "stableavatar",
        "name": name,
        "license": license,
        "video": {"fps": fps, "width": width, "height": height, "windowFrames": window_frames,
                  "temporalStride": 4, "spatialStride": 8, "latentChannels": 16, "patch": [1, 2, 2]},
        "audio": {"sampleRate": 16000, "encoder": "wav2vec2", "normalize": "per-window",
                  "sliceFrames": slice_frames},
        "sampler": {"type": "flow-match-euler", "shift": shift, "shiftMode": "diffusers-0.30.1",
                    "trainTimesteps": 1000, "defaultSteps": default_steps},
        "guidance": {"type": "text-audio", "text": text_scale, "audio": audio_scale},
        "window": {"overlap": overlap, "weights": "log"},
    }
    if text is not None:
        m["text"] = text
    # the documented keys in the documented order, then any others (e.g. vae-decoder-first) as given
    order = [k for k in GRAPH_KEYS if k in graphs] + [k for k in graphs if k not in GRAPH_KEYS]
    m["graphs"] = {k: _entry(bundle, graphs[k]) for k in order}
    m["tensors"] = {k: _entry(bundle, {"file": f}) for k, f in tensors.items()}
    return m


def write_manifest(bundle, manifest):
    """Writes ``avatar-bundle.json`` (one JSON object, UTF-8, trailing newline)."""
    p = os.path.join(bundle, "avatar-bundle.json")
    with open(p, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return p


def write_tensorrt_profiles(bundle, profiles):
    """``tensorrt-profiles.properties``: ``{"graph.onnx/input": (min, opt, max)}`` with shape tuples."""
    lines = []
    for key, shapes in profiles.items():
        if len(shapes) != 3:
            raise ValueError(f"{key}: a profile is MIN, OPT, MAX")
        mn, opt, mx = shapes
        if not (len(mn) == len(opt) == len(mx)) or any(not (1 <= a <= b <= c) for a, b, c in zip(mn, opt, mx)):
            raise ValueError(f"{key}: need 1 <= MIN <= OPT <= MAX in every dimension: {shapes}")
        lines.append(f"{key} = " + " : ".join("x".join(str(d) for d in s) for s in shapes))
    p = os.path.join(bundle, "tensorrt-profiles.properties")
    with open(p, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return p
