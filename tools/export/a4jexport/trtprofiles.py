"""``tensorrt-profiles.properties`` for a stableavatar or longcat-avatar bundle (docs/BUNDLE-FORMAT.md
"Optional: TensorRT optimisation profiles").

One line per dynamic input of every graph the TensorRT backend loads (the plain ``dit.onnx``, not its
ONNX Runtime variant; the streamed VAE pairs, or the whole-clip encoder only when there is no pair;
the audio, image and text encoders). The inputs are read from the written graphs (without their
external data): static dims are copied, each symbolic dim is mapped by its name to the range the SDK
feeds; a symbolic dim this module cannot map is an error at export time rather than a bundle whose
engine TensorRT refuses to build for a real window.

Ranges (``MIN : OPT : MAX``):
  - output sizes 512x512, 480x832, 832x480 and the manifest's own size (latent ``h = H/8``, ``w = W/8``;
    OPT: the manifest's size, so a bundle exported with ``--size 128x128`` accepts it);
    a cache input ``h*S`` is S times the latent size, S checked against the manifest's ``caches`` scale;
  - latent frames ``k`` 1..F (F = (windowFrames - 1)/temporalStride + 1 = 21), OPT F; whole-clip
    encoder frames ``Fp`` 1..windowFrames;
  - guidance branches ``B`` 1..3, OPT 3; prompt tokens ``Lt`` / ``tokens`` 1..text.maxTokens (512), OPT the max;
  - wav2vec2 samples ``N``: from its receptive field (one token) to the longest window slice the SDK
    feeds (max(sliceFrames, windowFrames + 4) video frames at sampleRate / fps samples each), OPT the
    full slice (sliceFrames frames); ``audio_tokens`` ``L``: wav2vec2's token counts of those lengths;
    ``audio_index [F, W]``: F latent slots, W = 2 * floor(L / windowFrames * 2) + 9 slots per latent
    (AudioTokenIndex in the SDK).

longcat-avatar (LongCatEngine, LongCatGraphs, Persons in the SDK):
  - the same output sizes; ``vae-encoder`` frames ``Fp`` 1..contextFrames (the portrait is 1 frame, the
    re-encoded context of a continuation segment contextFrames), OPT contextFrames;
  - the DiT graphs run one guidance branch per call: ``B`` 1; ``Lt`` spans the token counts of the
    bundle's two precomputed prompts (``text-default``, OPT, and ``text-negative``), the only contexts
    the SDK can feed; ``person_mask [M, th, tw]``: the token grid (latent size / patch), M = 3 masks
    for P = 2 (two persons + background) and P + 1 for P >= 3 persons (up to MAX_PERSON_MASKS);
  - the Whisper encoder's input is static (one 30 s chunk): no line.

latentsync (LatentSyncEngine in the SDK): the face crop is the manifest's fixed ``resolution`` R (latent
R/8); ``vae-encoder`` / ``vae-decoder`` take ``N`` 1..chunkFrames faces per call (OPT a full chunk);
``unet`` and ``unet-shallow`` (DeepCache) ``B`` 1..2 guidance branches (OPT 2 when the manifest's
default guidance is not 1, else 1) and ``F`` 1..chunkFrames frames; Whisper and BlazeFace are static.
"""
import os

from . import manifest as mf

#: the sizes a bundle supports (width, height), docs/BUNDLE-FORMAT.md
SIZES = ((512, 512), (480, 832), (832, 480))
BRANCHES = 3
MAX_TOKENS = 512
#: wav2vec2-base's feature extractor (config.json conv_kernel / conv_stride)
W2V_KERNELS = (10, 3, 3, 3, 3, 2, 2)
W2V_STRIDES = (5, 2, 2, 2, 2, 2, 2)
EXPAND = 4  # AudioTokenIndex.EXPAND


def w2v_tokens(n, kernels=W2V_KERNELS, strides=W2V_STRIDES):
    """wav2vec2's token count for ``n`` samples (0 when too short for one)."""
    for k, s in zip(kernels, strides):
        if n < k:
            return 0
        n = (n - k) // s + 1
    return n


def _receptive(kernels, strides):
    n = 1
    while w2v_tokens(n, kernels, strides) < 1:
        n += 1
    return n


def _slots_width(tokens, clip_frames):
    return 2 * int(tokens / clip_frames * 4 / 2) + 1 + 2 * EXPAND


def ranges(manifest, w2v_config=None):
    """symbol tables per graph kind: ``{"pixel"|"dit"|"audio"|"image"|"text": {symbol: (min, opt, max)}}``."""
    v, a = manifest["video"], manifest["audio"]
    stride = v.get("spatialStride", 8)
    window = v.get("windowFrames", 81)
    tstride = v.get("temporalStride", 4)
    f = (window - 1) // tstride + 1
    def rng(values, opt):
        return (min(values), opt, max(values))
    hs = [h for _, h in SIZES] + [v["height"]]  # the manifest's own size is always in range
    ws = [w for w, _ in SIZES] + [v["width"]]
    H = rng(hs, v["height"])
    W = rng(ws, v["width"])
    h = tuple(x // stride for x in H)
    w = tuple(x // stride for x in W)
    cfg = w2v_config or {}
    kernels = tuple(cfg.get("conv_kernel", W2V_KERNELS))
    strides = tuple(cfg.get("conv_stride", W2V_STRIDES))
    per_frame = a["sampleRate"] // v["fps"]
    slice_frames = a.get("sliceFrames", 84)
    n = (_receptive(kernels, strides), slice_frames * per_frame, max(slice_frames, window + 4) * per_frame)
    lt = tuple(w2v_tokens(x, kernels, strides) for x in n)
    text = (1, *(2 * [manifest.get("text", {}).get("maxTokens", MAX_TOKENS)]))  # the SDK pads to maxTokens
    slots = tuple(_slots_width(x, window) for x in lt)
    return {
        "pixel": {"H": H, "W": W, "h": h, "w": w, "Fp": (1, window, window)},
        "dit": {"B": (1, BRANCHES, BRANCHES), "k": (1, f, f), "h": h, "w": w, "Lt": text,
                "L": lt, "F": (f, f, f), "W": slots},
        "audio": {"N": n},
        "image": {},  # S is fixed in the graph (the SDK resizes to it)
        "text": {"tokens": text, "Lt": text},
    }


#: manifest key -> symbol table; the graphs the TensorRT backend loads
KINDS = {"audio-encoder": "audio", "image-encoder": "image", "text-encoder": "text",
         "vae-encoder": "pixel", "vae-encoder-first": "pixel", "vae-encoder-step": "pixel",
         "dit": "dit", "vae-decoder-first": "pixel", "vae-decoder": "pixel"}


#: manifest key -> the precision of its TensorRT engine (``GRAPH-FILE/@precision`` lines), chosen from
#: what the reference runs each part in (Wan2.1 shared_config / image2video.py, StableAvatar
#: inference.py) and bench/gpu/precision_probe.py on the reduced architecture (BENCHMARKS.md):
#:   fp16: wav2vec2 and CLIP (the Wan I2V reference runs CLIP in fp16; both stay in range with a
#:         rounding error of 1e-3 or less per graph);
#:   bf16: the DiT (trained and run in bf16 by the reference; its value range is only known to fit
#:         bf16's) and umT5 (the reference runs it in bf16; T5 feed-forward activations overflow
#:         FP16's 65504 with real weights, hence transformers' FP16 clamp for T5);
#:   fp32: the VAE (the reference runs it in float32; BF16 rounding costs 7 % relative error on the
#:         first-frame decoder already at reduced size, and its FP16 range with real weights at
#:         480x832 is unmeasured).
PRECISION = {"audio-encoder": "fp16", "image-encoder": "fp16", "text-encoder": "bf16", "dit": "bf16",
             "vae-encoder": "fp32", "vae-encoder-first": "fp32", "vae-encoder-step": "fp32",
             "vae-decoder-first": "fp32", "vae-decoder": "fp32"}


#: the most person masks a longcat-avatar P = 3 graph's profile accepts (P + 1 with P persons)
MAX_PERSON_MASKS = 8


def _longcat_kind(key):
    if key.startswith("dit-p"):
        return "dit"
    return {"audio-encoder": "audio", "vae-encoder": "pixel", "vae-decoder-first": "pixel",
            "vae-decoder": "pixel"}.get(key)


#: longcat-avatar: the reference (LongCat-Video's pipeline) runs the DiT in bf16, the Wan VAE in float32
#: (as for stableavatar), and Whisper in half precision as openai-whisper does on a GPU.
LONGCAT_PRECISION = {"dit": "bf16", "pixel": "fp32", "audio": "fp16"}


def _latentsync_kind(key):
    return {"audio-encoder": "audio", "vae-encoder": "pixel", "vae-decoder": "pixel", "unet": "unet",
            "unet-shallow": "unet", "face-detector": "face"}.get(key)


#: latentsync: its inference pipeline runs in float16 on a GPU that supports it (``dtype =
#: torch.float16 if is_fp16_supported``, for the UNet and the VAE alike), Whisper in half precision as
#: openai-whisper does on a GPU; BlazeFace stays fp32 (tiny, and its scores gate every frame).
LATENTSYNC_PRECISION = {"unet": "fp16", "pixel": "fp16", "audio": "fp16", "face": "fp32"}


def latentsync_ranges(manifest):
    """symbol tables per graph kind of a latentsync bundle."""
    v = manifest["video"]
    r = v["resolution"]
    chunk = v.get("chunkFrames", 16)
    guided = float(manifest.get("guidance", {}).get("scale", 1.5)) != 1.0
    lat = (r // 8,) * 3
    return {"pixel": {"N": (1, chunk, chunk), "H": (r,) * 3, "W": (r,) * 3, "h": lat, "w": lat},
            "unet": {"B": (1, 2 if guided else 1, 2), "F": (1, chunk, chunk), "h": lat, "w": lat},
            "audio": {}, "face": {}}


_KIND = {"longcat-avatar": _longcat_kind, "latentsync": _latentsync_kind}
_PRECISION = {"longcat-avatar": LONGCAT_PRECISION, "latentsync": LATENTSYNC_PRECISION}


def _kind(manifest, key):
    family = _family(manifest)
    return _KIND[family](key) if family in _KIND else KINDS.get(key)


def _family(manifest):
    return manifest.get("family", "stableavatar")


def precisions(manifest):
    """``{"graph.onnx/@precision": "fp16"|"bf16"|"fp32"}`` for the bundle's TensorRT-loaded graphs."""
    family = _family(manifest)
    out = {}
    for key, entry in manifest["graphs"].items():
        p = _PRECISION[family].get(_kind(manifest, key)) if family in _PRECISION else PRECISION.get(key)
        if p is None:
            raise ValueError(f"tensorrt-profiles: no precision known for graph {key!r}")
        out[f"{entry['file']}/@precision"] = p
    return out


def _sizes(v):
    """(H, W, h, w) ranges over the published sizes and the manifest's own (OPT)."""
    stride = v.get("spatialStride", 8)
    hs = [h for _, h in SIZES] + [v["height"]]
    ws = [w for w, _ in SIZES] + [v["width"]]
    H = (min(hs), v["height"], max(hs))
    W = (min(ws), v["width"], max(ws))
    return H, W, tuple(x // stride for x in H), tuple(x // stride for x in W)


def _tokens(bundle, manifest, key):
    """The token count L of the bundle's ``[L, Dt]`` embeddings ``key`` (read from the file's header)."""
    from .checkpoint import read_safetensors_header
    entry = manifest.get("tensors", {}).get(key)
    if entry is None:
        raise ValueError(f"tensorrt-profiles: the manifest has no tensor {key!r}")
    header, _, _ = read_safetensors_header(os.path.join(bundle, entry["file"]))
    shapes = [e["shape"] for e in header.values()]
    if len(shapes) != 1 or len(shapes[0]) != 2:
        raise ValueError(f"tensorrt-profiles: {entry['file']} is not one [L, Dt] tensor")
    return shapes[0][0]


def longcat_ranges(bundle, manifest):
    """symbol tables per graph kind of a longcat-avatar bundle: ``{"pixel"|"dit"|"audio": {...}}``."""
    v = manifest["video"]
    H, W, h, w = _sizes(v)
    patch = v.get("patch", [1, 2, 2])
    ctx = v["contextFrames"]
    lt = [_tokens(bundle, manifest, "text-default")]
    if "text-negative" in manifest.get("tensors", {}):
        lt.append(_tokens(bundle, manifest, "text-negative"))
    return {
        "pixel": {"H": H, "W": W, "h": h, "w": w, "Fp": (1, ctx, ctx)},
        "dit": {"B": (1, 1, 1), "h": h, "w": w, "Lt": (min(lt), lt[0], max(lt)),
                "th": tuple(x // patch[1] for x in h), "tw": tuple(x // patch[2] for x in w)},
        "audio": {},
    }


def _person_masks(key):
    """``M`` of ``dit-pP``'s person_mask (P + 1 masks; 3 for P = 2; more persons share the P = 3 graph)."""
    p = int(key[len("dit-p")].strip())
    return (p + 1, p + 1, p + 1) if p == 2 else (p + 1, p + 1, MAX_PERSON_MASKS)


def _scaled(sym, table):
    """``h*8`` -> (base range, 8); ``h`` -> (range, 1); None when unknown."""
    base, _, factor = sym.partition("*")
    if base not in ("h", "w") or base not in table or (factor and not factor.isdigit()):
        return None
    return table[base], int(factor or 1)


def profiles(bundle, manifest, w2v_config=None):
    """``{"graph.onnx/input": (min, opt, max)}`` for the bundle's TensorRT-loaded graphs."""
    import onnx
    family = _family(manifest)
    longcat = family == "longcat-avatar"
    tables = (longcat_ranges(bundle, manifest) if longcat else latentsync_ranges(manifest)
              if family == "latentsync" else ranges(manifest, w2v_config))
    graphs = manifest["graphs"]
    out = {}
    for key, entry in graphs.items():
        kind = _kind(manifest, key)
        if kind is None:
            raise ValueError(f"tensorrt-profiles: no ranges known for graph {key!r}")
        if key == "vae-encoder" and "vae-encoder-step" in graphs:
            continue  # the SDK runs the streamed pair when the bundle has it
        table = tables[kind]
        if longcat and kind == "dit":
            table = dict(table, M=_person_masks(key))
        caches = {c["name"]: c for c in entry.get("caches") or []}
        model = onnx.load(os.path.join(bundle, entry["file"]), load_external_data=False)
        inits = {i.name for i in model.graph.initializer}
        for vi in model.graph.input:
            if vi.name in inits:
                continue
            dims = vi.type.tensor_type.shape.dim
            where = f"{entry['file']}/{vi.name}"
            if not any(d.dim_param or d.dim_value < 1 for d in dims):
                continue  # static: TensorRT needs no profile
            cache = caches.get(vi.name)
            if cache is not None and len(dims) == 5 and (dims[1].dim_value, dims[2].dim_value) != (
                    cache["channels"], cache["frames"]):
                raise ValueError(f"tensorrt-profiles: {where} is [{dims[1].dim_value}, {dims[2].dim_value}] channels,"
                                 f" frames, the manifest's caches entry says [{cache['channels']}, {cache['frames']}]")
            shape = ([], [], [])
            for i, d in enumerate(dims):
                sym = d.dim_param
                if d.dim_value >= 1 and not sym:
                    r = (d.dim_value,) * 3
                elif _scaled(sym, table) is not None and kind == "pixel":
                    base, s = _scaled(sym, table)
                    if cache is not None and cache.get("scale", 1) != s:
                        raise ValueError(f"tensorrt-profiles: {where} dim {i} is {sym!r}, the manifest's"
                                         f" caches entry says scale {cache.get('scale', 1)}")
                    r = tuple(x * s for x in base)
                elif sym in table:
                    r = table[sym]
                else:
                    raise ValueError(f"tensorrt-profiles: {where} dim {i} is {sym or '?'!r}, which the exporter"
                                     f" cannot map to a range (known here: {sorted(table)})")
                for s, x in zip(shape, r):
                    s.append(x)
            out[where] = tuple(tuple(s) for s in shape)
    return out


def write(bundle, manifest, w2v_config=None):
    """Writes the bundle's ``tensorrt-profiles.properties``; returns its path."""
    return mf.write_tensorrt_profiles(bundle, profiles(bundle, manifest, w2v_config), precisions(manifest))
