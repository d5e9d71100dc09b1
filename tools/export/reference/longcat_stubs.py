"""Imports LongCat-Video's reference DiT modules from a checkout on this machine (torch 1.13, no
diffusers/einops/flash-attn/xformers/triton): a temporary package tree holds COPIES of the reference
files it needs next to minimal stand-ins for what is not installed; nothing of the reference is
written anywhere else. Used by longcat_dit_goldens.py.

Stand-ins: diffusers (``ModelMixin`` = ``nn.Module``, ``register_to_config`` recording the
constructor's arguments as ``self.config``),
safetensors.torch (``load_file`` through a4jexport.checkpoint, for ``load_lora``), einops (``rearrange``/``repeat`` for named axes, groups and
``...``), ``context_parallel_util`` (one rank: size 1, rank 0), ``bsa_interface`` (refuses: block
sparse attention is off), xformers (``memory_efficient_attention`` = softmax(q k^T / sqrt(d)) v in
[B, M, H, K] layout with ``BlockDiagonalMask.from_seqlens`` for the varlen text cross-attention, so the
reference's own ``enable_xformers`` branches run: ``Attention._process_attn`` raises and
``SingleStreamAttention`` has no branch without one of the fused kernels), and empty modules for the
audio tools ``torch_utils`` imports (librosa, imageio, pyloudnorm, scipy, torchvision, tqdm). Torch 1.13
lacks ``torch.compile`` and ``torch.compiler.disable``: both become the identity; without CUDA,
``torch.cuda.empty_cache``/``ipc_collect`` (``torch_utils.torch_gc``) do nothing; torch 2's
``F.scaled_dot_product_attention`` (the VAE's attention block) is its math definition.
"""
import importlib
import os
import shutil
import sys
import types

import torch

EINOPS = r'''
import re
import torch


_UNIT = [0]


def _name(a):
    if a == "1":  # an anonymous axis of size 1
        _UNIT[0] += 1
        return f"_u{_UNIT[0]}"
    return a


def _parse(side, rank=None):
    groups = []
    for m in re.finditer(r"\(([^)]*)\)|(\.\.\.)|(\w+)", side):
        if m.group(1) is not None:
            groups.append([_name(a) for a in m.group(1).split()])
        elif m.group(2):
            groups.append(["..."])
        else:
            groups.append([_name(m.group(3))])
    return groups


def _expand(groups, ell):
    out = []
    for g in groups:
        if g == ["..."]:
            out.extend([[a] for a in ell])
        else:
            out.append([a for a in g])
    return out


def _prepare(x, pattern, sizes):
    left, right = (s.strip() for s in pattern.split("->"))
    lin, rout = _parse(left), _parse(right)
    n_ell = x.dim() - (len(lin) - (1 if ["..."] in lin else 0))
    ell = [f"_e{i}" for i in range(max(n_ell, 0))] if ["..."] in lin else []
    lin, rout = _expand(lin, ell), _expand(rout, ell)
    if len(lin) != x.dim():
        raise ValueError(f"{pattern!r}: tensor has {x.dim()} dims")
    known = dict(sizes)
    for g in lin + rout:
        for a in g:
            if a.startswith("_u"):
                known[a] = 1
    for group, n in zip(lin, x.shape):
        unknown = [a for a in group if a not in known]
        prod = 1
        for a in group:
            if a in known:
                prod *= known[a]
        if len(unknown) == 1:
            known[unknown[0]] = n // prod
        elif unknown:
            raise ValueError(f"{pattern!r}: cannot infer {unknown}")
    flat = [a for g in lin for a in g]
    return x.reshape([known[a] for a in flat]), flat, rout, known


def rearrange(x, pattern, **sizes):
    x, flat, rout, known = _prepare(x, pattern, sizes)
    order = [a for g in rout for a in g if a in flat]
    x = x.permute([flat.index(a) for a in order])
    return x.reshape([_prod(known, g) for g in rout])


def repeat(x, pattern, **sizes):
    x, flat, rout, known = _prepare(x, pattern, sizes)
    order = [a for g in rout for a in g]
    present = [a for a in order if a in flat]
    x = x.permute([flat.index(a) for a in present])
    shape, j = [], 0
    for a in order:
        if a in flat:
            j += 1
        else:
            x = x.unsqueeze(j)
            j += 1
        shape.append(known[a])
    x = x.expand(shape)
    return x.reshape([_prod(known, g) for g in rout])


def _prod(known, g):
    n = 1
    for a in g:
        n *= known[a]
    return n
'''

XFORMERS_OPS = r'''
import torch


def _attend(q, k, v, bias=None):
    # [B, M, H, K] layout
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    s = torch.matmul(q, k.transpose(-2, -1)) * (q.shape[-1] ** -0.5)
    if bias is not None:
        s = s + bias
    return torch.softmax(s, dim=-1).matmul(v).transpose(1, 2).contiguous()


class _BlockDiagonalMask:
    def __init__(self, q_seqlen, kv_seqlen):
        self.q_seqlen, self.kv_seqlen = list(q_seqlen), list(kv_seqlen)

    @classmethod
    def from_seqlens(cls, q_seqlen, kv_seqlen=None):
        return cls(q_seqlen, kv_seqlen if kv_seqlen is not None else q_seqlen)

    def bias(self):
        m = torch.full((sum(self.q_seqlen), sum(self.kv_seqlen)), float("-inf"))
        qi = ki = 0
        for a, b in zip(self.q_seqlen, self.kv_seqlen):
            m[qi:qi + a, ki:ki + b] = 0
            qi += a
            ki += b
        return m


class fmha:
    class attn_bias:
        BlockDiagonalMask = _BlockDiagonalMask


def memory_efficient_attention(q, k, v, attn_bias=None, op=None):
    return _attend(q, k, v, None if attn_bias is None else attn_bias.bias())
'''

CONFIG_UTILS = r'''
import functools
import inspect


class _Config(dict):
    def __getattr__(self, name):
        return self.get(name)


class ConfigMixin:
    config_name = "config.json"

    @property
    def config(self):
        return self.__dict__.get("_a4j_config", _Config())


def register_to_config(init):
    """Records the constructor's arguments (defaults applied) as ``self.config``."""
    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        bound = inspect.signature(init).bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(self, *args, **kwargs)
        self.__dict__["_a4j_config"] = _Config({k: v for k, v in bound.arguments.items() if k != "self"})
    return wrapper
'''

CP_UTIL = r'''
def get_cp_size():
    return 1


def get_cp_rank():
    return 0


def get_dp_size():
    return 1


def get_cp_group():
    return None


def _one_rank(*args, **kwargs):
    raise RuntimeError("context parallelism is not available in the stubbed reference")


split_cp_2d = gather_cp_2d = gather_cp = cp_broadcast = _one_rank


def get_optimal_split(size):
    return [1, 1]
'''

STUBS = {
    "diffusers/__init__.py": "from .configuration_utils import ConfigMixin, register_to_config\n"
                             "from .models.modeling_utils import ModelMixin\n",
    "diffusers/configuration_utils.py": CONFIG_UTILS,
    "diffusers/models/__init__.py": "",
    "diffusers/models/modeling_utils.py": "import torch\n\n\nclass ModelMixin(torch.nn.Module):\n    pass\n",
    "safetensors/__init__.py": "",
    "safetensors/torch.py": "def load_file(path, device='cpu'):\n"
                            "    from a4jexport.checkpoint import open_checkpoint\n"
                            "    ck = open_checkpoint(path)\n"
                            "    return {k: ck.get_tensor(k, None) for k in ck.keys()}\n",
    "einops/__init__.py": EINOPS,
    "xformers/__init__.py": "",
    "xformers/ops.py": XFORMERS_OPS,
    "librosa.py": "", "imageio.py": "", "pyloudnorm.py": "", "torchvision.py": "",
    "tqdm.py": "def tqdm(*a, **k):\n    raise RuntimeError(\"not available\")\n",
    "scipy/__init__.py": "", "scipy/signal.py": "",
    "longcat_video/__init__.py": "",
    "longcat_video/audio_process/__init__.py": "",
    "longcat_video/context_parallel/__init__.py": "",
    "longcat_video/context_parallel/context_parallel_util.py": CP_UTIL,
    "longcat_video/block_sparse_attention/__init__.py": "",
    "longcat_video/block_sparse_attention/bsa_interface.py":
        "def flash_attn_bsa_3d(*a, **k):\n    raise RuntimeError('block sparse attention is off')\n",
}

COPIED = [
    "longcat_video/modules/__init__.py",
    "longcat_video/modules/blocks.py",
    "longcat_video/modules/attention.py",
    "longcat_video/modules/rope_3d.py",
    "longcat_video/modules/lora_utils.py",
    "longcat_video/modules/avatar/attention.py",
    "longcat_video/modules/avatar/blocks.py",
    "longcat_video/modules/avatar/rope_3d.py",
    "longcat_video/modules/avatar/longcat_video_dit_avatar.py",
    "longcat_video/context_parallel/ulysses_wrapper.py",
    "longcat_video/audio_process/torch_utils.py",
]


def import_reference(checkout, tmp):
    """The reference's avatar DiT module (``longcat_video.modules.avatar.longcat_video_dit_avatar``)."""
    for rel, text in STUBS.items():
        path = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    for rel in COPIED:
        src = os.path.join(checkout, rel)
        if not os.path.isfile(src):
            sys.exit(f"{src} not found: is {checkout} a LongCat-Video checkout?")
        dst = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
    avatar_init = os.path.join(tmp, "longcat_video/modules/avatar/__init__.py")
    if not os.path.exists(avatar_init):
        open(avatar_init, "w").close()
    if not hasattr(torch, "compile"):
        torch.compile = lambda f=None, **k: f if f is not None else (lambda g: g)
    if not hasattr(torch, "compiler"):
        torch.compiler = types.SimpleNamespace(disable=lambda f=None, **k: f if f is not None else (lambda g: g))
    if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):  # the VAE's attention block
        def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
            assert attn_mask is None and not is_causal and dropout_p == 0.0
            return torch.softmax(q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5, dim=-1) @ v
        torch.nn.functional.scaled_dot_product_attention = sdpa
    if not torch.cuda.is_available():  # torch_utils.torch_gc frees CUDA caches between masks
        torch.cuda.empty_cache = lambda: None
        torch.cuda.ipc_collect = lambda: None
    sys.path.insert(0, tmp)
    return importlib.import_module("longcat_video.modules.avatar.longcat_video_dit_avatar")
