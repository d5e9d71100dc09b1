"""wav2vec2 (``facebook/wav2vec2-base-960h``) in plain PyTorch: the bundle's ``audio-encoder`` graph.

StableAvatar runs ``Wav2Vec2Model.from_pretrained(wav2vec_dir)(input_values).last_hidden_state`` on the
processor-normalised audio slice of each window (wan/pipeline/wan_inference_long_pipeline.py; no
interpolation, no hidden-state stacking, no attention mask: base-960h has ``feat_extract_norm="group"``
and ``return_attention_mask=false``). The per-slice normalisation ``(x - mean) / sqrt(var + 1e-7)`` and
the slicing are done by the SDK in Java; the graph is the model.

Architecture (HF transformers ``modeling_wav2vec2.py``):
- feature encoder: 7 Conv1d (``conv_bias`` per config), GroupNorm(C, C) after conv 0 only when
  ``feat_extract_norm == "group"``, LayerNorm over channels after every conv when ``"layer"``; GELU.
- feature projection: LayerNorm(C) -> Linear(C, D) (``layer_norm_eps``).
- positional conv embedding: Conv1d(D, D, K, padding K//2, groups G) with weight norm over dim 2
  (``weight_g [1,1,K]``, ``weight_v [D, D/G, K]``; folded into a plain weight here), one trailing sample
  dropped when K is even, GELU; added to the features.
- ``do_stable_layer_norm = false`` (base): LayerNorm after the addition, then post-LN layers
  (``x = LN(x + attn(x)); x = LN_final(x + ffn(x))``). ``true`` (large-lv60 style): pre-LN layers and the
  encoder LayerNorm at the end.
- attention: q/k/v/out projections with bias, scaling ``head_dim ** -0.5`` applied to the scores.

Every width, depth and kernel comes from the tensor shapes; the conv strides, head count, activation,
eps and the two norm switches from ``config.json`` (defaults: base-960h's values). Checkpoints of
``Wav2Vec2ForCTC`` (base-960h itself) have every key under ``wav2vec2.`` plus ``lm_head.*``: handled.
"""
import json
import math
import os

import torch
from torch import nn
from torch.nn import functional as F

from ..checkpoint import CheckpointKeyError, open_checkpoint
from ..graph import GraphExport

BASE_960H = {
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "feat_extract_norm": "group",
    "feat_extract_activation": "gelu",
    "hidden_act": "gelu",
    "num_attention_heads": 12,
    "layer_norm_eps": 1e-5,
    "do_stable_layer_norm": False,
    "add_adapter": False,
}

_ACT = {
    "gelu": lambda x: F.gelu(x),
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "swish": F.silu,
    "silu": F.silu,
}

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


def find_checkpoint(wav2vec_dir):
    """The weights file of a wav2vec2 folder (``model.safetensors`` preferred), or FileNotFoundError."""
    for name in WEIGHT_FILES:
        p = os.path.join(wav2vec_dir, name)
        if os.path.isfile(p):
            return p
    raise FileNotFoundError(f"{wav2vec_dir}: no wav2vec2 weights (expected one of {', '.join(WEIGHT_FILES)})")


def load(wav2vec_dir):
    """``(lazy state dict, config dict)`` of a Hugging Face wav2vec2 folder."""
    cfg_path = os.path.join(wav2vec_dir, "config.json")
    if not os.path.isfile(cfg_path):
        raise FileNotFoundError(f"{cfg_path} does not exist (the wav2vec2 model's config.json)")
    with open(cfg_path, encoding="utf-8") as f:
        config = json.load(f)
    return open_checkpoint(find_checkpoint(wav2vec_dir)), config


class _Keys:
    """Reads keys under an optional ``wav2vec2.`` prefix with errors naming the checkpoint file."""

    def __init__(self, sd):
        self.sd = sd
        self.prefix = ""
        if "feature_projection.projection.weight" not in sd and "wav2vec2.feature_projection.projection.weight" in sd:
            self.prefix = "wav2vec2."
        self.where = getattr(sd, "path", "the state dict")

    def has(self, key):
        return self.prefix + key in self.sd

    def __call__(self, key):
        k = self.prefix + key
        if k not in self.sd:
            raise CheckpointKeyError(k, self.where, "a wav2vec2 key")
        t = self.sd[k]
        return t.float() if t.is_floating_point() else t


def _weight_norm(g, v, dim=2):
    """``g * v / ||v||`` with the norm over every axis but ``dim`` (torch.nn.utils.weight_norm)."""
    axes = [a for a in range(v.dim()) if a != dim]
    return g * v / v.norm(p=2, dim=axes, keepdim=True)


class ConvLayer(nn.Module):
    def __init__(self, w, b, stride, norm, act, eps):
        super().__init__()
        self.stride = stride
        self.weight = nn.Parameter(w, requires_grad=False)
        self.bias = nn.Parameter(b, requires_grad=False) if b is not None else None
        self.norm = norm  # None, ("group", w, b) or ("layer", w, b)
        if norm is not None:
            self.norm_weight = nn.Parameter(norm[1], requires_grad=False)
            self.norm_bias = nn.Parameter(norm[2], requires_grad=False)
            self.norm_kind = norm[0]
        self.act = act
        self.eps = eps

    def forward(self, x):
        x = F.conv1d(x, self.weight, self.bias, stride=self.stride)
        if self.norm is not None:
            ch = self.weight.shape[0]
            if self.norm_kind == "group":  # GroupNorm(C, C): each channel over time
                x = F.group_norm(x, ch, self.norm_weight, self.norm_bias, 1e-5)
            else:
                x = F.layer_norm(x.transpose(1, 2), (ch,), self.norm_weight, self.norm_bias,
                                 1e-5).transpose(1, 2)
        return self.act(x)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q_proj, self.k_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.v_proj, self.out_proj = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q = self.q_proj(x).reshape(b, n, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).reshape(b, n, self.heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).reshape(b, n, self.heads, self.head_dim).transpose(1, 2)
        w = torch.softmax(torch.matmul(q, k.transpose(2, 3)) * (self.head_dim ** -0.5), dim=-1)
        o = torch.matmul(w, v).transpose(1, 2).reshape(b, n, d)
        return self.out_proj(o)


class EncoderLayer(nn.Module):
    def __init__(self, dim, heads, ffn, eps, act, stable):
        super().__init__()
        self.attention = Attention(dim, heads)
        self.layer_norm = nn.LayerNorm(dim, eps=eps)
        self.intermediate_dense = nn.Linear(dim, ffn)
        self.output_dense = nn.Linear(ffn, dim)
        self.final_layer_norm = nn.LayerNorm(dim, eps=eps)
        self.act, self.stable = act, stable

    def ffn(self, x):
        return self.output_dense(self.act(self.intermediate_dense(x)))

    def forward(self, x):
        if self.stable:
            x = x + self.attention(self.layer_norm(x))
            return x + self.ffn(self.final_layer_norm(x))
        x = self.layer_norm(x + self.attention(x))
        return self.final_layer_norm(x + self.ffn(x))


class Wav2Vec2(nn.Module):
    """``input_values [B, N]`` -> ``last_hidden_state [B, L, D]``."""

    def __init__(self, convs, proj_ln, proj, pos_w, pos_b, pos_groups, enc_ln, layers, stable, act):
        super().__init__()
        self.convs = nn.ModuleList(convs)
        self.proj_ln, self.proj = proj_ln, proj
        self.pos_weight = nn.Parameter(pos_w, requires_grad=False)
        self.pos_bias = nn.Parameter(pos_b, requires_grad=False)
        self.pos_groups = pos_groups
        self.pos_kernel = pos_w.shape[-1]
        self.enc_ln = enc_ln
        self.layers = nn.ModuleList(layers)
        self.stable, self.act = stable, act

    def forward(self, input_values):
        x = input_values[:, None]
        for c in self.convs:
            x = c(x)
        x = self.proj(self.proj_ln(x.transpose(1, 2)))                        # [B, L, D]
        p = F.conv1d(x.transpose(1, 2), self.pos_weight, self.pos_bias, padding=self.pos_kernel // 2,
                     groups=self.pos_groups)
        if self.pos_kernel % 2 == 0:
            p = p[:, :, :-1]
        x = x + self.act(p).transpose(1, 2)
        if not self.stable:
            x = self.enc_ln(x)
        for layer in self.layers:
            x = layer(x)
        if self.stable:
            x = self.enc_ln(x)
        return x


def _cfg(config):
    if config is None:
        config = {}
    elif isinstance(config, (str, os.PathLike)):
        with open(config, encoding="utf-8") as f:
            config = json.load(f)
    c = dict(BASE_960H)
    c.update({k: v for k, v in config.items() if v is not None})
    return c


def build(sd, config=None, **opts):
    """The float32 eval-mode wav2vec2 of a state dict (HF key names, optional ``wav2vec2.`` prefix)."""
    c = _cfg(config)
    if c.get("add_adapter"):
        raise ValueError("wav2vec2 with add_adapter=true is not supported (base-960h has none)")
    k = _Keys(sd)
    act_name = c["feat_extract_activation"]
    if act_name not in _ACT or c["hidden_act"] not in _ACT:
        raise ValueError(f"unsupported wav2vec2 activation {act_name!r}/{c['hidden_act']!r}")
    fact, hact = _ACT[act_name], _ACT[c["hidden_act"]]
    norm_kind = c["feat_extract_norm"]
    if norm_kind not in ("group", "layer"):
        raise ValueError(f"feat_extract_norm {norm_kind!r} is neither 'group' nor 'layer'")

    n_conv = 0
    while k.has(f"feature_extractor.conv_layers.{n_conv}.conv.weight"):
        n_conv += 1
    if n_conv == 0:
        k("feature_extractor.conv_layers.0.conv.weight")  # raises naming the key
    strides = list(c["conv_stride"])
    if len(strides) != n_conv:
        raise ValueError(f"config conv_stride has {len(strides)} entries, the checkpoint {n_conv} conv layers")
    eps = float(c["layer_norm_eps"])
    convs = []
    for i in range(n_conv):
        pre = f"feature_extractor.conv_layers.{i}."
        w = k(pre + "conv.weight")
        b = k(pre + "conv.bias") if k.has(pre + "conv.bias") else None
        norm = None
        if (norm_kind == "group" and i == 0) or norm_kind == "layer":
            norm = (norm_kind, k(pre + "layer_norm.weight"), k(pre + "layer_norm.bias"))
        convs.append(ConvLayer(w, b, strides[i], norm, fact, eps))

    pw = k("feature_projection.projection.weight")
    dim, cdim = pw.shape
    proj_ln = nn.LayerNorm(cdim, eps=eps)
    proj_ln.weight.data = k("feature_projection.layer_norm.weight")
    proj_ln.bias.data = k("feature_projection.layer_norm.bias")
    proj = nn.Linear(cdim, dim)
    proj.weight.data, proj.bias.data = pw, k("feature_projection.projection.bias")

    pc = "encoder.pos_conv_embed.conv."
    if k.has(pc + "weight_g"):
        pos_w = _weight_norm(k(pc + "weight_g"), k(pc + "weight_v"))
    elif k.has(pc + "parametrizations.weight.original0"):
        pos_w = _weight_norm(k(pc + "parametrizations.weight.original0"),
                             k(pc + "parametrizations.weight.original1"))
    else:
        pos_w = k(pc + "weight")
    pos_b = k(pc + "bias")
    if pos_w.shape[0] != dim or dim % pos_w.shape[1]:
        raise ValueError(f"positional conv weight {tuple(pos_w.shape)} does not fit hidden size {dim}")
    groups = dim // pos_w.shape[1]

    enc_ln = nn.LayerNorm(dim, eps=eps)
    enc_ln.weight.data, enc_ln.bias.data = k("encoder.layer_norm.weight"), k("encoder.layer_norm.bias")

    heads = int(c["num_attention_heads"])
    if dim % heads:
        raise ValueError(f"hidden size {dim} is not divisible by num_attention_heads {heads}")
    layers = []
    i = 0
    while k.has(f"encoder.layers.{i}.attention.q_proj.weight"):
        pre = f"encoder.layers.{i}."
        ffn = k(pre + "feed_forward.intermediate_dense.weight").shape[0]
        layer = EncoderLayer(dim, heads, ffn, eps, hact, bool(c["do_stable_layer_norm"]))
        sub = {
            "attention.q_proj": layer.attention.q_proj, "attention.k_proj": layer.attention.k_proj,
            "attention.v_proj": layer.attention.v_proj, "attention.out_proj": layer.attention.out_proj,
            "layer_norm": layer.layer_norm, "final_layer_norm": layer.final_layer_norm,
            "feed_forward.intermediate_dense": layer.intermediate_dense,
            "feed_forward.output_dense": layer.output_dense,
        }
        for name, mod in sub.items():
            w, b = k(pre + name + ".weight"), k(pre + name + ".bias")
            if tuple(w.shape) != tuple(mod.weight.shape):
                raise ValueError(f"{k.prefix}{pre}{name}.weight has shape {tuple(w.shape)},"
                                 f" expected {tuple(mod.weight.shape)}")
            mod.weight.data, mod.bias.data = w, b
        layers.append(layer)
        i += 1
    if not layers:
        k("encoder.layers.0.attention.q_proj.weight")
    if "num_hidden_layers" in c and int(c["num_hidden_layers"]) != len(layers):
        raise ValueError(f"config num_hidden_layers={c['num_hidden_layers']}, the checkpoint has {len(layers)}")

    model = Wav2Vec2(convs, proj_ln, proj, pos_w, pos_b, groups, enc_ln, layers,
                     bool(c["do_stable_layer_norm"]), fact)
    model.conv_kernels = [cv.weight.shape[-1] for cv in convs]
    model.conv_strides = strides
    for p in model.parameters():
        p.requires_grad_(False)
    return model.float().eval()


def output_length(model, n):
    """Frames for ``n`` samples: ``L <- (L - k) // s + 1`` per conv."""
    for kk, s in zip(model.conv_kernels, model.conv_strides):
        n = (n - kk) // s + 1
    return n


def graphs(model, samples=16000, **shape_opts):
    """The ``audio-encoder`` graph (dynamic sample count)."""
    x = torch.randn(1, samples, generator=torch.Generator().manual_seed(0))
    return [GraphExport(key="audio-encoder", file="audio_encoder.onnx", module=model, args=(x,),
                        input_names=["input_values"], output_names=["last_hidden_state"],
                        dynamic_axes={"input_values": {1: "N"}, "last_hidden_state": {1: "L"}})]
