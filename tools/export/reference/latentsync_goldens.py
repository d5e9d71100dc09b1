#!/usr/bin/python3
"""Reduced LatentSync checkpoints and goldens, made by the REFERENCE modules with random weights.

    latentsync_goldens.py LATENTSYNC_CHECKOUT DIFFUSERS_CHECKOUT DEEPCACHE_CHECKOUT OUT_DIR

LATENTSYNC_CHECKOUT: bytedance/LatentSync (a229c39). Its ``latentsync/models/{unet,unet_blocks,
attention,resnet,motion_module,utils}.py`` and ``latentsync/whisper/whisper/model.py`` are copied at
run time into a temporary package (nothing of them is written to OUT_DIR).
DIFFUSERS_CHECKOUT: huggingface/diffusers. The pieces the LatentSync UNet imports from diffusers
(``get_timestep_embedding``, ``Timesteps``, ``TimestepEmbedding``, ``FeedForward``, ``GELU``,
``GEGLU``, ``get_activation``) and the VAE (``AutoencoderKL``, ``Encoder``, ``Decoder``,
``DiagonalGaussianDistribution``, ``UNetMidBlock2D``, ``DownEncoderBlock2D``, ``UpDecoderBlock2D``,
``ResnetBlock2D``, ``Downsample2D``, ``Upsample2D``, ``Attention``, ``AttnProcessor2_0``) are
extracted from its sources with ``ast`` and executed in a namespace with minimal stubs for the
package machinery (``ModelMixin`` = ``nn.Module``, ``register_to_config`` recording the arguments
as ``self.config``, ``BaseOutput`` a dataclass base, ``deprecate`` a no-op); einops' ``rearrange`` /
``repeat`` are stubbed for the patterns the reference uses.
DEEPCACHE_CHECKOUT: horseee/DeepCache (1691a3a); its ``DeepCache/extension/deepcache.py``
(``DeepCacheSDHelper``, what LatentSync's ``scripts/inference.py`` enables with ``cache_interval=3,
cache_branch_id=0``) is executed as is around the reference UNet. Torch 1.13 has no
``F.scaled_dot_product_attention``: torch 2's math definition is installed (no mask is used).

Written to OUT_DIR (the real file layout, so the documented command runs on it):
- ``checkpoints/latentsync_unet.pt``: ``torch.save({"state_dict": ..., "global_step": 0})`` of the
  reference ``UNet3DConditionModel`` built from stage2.yaml's model section with reduced widths
  (block_out_channels [32, 32], layers_per_block 1: a cross-attention down block, a plain down block,
  the cross-attention mid block, a plain and a cross-attention up block, motion modules in every
  down and up block, audio cross-attention of width 32); weights rounded to float16 and stored so.
- ``checkpoints/whisper/tiny.pt``: ``{"dims": ..., "model_state_dict": ...}`` of the reference
  ``Whisper`` (width 32, 2 heads, 4 encoder layers like tiny, 1500 audio positions; a 1-layer text
  decoder with a 64-token vocabulary), float16.
- ``sd-vae-ft-mse/config.json`` + ``diffusion_pytorch_model.safetensors``: the reference
  ``AutoencoderKL`` with block_out_channels [16, 16, 16, 16] (x8 like the real one), 1 layer per
  block, 8 norm groups, the mid-block attention under the deprecated names ``query/key/value/
  proj_attn`` as sd-vae-ft-mse's file has them, float32.
- ``whisper_ctx16.pt``: a second Whisper (16 audio positions) for the audio encoder's parity case
  (the 1500-position input of the bundle's graph would make a 1 MB golden).
- DeepCache: the reference UNet wrapped by ``DeepCacheSDHelper`` runs a full step (t = 981) and a
  cached step (t = 961, new sample) of a guided chunk; the full step's ``cache`` (the output of the
  last up block's layer before its last, caught with a forward hook) is an output of the first
  ``unet.onnx`` case and the input of the ``unet_shallow.onnx`` / ``unet_shallow_mha.onnx`` case,
  whose ``noise`` is the helper's cached-step output.
- ``cases.txt`` (OrtCheck format) for ``unet.onnx``, ``unet_mha.onnx``, ``vae_encoder.onnx``,
  ``vae_decoder.onnx`` of the exported bundle, ``whisper/cases.txt`` for ``audio_encoder.onnx`` of
  ``whisper_ctx16.pt``; raw little-endian tensors under ``goldens/``.

The same bytes on every run (seeded weights and inputs; torch.save of the zip format is
deterministic for the same tensors).
"""
import ast
import dataclasses
import json
import math
import os
import shutil
import struct
import sys
import tempfile
import types

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from a4jexport.checkpoint import write_safetensors  # noqa: E402

UNET_WIDTHS = [32, 32]
AUDIO_WIDTH = 32
VAE_WIDTHS = [16, 16, 16, 16]
SEED = 1247


# ------------------------------------------------------------------------------------------------
# stubs

def _sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """torch 2's F.scaled_dot_product_attention, math path (the reference passes no mask here)."""
    if attn_mask is not None or is_causal:
        raise NotImplementedError("masks are not used by the reference paths run here")
    s = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
    return torch.softmax(q @ k.transpose(-2, -1) * s, dim=-1) @ v


F.scaled_dot_product_attention = _sdpa


def register_to_config(init):
    import functools
    import inspect
    sig = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        cfg = {k: v for k, v in bound.arguments.items() if k != "self"}
        self.__dict__["config"] = types.SimpleNamespace(**cfg)
        init(self, *args, **kwargs)
    return wrapper


class ModelMixin(nn.Module):
    @property
    def dtype(self):
        return next(self.parameters()).dtype

    @classmethod
    def from_config(cls, config, **kw):
        import inspect
        names = inspect.signature(cls.__init__).parameters
        return cls(**{k: v for k, v in dict(config, **kw).items() if k in names})


class ConfigMixin:
    pass


class BaseOutput:
    def __getitem__(self, i):
        return [getattr(self, f.name) for f in dataclasses.fields(self)][i]


def _deprecate(*a, **k):
    return None


def extract(path, names, ns):
    """Executes the top-level definitions ``names`` of a source file in namespace ``ns``."""
    src = open(path, encoding="utf-8").read()
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    found = set()
    for node in tree.body:
        name = getattr(node, "name", None)
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        if name in names:
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
            code = "".join(lines[start:node.end_lineno])
            exec(compile(code, f"{path}:{name}", "exec", flags=__import__("__future__").annotations.compiler_flag,
                         dont_inherit=True), ns)
            found.add(name)
    missing = set(names) - found
    if missing:
        raise SystemExit(f"{path}: definitions not found: {sorted(missing)}")


def diffusers_namespace(diffusers):
    m = os.path.join(diffusers, "src", "diffusers", "models")
    ns = {"__name__": "diffusers_extracted", "torch": torch, "nn": nn, "F": F, "math": math, "np": np,
          "Optional": __import__("typing").Optional, "Tuple": __import__("typing").Tuple,
          "Union": __import__("typing").Union, "List": __import__("typing").List, "Dict": __import__("typing").Dict,
          "Any": __import__("typing").Any, "Callable": __import__("typing").Callable,
          "deprecate": _deprecate, "is_torch_version": lambda *a: False, "is_torch_npu_available": lambda: False,
          "is_xformers_available": lambda: False, "is_torch_xla_available": lambda: False,
          "maybe_allow_in_graph": lambda c: c, "apply_forward_hook": lambda f: f,
          "logger": __import__("logging").getLogger("diffusers"), "register_to_config": register_to_config,
          "ModelMixin": ModelMixin, "ConfigMixin": ConfigMixin, "BaseOutput": BaseOutput,
          "dataclass": dataclasses.dataclass, "inspect": __import__("inspect")}
    for cls in ("PeftAdapterMixin", "FromOriginalModelMixin", "AttentionMixin", "AutoencoderMixin"):
        ns[cls] = type(cls, (), {})
    # Attention.__init__ does ``from .normalization import FP32LayerNorm, LpNorm, RMSNorm`` (norm types
    # the VAE does not use): a package context with placeholders for them
    pkg = types.ModuleType("lsdiffusers")
    pkg.__path__ = []
    norm = types.ModuleType("lsdiffusers.normalization")
    for cls in ("FP32LayerNorm", "LpNorm", "RMSNorm"):
        setattr(norm, cls, type(cls, (), {}))
    sys.modules["lsdiffusers"], sys.modules["lsdiffusers.normalization"] = pkg, norm
    ns["__package__"] = "lsdiffusers"
    extract(os.path.join(m, "activations.py"), ["ACT2CLS", "get_activation", "GELU", "GEGLU"], ns)
    extract(os.path.join(m, "embeddings.py"), ["get_timestep_embedding", "TimestepEmbedding", "Timesteps"], ns)
    extract(os.path.join(m, "attention.py"), ["FeedForward"], ns)
    extract(os.path.join(m, "attention_processor.py"), ["Attention", "AttnProcessor2_0", "AttnProcessor",
                                                         "SpatialNorm"], ns)
    extract(os.path.join(m, "resnet.py"), ["ResnetBlock2D"], ns)
    extract(os.path.join(m, "downsampling.py"), ["Downsample2D"], ns)
    extract(os.path.join(m, "upsampling.py"), ["Upsample2D"], ns)
    extract(os.path.join(m, "unets", "unet_2d_blocks.py"), ["get_down_block", "get_up_block", "get_mid_block",
                                                            "UNetMidBlock2D", "DownEncoderBlock2D",
                                                            "UpDecoderBlock2D"], ns)
    extract(os.path.join(m, "autoencoders", "vae.py"), ["DecoderOutput", "Encoder", "Decoder",
                                                        "DiagonalGaussianDistribution"], ns)
    extract(os.path.join(m, "modeling_outputs.py"), ["AutoencoderKLOutput"], ns)
    extract(os.path.join(m, "autoencoders", "autoencoder_kl.py"), ["AutoencoderKL"], ns)
    return ns


EINOPS = '''
import re
import torch


def _axes(side):
    out = []
    for m in re.finditer(r"\\(([^)]*)\\)|(\\w+)", side):
        out.append(m.group(1).split() if m.group(1) is not None else [m.group(2)])
    return out


def rearrange(x, pattern, **sizes):
    left, right = (s.strip() for s in pattern.split("->"))
    lin, rout = _axes(left), _axes(right)
    known = dict(sizes)
    for group, n in zip(lin, x.shape):
        unknown = [a for a in group if a not in known]
        prod = 1
        for a in group:
            if a in known:
                prod *= known[a]
        if len(unknown) == 1:
            known[unknown[0]] = n // prod
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


def repeat(x, pattern, **sizes):
    raise NotImplementedError("repeat is only on a path the reference does not run here")
'''


def stub_packages(tmp, latentsync, ns):
    """A temporary sys.path entry with stub ``diffusers``/``einops`` and a copy of LatentSync's modules."""
    def write(rel, text):
        p = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
    write("einops/__init__.py", EINOPS)
    for rel in ("diffusers/__init__.py", "diffusers/configuration_utils.py", "diffusers/models/__init__.py",
                "diffusers/utils/__init__.py", "diffusers/models/embeddings.py", "diffusers/models/attention.py"):
        write(rel, "from latentsync_goldens_ns import *\n")
    mod = types.ModuleType("latentsync_goldens_ns")
    import logging as _logging

    class _Logging:
        @staticmethod
        def get_logger(name):
            return _logging.getLogger(name)
    mod.__dict__.update({"ConfigMixin": ConfigMixin, "register_to_config": register_to_config,
                         "ModelMixin": ModelMixin, "BaseOutput": BaseOutput, "logging": _Logging,
                         "TimestepEmbedding": ns["TimestepEmbedding"], "Timesteps": ns["Timesteps"],
                         "FeedForward": ns["FeedForward"], "AdaLayerNorm": None})
    mod.__all__ = list(mod.__dict__)
    sys.modules["latentsync_goldens_ns"] = mod
    write("latentsync/__init__.py", "")
    write("latentsync/utils/__init__.py", "")
    write("latentsync/utils/util.py", "def zero_rank_log(logger, msg):\n    logger.info(msg)\n")
    for f in ("__init__.py", "unet.py", "unet_blocks.py", "attention.py", "resnet.py", "motion_module.py", "utils.py"):
        src = os.path.join(latentsync, "latentsync", "models", f)
        dst = os.path.join(tmp, "latentsync", "models", f)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.exists(src):
            shutil.copyfile(src, dst)
        else:
            open(dst, "w").close()
    # whisper: model.py only (its transcribe/decoding imports need tiktoken etc., unused by the encoder)
    write("lswhisper/__init__.py", "")
    write("lswhisper/transcribe.py", "def transcribe(*a, **k):\n    raise NotImplementedError\n")
    write("lswhisper/decoding.py", "def detect_language(*a, **k):\n    raise NotImplementedError\n"
          "def decode(*a, **k):\n    raise NotImplementedError\n")
    shutil.copyfile(os.path.join(latentsync, "latentsync", "whisper", "whisper", "model.py"),
                    os.path.join(tmp, "lswhisper", "model.py"))
    sys.path.insert(0, tmp)


# ------------------------------------------------------------------------------------------------
# helpers

def randomize(model, seed, fp16=True, scale=1.0):
    """Seeded random weights (fan-in scaled so activations stay O(1)), optionally rounded to fp16."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.dim() >= 2:
                fan_in = p[0].numel()
                v = torch.randn(p.shape, generator=g) * (scale / math.sqrt(fan_in))
            elif name.endswith("weight") and ("norm" in name or "ln" in name):
                v = 1.0 + 0.1 * torch.randn(p.shape, generator=g)
            else:
                v = 0.1 * torch.randn(p.shape, generator=g)
            if fp16:
                v = v.half().float()
            p.copy_(v)


def save_bin(path, t):
    t = t.detach().contiguous()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if t.dtype == torch.int64:
        t.numpy().astype("<i8").tofile(path)
        return "int64"
    t.float().numpy().astype("<f4").tofile(path)
    return "float32"


class Cases:
    def __init__(self, root, rel_dir):
        self.root, self.rel, self.lines = root, rel_dir, []

    def case(self, graph):
        self.lines.append(f"case {graph}")

    def add(self, kind, name, tensor, tag):
        rel = f"{self.rel}/{tag}_{name}.bin" if self.rel else f"{tag}_{name}.bin"
        dtype = save_bin(os.path.join(self.root, rel), tensor)
        self.lines.append(f"{kind} {name} {dtype} {','.join(str(d) for d in tensor.shape)} {rel}")

    def write(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(self.lines) + "\n")


def unet_config(latentsync):
    """The tool's copy of stage2.yaml's model section (checked against the checkout's yaml, scalar
    keys and lists of scalars) with reduced widths."""
    import re
    from a4jexport.latentsync.unet import CONFIG
    text = open(os.path.join(latentsync, "configs", "unet", "stage2.yaml"), encoding="utf-8").read()
    flat = dict(CONFIG)
    flat.update(CONFIG["motion_module_kwargs"])
    for k, v in flat.items():
        if isinstance(v, dict):
            continue
        m = re.search(r"^\s*" + re.escape(k) + r":\s*(.*?)\s*(#.*)?$", text, re.M)
        if m is None or not m.group(1):
            if isinstance(v, list) and re.search(r"^\s*" + re.escape(k) + r":\s*$", text, re.M):
                continue   # a block list (down_block_types: [ ... ] over several lines): checked below
            raise SystemExit(f"stage2.yaml has no {k} (has the reference config changed?)")
        have = m.group(1)
        if isinstance(v, list) and not have.endswith("]"):
            continue   # a list spread over several lines: checked below
        try:
            have = json.loads(have.replace("'", '"').lower() if have.lower() in ("true", "false") else have)
        except ValueError:
            pass
        if isinstance(v, float):
            have = float(have)
        if have != v:
            raise SystemExit(f"stage2.yaml: {k} is {have!r}, the tool's CONFIG {v!r}")
    for k in ("down_block_types", "up_block_types", "attention_block_types"):
        m = re.search(re.escape(k) + r":\s*\[([^\]]*)\]", text, re.S)
        items = [x.strip().strip('"') for x in m.group(1).split(",") if x.strip()] if m else \
            re.findall(r'^\s*-\s*(\S+)', text[text.index(k + ":"):].split("\n", 1)[1].split(":", 1)[0], re.M)
        want = CONFIG.get(k) or CONFIG["motion_module_kwargs"][k]
        if items[:len(want)] != list(want):
            raise SystemExit(f"stage2.yaml: {k} is {items}, the tool's CONFIG {want}")
    cfg = dict(CONFIG)
    cfg["block_out_channels"] = list(UNET_WIDTHS)
    cfg["down_block_types"] = ["CrossAttnDownBlock3D", "DownBlock3D"]
    cfg["up_block_types"] = ["UpBlock3D", "CrossAttnUpBlock3D"]
    cfg["layers_per_block"] = 1
    cfg["cross_attention_dim"] = AUDIO_WIDTH
    # down block i is at "resolution" 2**i, up block i at 2**(3 - i) (hard-coded for 4 levels in unet.py):
    # with 2 levels, [1, 2, 4, 8] puts motion modules in every down and up block, as the real config does
    cfg["motion_module_resolutions"] = [1, 2, 4, 8]
    cfg["motion_module_kwargs"] = dict(CONFIG["motion_module_kwargs"])
    return cfg


def main(argv):
    if len(argv) != 4:
        raise SystemExit(__doc__)
    latentsync, diffusers, deepcache, out = (os.path.abspath(a) for a in argv)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    ns = diffusers_namespace(diffusers)
    tmp = tempfile.mkdtemp(prefix="lsref-")
    try:
        stub_packages(tmp, latentsync, ns)
        run(latentsync, ns, out, deepcache)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def deepcache_helper(checkout):
    ns = {"__name__": "deepcache_extracted"}
    path = os.path.join(checkout, "DeepCache", "extension", "deepcache.py")
    exec(compile(open(path, encoding="utf-8").read(), path, "exec"), ns)
    return ns["DeepCacheSDHelper"]


def run(latentsync, ns, out, deepcache):
    from latentsync.models.unet import UNet3DConditionModel
    import lswhisper.model as wm
    torch.set_grad_enabled(False)
    cases = Cases(out, "goldens")

    # ---- UNet
    cfg = unet_config(latentsync)
    unet = UNet3DConditionModel.from_config(cfg).eval()
    randomize(unet, SEED)
    sd = {k: v.detach().clone().half() if v.is_floating_point() else v for k, v in unet.state_dict().items()}
    os.makedirs(os.path.join(out, "checkpoints", "whisper"), exist_ok=True)
    torch.save({"state_dict": sd, "global_step": 0}, os.path.join(out, "checkpoints", "latentsync_unet.pt"))
    # the reference runs with the weights as stored (fp16 values; the pe buffers rounded as stored)
    unet.load_state_dict({k: v.float() for k, v in sd.items()})
    g = torch.Generator().manual_seed(SEED + 1)
    shapes = [("a", 2, 4, 16), ("b", 1, 3, 8)]   # guided chunk (B=2: zero audio + audio), unguided
    unet_cases = []
    for tag, b, f, s in shapes:
        sample = torch.randn(b, 13, f, s, s, generator=g)
        audio = torch.randn(b, f, 50, AUDIO_WIDTH, generator=g)
        if b == 2:
            audio[0] = 0
        t = torch.tensor([981 if tag == "a" else 21], dtype=torch.int64)
        noise = unet(sample, t, encoder_hidden_states=audio.reshape(b * f, 50, AUDIO_WIDTH)).sample
        unet_cases.append((tag, sample, t.float(), audio, noise))
        print(f"unet case {tag}: noise {tuple(noise.shape)} max |noise| {noise.abs().max():.3f}")
    # DeepCache around the reference UNet: a full step, then a cached one (the helper counts steps by
    # the timestep's index in scheduler.timesteps, full when it is a multiple of cache_interval)
    b, f, s = 2, 4, 16
    d_sample0 = torch.randn(b, 13, f, s, s, generator=g)
    d_sample1 = torch.randn(b, 13, f, s, s, generator=g)
    d_audio = torch.randn(b, f, 50, AUDIO_WIDTH, generator=g)
    d_audio[0] = 0
    Helper = deepcache_helper(deepcache)
    pipe = types.SimpleNamespace(unet=unet, scheduler=types.SimpleNamespace(timesteps=torch.tensor([981, 961, 941])))
    helper = Helper(pipe=pipe)
    helper.set_params(cache_interval=3, cache_branch_id=0)
    helper.enable()
    caught = []
    last = unet.up_blocks[-1]
    before_last = last.motion_modules[-2] if last.motion_modules[-2] is not None else last.attentions[-2]
    hook = before_last.register_forward_hook(lambda mod, i, o: caught.append(o if torch.is_tensor(o) else o[0]))
    enc = d_audio.reshape(b * f, 50, AUDIO_WIDTH)
    full = unet(d_sample0, torch.tensor([981]), encoder_hidden_states=enc).sample
    cache = caught[-1].clone()
    cached = unet(d_sample1, torch.tensor([961]), encoder_hidden_states=enc).sample
    hook.remove()
    helper.disable()
    check = unet(d_sample1, torch.tensor([961]), encoder_hidden_states=enc).sample
    print(f"deepcache: cache {tuple(cache.shape)}; cached step differs from a full step by"
          f" {float((cached - check).abs().max()):.3f} (max |noise| {float(check.abs().max()):.3f})")
    for graph in ("unet.onnx", "unet_mha.onnx"):
        for tag, sample, t, audio, noise in unet_cases:
            cases.case(graph)
            cases.add("in", "sample", sample, f"unet_{tag}")
            cases.add("in", "timestep", t, f"unet_{tag}")
            cases.add("in", "audio", audio, f"unet_{tag}")
            cases.add("out", "noise", noise, f"unet_{tag}")
        cases.case(graph)
        cases.add("in", "sample", d_sample0, "deepcache_full")
        cases.add("in", "timestep", torch.tensor([981.0]), "deepcache_full")
        cases.add("in", "audio", d_audio, "deepcache")
        cases.add("out", "noise", full, "deepcache_full")
        cases.add("out", "cache", cache, "deepcache_full")
    for graph in ("unet_shallow.onnx", "unet_shallow_mha.onnx"):
        cases.case(graph)
        cases.add("in", "sample", d_sample1, "deepcache_step")
        cases.add("in", "timestep", torch.tensor([961.0]), "deepcache_step")
        cases.add("in", "audio", d_audio, "deepcache")
        cases.add("in", "cache", cache, "deepcache_full")
        cases.add("out", "noise", cached, "deepcache_step")

    # ---- VAE
    AutoencoderKL = ns["AutoencoderKL"]
    vcfg = {"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": VAE_WIDTHS,
            "down_block_types": ["DownEncoderBlock2D"] * 4, "in_channels": 3, "latent_channels": 4,
            "layers_per_block": 1, "norm_num_groups": 8, "out_channels": 3, "sample_size": 64,
            "up_block_types": ["UpDecoderBlock2D"] * 4}
    vae = AutoencoderKL(**{k: v for k, v in vcfg.items() if not k.startswith("_")}).eval()
    randomize(vae, SEED + 2, fp16=False)
    vsd = {}
    for k, v in vae.state_dict().items():   # sd-vae-ft-mse's file has the deprecated attention names
        for new, old in ((".to_q.", ".query."), (".to_k.", ".key."), (".to_v.", ".value."), (".to_out.0.", ".proj_attn.")):
            if ".attentions." in k:
                k = k.replace(new, old)
        vsd[k] = v.contiguous()
    vdir = os.path.join(out, "sd-vae-ft-mse")
    os.makedirs(vdir, exist_ok=True)
    write_safetensors(os.path.join(vdir, "diffusion_pytorch_model.safetensors"), vsd)
    with open(os.path.join(vdir, "config.json"), "w", encoding="utf-8") as fh:
        json.dump(vcfg, fh, indent=2)
        fh.write("\n")
    image = torch.rand(2, 3, 64, 64, generator=g) * 2 - 1
    post = vae.encode(image).latent_dist
    cases.case("vae_encoder.onnx")
    cases.add("in", "image", image, "vaeenc")
    cases.add("out", "latent", post.mean, "vaeenc")
    cases.add("out", "std", post.std, "vaeenc")
    latent = torch.randn(2, 4, 8, 8, generator=g)
    cases.case("vae_decoder.onnx")
    cases.add("in", "latent", latent, "vaedec")
    cases.add("out", "image", vae.decode(latent).sample, "vaedec")
    print(f"vae: std in [{post.std.min():.3f}, {post.std.max():.3f}]")
    cases.write(os.path.join(out, "cases.txt"))

    # ---- Whisper (bundle: 1500 positions; parity: 16)
    def whisper(ctx, seed):
        dims = wm.ModelDimensions(n_mels=80, n_audio_ctx=ctx, n_audio_state=AUDIO_WIDTH, n_audio_head=2,
                                  n_audio_layer=4, n_vocab=64, n_text_ctx=8, n_text_state=AUDIO_WIDTH,
                                  n_text_head=2, n_text_layer=1)
        m = wm.Whisper(dims).eval()
        randomize(m, seed)
        wsd = {k: v.half() for k, v in m.state_dict().items()}
        m.load_state_dict({k: v.float() for k, v in wsd.items()})
        return m, {"dims": dataclasses.asdict(dims), "model_state_dict": wsd}
    m, ck = whisper(1500, SEED + 3)
    torch.save(ck, os.path.join(out, "checkpoints", "whisper", "tiny.pt"))
    m, ck = whisper(16, SEED + 4)
    torch.save(ck, os.path.join(out, "whisper_ctx16.pt"))
    os.makedirs(os.path.join(out, "whisper"), exist_ok=True)
    wc = Cases(os.path.join(out, "whisper"), "../goldens")
    mel = torch.randn(1, 80, 32, generator=g)
    _, emb = m.encoder(mel, include_embeddings=True)
    wc.case("audio_encoder.onnx")
    wc.add("in", "input_features", mel, "whisper")
    # audio2feature.py: encoder_embeddings.transpose(0, 2, 1, 3) -> [1, T, layers + 1, width]
    wc.add("out", "hidden_states", torch.from_numpy(emb).permute(0, 2, 1, 3), "whisper")
    os.makedirs(os.path.join(out, "whisper"), exist_ok=True)
    wc.write(os.path.join(out, "whisper", "cases.txt"))
    print(f"whisper: embeddings {tuple(emb.shape)} (layers on axis 1 before the transpose)")


if __name__ == "__main__":
    main(sys.argv[1:])
