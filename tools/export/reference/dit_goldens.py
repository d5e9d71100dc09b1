#!/usr/bin/python3
"""Goldens for the DiT exporter, made by the REFERENCE StableAvatar transformer at reduced size.

    dit_goldens.py REF_CHECKOUT OUT_DIR [--real-widths LAYERS]

REF_CHECKOUT is a StableAvatar checkout (46c0492). Its ``wan/models/wan_fantasy_transformer3d_1B.py``,
``vocal_projector_fantasy_1B.py``, ``vocal_projector_fantasy.py``, ``cache_utils.py`` and
``wan/dist/`` are copied at run time into a temporary ``wan`` package (the checkout's own
``wan/__init__.py`` chains imports this machine does not have), next to minimal stub packages for
what is not installed here (diffusers: ``ModelMixin`` = ``nn.Module``, ``register_to_config`` a
pass-through decorator; einops: ``rearrange`` for plain and grouped axes). Torch 1.13 lacks
``F.scaled_dot_product_attention`` and ``torch.backends.cuda.flash_sdp_enabled``; both are
provided with torch 2's math definition (softmax(q k^T / sqrt(d)) v, no mask). Nothing of the
reference is written to OUT_DIR except tensors.

The model is built at reduced size through the reference constructor (dim 32, 2 heads of 16,
2 layers, FFN 64, freq_dim 32, text_dim 24, text_len 10); the two members the reference constructor
sizes with hard-coded production widths are re-created through the reference classes with reduced
widths: ``img_emb = MLPProj(40, 32)`` (1280 in production) and ``vocal_projector =
FantasyTalkingVocalCondition1BModel(audio_in_dim=48, audio_proj_dim=32, dit_dim=32)`` (768/1536).
Weights are seeded random, scaled so activations stay O(1) and the audio path visibly changes the
output (the reference zero-initialises k_vocal/v_vocal).

Written (the real files' layout):
- ``config.json``: Wan-Fun's transformer config keys
- ``diffusion_pytorch_model.safetensors``: the Wan-Fun keys (everything but ``k_vocal``/``v_vocal``
  and ``vocal_projector.*``) holding *different* ("pre-fine-tuning") values
- ``transformer3d-square.pt``: ``torch.save(model.state_dict())`` of the whole transformer, as
  StableAvatar's training script saves it; the reference loads it over the base with strict=False
- ``cases.txt`` (``case dit.onnx``) and ``mha/cases.txt`` (``case dit_mha.onnx``, same tensors) in
  tools/OrtCheck.java's format, raw little-endian ``.bin`` tensors.

``--real-widths LAYERS`` builds the production widths (dim 1536, 12 heads of 128, FFN 8960, text
4096 x 512 tokens, CLIP 1280, audio 768 -> 1536) with LAYERS blocks and runs F = 21 latent frames
of 84-frame audio (167 tokens) at an 8x8 latent: a one-off check of the real shapes (RoPE split
22/21/21, adapter heads of 192), far too big for the committed fixtures.

Cases: the reference's three guidance branches (B=3: negative text + zero audio, negative text +
audio, positive text + audio, i.e. ``audio_gate = [0, 1, 1]``) at k = F and at k < F (the last
sliding window), plus a B=1 call (no guidance). ``audio_index`` is the reference's
``split_audio_sequence`` / ``split_tensor_with_padding`` window table (-1 = padding slot).
"""
import json
import os
import shutil
import struct
import sys
import tempfile

import torch

REDUCED = dict(DIM=32, HEADS=2, LAYERS=2, FFN=64, FREQ=32, TEXT_DIM=24, TEXT_LEN=10, CLIP_DIM=40, AUDIO_DIM=48)
REAL = dict(DIM=1536, HEADS=12, LAYERS=30, FFN=8960, FREQ=256, TEXT_DIM=4096, TEXT_LEN=512, CLIP_DIM=1280,
            AUDIO_DIM=768)

STUBS = {
    "diffusers/__init__.py": "",
    "diffusers/configuration_utils.py": '''
class ConfigMixin:
    """Stub: the reference only uses ConfigMixin for config bookkeeping."""
    config_name = "config.json"

    @classmethod
    def from_config(cls, config, **kwargs):
        params = dict(config)
        params.update(kwargs)
        import inspect
        names = inspect.signature(cls.__init__).parameters
        return cls(**{k: v for k, v in params.items() if k in names})


def register_to_config(init):
    return init
''',
    "diffusers/loaders/__init__.py": "",
    "diffusers/loaders/single_file_model.py": "class FromOriginalModelMixin:\n    pass\n",
    "diffusers/models/__init__.py": "",
    "diffusers/models/modeling_utils.py": "import torch\n\nclass ModelMixin(torch.nn.Module):\n    pass\n",
    "diffusers/utils/__init__.py": '''
import logging as _logging
WEIGHTS_NAME = "diffusion_pytorch_model.bin"


def is_torch_version(op, version):
    return True


class logging:
    @staticmethod
    def get_logger(name):
        return _logging.getLogger(name)
''',
    "einops/__init__.py": '''
import re
import torch


def _axes(side):
    out = []
    for m in re.finditer(r"\\(([^)]*)\\)|(\\w+)", side):
        out.append(m.group(1).split() if m.group(1) is not None else [m.group(2)])
    return out


def rearrange(x, pattern, **sizes):
    """einops.rearrange for patterns of named axes and parenthesised groups (no ellipsis)."""
    left, right = (s.strip() for s in pattern.split("->"))
    lin, rout = _axes(left), _axes(right)
    if len(lin) != x.dim():
        raise ValueError(f"rearrange {pattern!r}: tensor has {x.dim()} dims")
    known = dict(sizes)
    for group, n in zip(lin, x.shape):
        unknown = [a for a in group if a not in known]
        prod = 1
        for a in group:
            if a in known:
                prod *= known[a]
        if len(unknown) == 1:
            known[unknown[0]] = n // prod
        elif unknown:
            raise ValueError(f"rearrange {pattern!r}: cannot infer {unknown}")
    flat = [a for g in lin for a in g]
    x = x.reshape([known[a] for a in flat])
    order = [a for g in rout for a in g]
    x = x.permute([flat.index(a) for a in order])
    shape = []
    for g in rout:
        n = 1
        for a in g:
            n *= known[a]
        shape.append(n)
    return x.reshape(shape)
''',
}

COPIED = [
    "wan/models/wan_fantasy_transformer3d_1B.py",
    "wan/models/vocal_projector_fantasy_1B.py",
    "wan/models/vocal_projector_fantasy.py",
    "wan/models/cache_utils.py",
    "wan/dist/__init__.py",
    "wan/dist/wan_xfuser.py",
]


def _sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
    """torch 2's scaled_dot_product_attention (math path), as the reference's CPU fallback uses it."""
    assert attn_mask is None and not is_causal and dropout_p == 0.0
    scale = 1.0 / (q.shape[-1] ** 0.5)
    return torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, dim=-1) @ v


def import_reference(checkout, tmp):
    for rel, text in STUBS.items():
        path = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    for pkg in ("wan", "wan/models"):
        os.makedirs(os.path.join(tmp, pkg), exist_ok=True)
        open(os.path.join(tmp, pkg, "__init__.py"), "w").close()
    for rel in COPIED:
        src = os.path.join(checkout, rel)
        if not os.path.isfile(src):
            sys.exit(f"{src} not found: is {checkout} a StableAvatar checkout?")
        dst = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
    torch.nn.functional.scaled_dot_product_attention = _sdpa
    torch.backends.cuda.flash_sdp_enabled = lambda: True
    sys.path.insert(0, tmp)
    import importlib
    tr = importlib.import_module("wan.models.wan_fantasy_transformer3d_1B")
    vp = importlib.import_module("wan.models.vocal_projector_fantasy_1B")
    vf = importlib.import_module("wan.models.vocal_projector_fantasy")
    return tr, vp, vf


def randomize(model, seed):
    """Seeded weights: Linear/Conv ~ N(0, 1/fan_in), biases N(0, 0.1), norm weights 1 + N(0, 0.1),
    norm biases N(0, 0.1), modulations N(0, 0.5)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("modulation"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def is_vocal(key):
    return key.startswith("vocal_projector.") or ".k_vocal." in key or ".v_vocal." in key


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)


def audio_index_table(vf, n_tokens, frames):
    """The reference's window table: split_audio_sequence + split_tensor_with_padding(expand 4)
    applied to token numbers, so each slot says which token fills it (-1: zero padding)."""
    ranges = vf.split_audio_sequence(n_tokens, num_frames=4 * (frames - 1) + 1)
    ids = (torch.arange(n_tokens, dtype=torch.float64) + 1).reshape(1, n_tokens, 1)
    split, _ = vf.split_tensor_with_padding(ids, ranges, expand_length=4)
    return (split[0, :, :, 0].round().long() - 1)


def make(checkout, out, size, cases, clip_tokens=257, checkpoints=None, mha=True):
    """Builds the reference transformer at ``size`` (REDUCED's keys), writes its checkpoint files and
    the goldens of ``cases`` ((name, B, F, k, H, W, Lt, L) tuples) into ``out``.

    ``checkpoints``: folder for config.json + diffusion_pytorch_model.safetensors and the path of
    transformer3d-square.pt, as ``(wan_dir, transformer_file)`` (default: both in ``out``).
    ``clip_tokens``: the CLIP tokens fed in (the reference's cross-attention takes the first 257
    context tokens as the image's, so anything but 257 breaks the reference itself).
    """
    DIM, HEADS, LAYERS, FFN, FREQ = (size[k] for k in ("DIM", "HEADS", "LAYERS", "FFN", "FREQ"))
    TEXT_DIM, TEXT_LEN, CLIP_DIM, AUDIO_DIM = (size[k] for k in ("TEXT_DIM", "TEXT_LEN", "CLIP_DIM", "AUDIO_DIM"))
    wan_dir, transformer_file = checkpoints or (out, os.path.join(out, "transformer3d-square.pt"))
    os.makedirs(out, exist_ok=True)
    if mha:
        os.makedirs(os.path.join(out, "mha"), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="dit-ref-")
    try:
        tr, vp, vf = import_reference(checkout, tmp)
        torch.manual_seed(0)
        config = {"_class_name": "WanModel", "_diffusers_version": "0.30.0", "model_type": "i2v",
                  "text_len": TEXT_LEN, "in_dim": 36, "dim": DIM, "ffn_dim": FFN, "freq_dim": FREQ,
                  "out_dim": 16, "num_heads": HEADS, "num_layers": LAYERS, "eps": 1e-06}
        kwargs = {k: v for k, v in config.items() if not k.startswith("_")}
        model = tr.WanTransformer3DFantasyModel(text_dim=TEXT_DIM, patch_size=(1, 2, 2), qk_norm=True,
                                                window_size=(-1, -1), cross_attn_norm=True, **kwargs)
        model.img_emb = tr.MLPProj(CLIP_DIM, DIM)
        model.vocal_projector = vp.FantasyTalkingVocalCondition1BModel(
            audio_in_dim=AUDIO_DIM, audio_proj_dim=DIM, dit_dim=DIM)
        model.eval()

        # Wan-Fun base values, then StableAvatar's fine-tuned ones loaded over them (strict=False)
        randomize(model, 1)
        base = {k: v.clone() for k, v in model.state_dict().items() if not is_vocal(k)}
        randomize(model, 2)
        stable = {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict(base, strict=False)
        m, u = model.load_state_dict(stable, strict=False)
        assert not m and not u
        os.makedirs(wan_dir, exist_ok=True)
        os.makedirs(os.path.dirname(transformer_file) or ".", exist_ok=True)
        with open(os.path.join(wan_dir, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        write_safetensors(os.path.join(wan_dir, "diffusion_pytorch_model.safetensors"), base)
        torch.save(stable, transformer_file)

        lines, lines_mha = [], []
        g = torch.Generator().manual_seed(1234)
        for name, b, frames, k, hh, ww, lt, n_audio in cases:
            x = torch.randn(b, 16, k, hh, ww, generator=g)
            t = torch.full((b,), 731.25)
            context = torch.randn(b, lt, TEXT_DIM, generator=g)
            clip = torch.randn(1, clip_tokens, CLIP_DIM, generator=g).expand(b, -1, -1).contiguous()
            y = torch.randn(1, 20, k, hh, ww, generator=g).expand(b, -1, -1, -1, -1).contiguous()
            audio = torch.randn(1, n_audio, AUDIO_DIM, generator=g)
            index = audio_index_table(vf, n_audio, frames)
            gate = torch.tensor([0.0, 1.0, 1.0]) if b == 3 else torch.ones(1)
            vocal = torch.cat([torch.zeros_like(audio), audio, audio]) if b == 3 else audio
            seq_len = frames * (hh // 2) * (ww // 2)
            with torch.no_grad():
                ref = model(x=x, t=t, context=list(context), seq_len=seq_len, clip_fea=clip, y=y,
                            vocal_embeddings=vocal, video_sample_n_frames=4 * (frames - 1) + 1)
            assert ref.shape == x.shape, ref.shape
            tensors = [("in", "x", x), ("in", "t", t), ("in", "context", context), ("in", "clip", clip),
                       ("in", "y", y), ("in", "audio_tokens", audio), ("in", "audio_index", index),
                       ("in", "audio_gate", gate), ("out", "velocity", ref)]
            lines.append("case dit.onnx")
            lines_mha.append("case dit_mha.onnx")
            for io, tname, tensor in tensors:
                file = f"{name}_{tname}.bin"
                dtype = "int64" if tensor.dtype == torch.int64 else "float32"
                arr = tensor.detach().numpy().astype("<i8" if dtype == "int64" else "<f4")
                arr.tofile(os.path.join(out, file))
                shape = ",".join(str(s) for s in tensor.shape)
                lines.append(f"{io} {tname} {dtype} {shape} {file}")
                lines_mha.append(f"{io} {tname} {dtype} {shape} ../{file}")
            print(f"case {name}: B={b} F={frames} k={k} {hh}x{ww} Lt={lt} L={n_audio} W={index.shape[1]} "
                  f"max|v|={ref.abs().max():.3f}")
        with open(os.path.join(out, "cases.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        if mha:
            with open(os.path.join(out, "mha", "cases.txt"), "w") as f:
                f.write("\n".join(lines_mha) + "\n")
        return lines
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) not in (3, 5) or (len(sys.argv) == 5 and sys.argv[3] != "--real-widths"):
        sys.exit(__doc__)
    checkout, out = sys.argv[1], sys.argv[2]
    real = len(sys.argv) == 5
    size = dict(REAL, LAYERS=int(sys.argv[4])) if real else REDUCED
    cases = [  # name, B, F, k, H, W, Lt, L
        ("a", 3, 4, 4, 4, 6, 7, 20),
        ("b", 3, 4, 2, 6, 4, size["TEXT_LEN"], 17),
        ("c", 1, 3, 2, 4, 4, 5, 14),
    ]
    if real:
        cases = [("a", 3, 21, 21, 8, 8, 300, 167), ("b", 3, 21, 16, 8, 6, size["TEXT_LEN"], 121)]
    make(checkout, out, size, cases)


if __name__ == "__main__":
    main()
