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

GRAPH_KEYS = ("audio-encoder", "image-encoder", "text-encoder", "vae-encoder", "vae-encoder-first",
              "vae-encoder-step", "dit", "vae-decoder-first", "vae-decoder")
REQUIRED_GRAPHS = ("audio-encoder", "image-encoder", "dit", "vae-decoder")
#: first-frame graph -> step graph: the pairs whose ``caches`` lists must agree (docs/BUNDLE-FORMAT.md)
CACHE_PAIRS = {"vae-decoder-first": "vae-decoder", "vae-encoder-first": "vae-encoder-step"}
KEY = r"[a-z0-9]+(-[a-z0-9]+)*"
VARIANT = r"[a-z0-9]{1,40}(-[a-z0-9]{1,40})*"
CACHE_NAME = r"[A-Za-z0-9_.:/-]{1,200}"
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


def _entry(bundle, entry, digests=None):
    """Re-hashes a graph/tensor entry's files; returns a clean copy. ``digests``: path -> sha256 of files
    already hashed (a variant shares its main graph's external data file: hashed once)."""
    digests = {} if digests is None else digests
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
            if p not in digests:
                digests[p] = sha256_file(p)
            ext.append({"file": x["file"], "sha256": digests[p], "size": os.path.getsize(p)})
        if len(ext) > 64:
            raise ValueError(f"{out['file']}: {len(ext)} external data files (at most 64)")
        out["externalData"] = ext
    return out


def _check_caches(graphs):
    """The ``caches`` lists as the SDK reads them: full entries, unique names, a pair's lists equal."""
    for key, e in graphs.items():
        caches = e.get("caches")
        if caches is None:
            continue
        names = set()
        for i, c in enumerate(caches):
            where = f"graphs.{key}.caches[{i}]"
            if set(c) != {"name", "output", "channels", "frames", "scale"}:
                raise ValueError(f"{where} must have exactly name, output, channels, frames, scale: {c}")
            if not all(re.fullmatch(CACHE_NAME, str(c[k])) for k in ("name", "output")) or c["name"] == c["output"]:
                raise ValueError(f"{where}: name and output must be two different tensor names")
            if not all(isinstance(c[k], int) and c[k] >= 1 for k in ("channels", "frames", "scale")):
                raise ValueError(f"{where}: channels, frames and scale must be integers >= 1")
            for n in (c["name"], c["output"]):
                if n in names:
                    raise ValueError(f"{where} reuses the name {n!r}")
                names.add(n)
    for first, step in CACHE_PAIRS.items():
        if first in graphs:
            if step not in graphs:
                raise ValueError(f"graph {first} needs its step graph {step}")
            if not graphs[step].get("caches"):
                raise ValueError(f"graphs.{step}.caches must list the caches {first} produces")
            if graphs[first].get("caches", graphs[step]["caches"]) != graphs[step]["caches"]:
                raise ValueError(f"graphs.{first}.caches and graphs.{step}.caches differ")
    if ("vae-encoder-first" in graphs) != ("vae-encoder-step" in graphs):
        raise ValueError("vae-encoder-first and vae-encoder-step come as a pair")


def _fold_variants(graphs):
    """``{"dit": e, "dit@onnxruntime": v}`` -> ``{"dit": {**e, "variants": {"onnxruntime": v}}}``."""
    out = {k: dict(v) for k, v in graphs.items() if "@" not in k}
    for k, v in graphs.items():
        if "@" not in k:
            continue
        key, name = k.split("@", 1)
        if key not in out:
            raise ValueError(f"graph variant {k!r} has no main graph {key!r}")
        if not re.fullmatch(VARIANT, name):
            raise ValueError(f"graph variant name {name!r} must be lowercase words joined by '-'")
        if "variants" in v:
            raise ValueError(f"graph variant {k!r} must not have variants of its own")
        out[key].setdefault("variants", {})[name] = dict(v)
    return out


def stableavatar_manifest(bundle, graphs, tensors, name="stableavatar", license="see the model cards",
                          width=512, height=512, fps=25, window_frames=81, slice_frames=84,
                          default_steps=50, text_scale=3.0, audio_scale=5.0, overlap=5, shift=5.0,
                          text=None):
    """The manifest dict; ``graphs``: key -> entry from export_graph; ``tensors``: key -> file name.

    Defaults are the reference's (inference.sh: 50 steps, text guidance 3.0, audio 5.0, overlap 5,
    81-frame windows, 25 fps; audio slice 84 frames at the reference HEAD). ``text``: None (only the
    precomputed prompts, ``maxTokens`` 512 for the SDK) or e.g. ``{"tokenizer": "sentencepiece",
    "model": {"file": "spiece.model"}, "maxTokens": N, ...}`` (recognised by the SDK, not run: such a
    bundle still only supports its precomputed prompts; ``maxTokens`` is what the SDK pads every prompt
    to and the longest it accepts, the DiT's ``text_len``); the model file gets its ``sha256`` here.

    ``graphs`` keys ``<key>@<variant>`` (e.g. ``dit@onnxruntime``) become ``graphs.<key>.variants.<variant>``
    (docs/BUNDLE-FORMAT.md "Graph variants"); ``caches`` lists are checked as the SDK reads them.
    """
    graphs = _fold_variants(graphs)
    missing = [k for k in REQUIRED_GRAPHS if k not in graphs]
    if "vae-encoder" not in graphs and "vae-encoder-first" not in graphs:
        missing.append("vae-encoder (or vae-encoder-first + vae-encoder-step)")
    if missing:
        raise ValueError(f"a stableavatar bundle needs the graphs {', '.join(missing)}")
    bad = [k for k in graphs if not re.fullmatch(KEY, k)]
    if bad:
        raise ValueError(f"graph keys must be lowercase words joined by '-': {bad}")
    _check_caches(graphs)
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
        m["text"] = dict(text)
        if "model" in text:  # the tokenizer model file: named and hashed like a graph
            m["text"]["model"] = _entry(bundle, {"file": text["model"]["file"]})
        mt = m["text"].get("maxTokens")
        if not isinstance(mt, int) or mt < 1:
            raise ValueError(f"text.maxTokens must be an integer >= 1, got {mt!r}")
    # the documented keys in the documented order, then any others (e.g. vae-decoder-first) as given
    order = [k for k in GRAPH_KEYS if k in graphs] + [k for k in graphs if k not in GRAPH_KEYS]
    m["graphs"] = {}
    digests = {}
    for k in order:
        e = _entry(bundle, {x: y for x, y in graphs[k].items() if x != "variants"}, digests)
        if "variants" in graphs[k]:
            e["variants"] = {n: _entry(bundle, v, digests) for n, v in graphs[k]["variants"].items()}
        m["graphs"][k] = e
    m["tensors"] = {k: _entry(bundle, {"file": f}) for k, f in tensors.items()}
    return m


def write_manifest(bundle, manifest):
    """Writes ``avatar-bundle.json`` (one JSON object, UTF-8, trailing newline)."""
    p = os.path.join(bundle, "avatar-bundle.json")
    with open(p, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return p


def write_tensorrt_profiles(bundle, profiles, precisions=None):
    """``tensorrt-profiles.properties``: ``{"graph.onnx/input": (min, opt, max)}`` with shape tuples, and
    ``{"graph.onnx/@precision": "fp16"|"bf16"|"fp32"}`` (each engine's precision)."""
    lines = []
    for key, p in (precisions or {}).items():
        if not key.endswith("/@precision") or p not in ("fp16", "bf16", "fp32"):
            raise ValueError(f"{key}: a precision line is GRAPH-FILE/@precision = fp16|bf16|fp32, got {p!r}")
        lines.append(f"{key} = {p}")
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
