"""StableAvatar's DiT: Wan2.1-Fun-1.3B-InP's transformer with StableAvatar's audio adapter, in plain
PyTorch, exported as the bundle's ``dit`` graph (docs/BUNDLE-FORMAT.md, docs/REFERENCE.md §1.4-1.6).

Reference: StableAvatar 46c0492 ``wan/models/wan_fantasy_transformer3d_1B.py``
(``WanTransformer3DFantasyModel``) and ``wan/models/vocal_projector_fantasy_1B.py``
(``FantasyTalkingVocalCondition1BModel``), called by ``wan/pipeline/wan_inference_long_pipeline.py``.

Checkpoints (the reference's loading order, ``inference.py``): ``config.json`` +
``diffusion_pytorch_model.safetensors`` of Wan2.1-Fun(-V1.1)-1.3B-InP, then StableAvatar's
``transformer3d-square.pt`` / ``-rec-vec.pt`` loaded on top (``load_state_dict(strict=False)``; the
training script saves the whole transformer's ``state_dict()``, so the StableAvatar file normally
holds every key and the base file only fills what it lacks). :func:`build` takes both as Mappings and
reads each key from the StableAvatar file first. Every size comes from ``config.json`` (``num_heads``,
``eps``, ``text_len``) or from tensor shapes; the adapter's 8 heads and the 257 CLIP tokens are
constants of the reference code, not of any checkpoint.

Graph (``graphs``): ``x [B,16,k,h,w], t [B], context [B,Lt,Dt], clip [B,257,Dc], y [B,20,k,h,w],
audio_tokens [1,L,Da], audio_index int64 [F,W], audio_gate [B] -> velocity [B,16,k,h,w]``.

Reference semantics kept (each one covered by tests/test_dit.py):

- The token sequence is zero-padded to ``F`` latent frames (the reference's ``seq_len``; ``F`` is
  ``audio_index``'s first dimension) *after* the patch embedding. The padding tokens take part in
  self-attention unmasked (the reference forces SDPA, which ignores ``k_lens``), are not rotated by
  RoPE (``rope_apply`` only rotates the first ``k*h*w`` tokens), and the audio cross-attention
  groups all ``F*h*w`` tokens into ``F`` frames. Only the first ``k`` frames are unpatchified.
- The text context is zero-padded to ``text_len`` (config, 512) *before* ``text_embedding``, and
  all ``text_len`` tokens are attended (no mask), so ``Lt <= text_len`` of any length gives the
  reference's result for that prompt.
- The audio adapter runs once, on the last batch element's patch-embedded (padded) tokens and
  ``e0``/``e`` of the last element; its output is multiplied by ``audio_gate[b]`` per branch (the
  reference's ``[zeros, ctx, ctx]`` for B=3 is ``audio_gate = [0, 1, 1]``; B=1 is gate 1). A gate
  0 branch therefore sees the ``k_vocal``/``v_vocal`` biases, exactly as the reference.
- ``audio_index[f, j] = -1`` slots are exact zeros after ``proj`` + LayerNorm (the reference pads
  ``split_tensor_with_padding``'s windows after the projection).
- fp32 norms; eps: DiT norms ``config.eps`` (1e-6), adapter blocks/head 1e-6, adapter input
  LayerNorm and ``img_emb`` LayerNorms 1e-5 (torch defaults); GELU tanh in text embedding and both
  FFNs, exact GELU in ``img_emb``; time sinusoid ``[cos, sin]``; modulation chunks
  ``(shift, scale, gate)`` for attention then FFN, head ``(shift, scale)``; unpatchify
  ``fhwpqrc -> cfphqwr``.
- RoPE in real arithmetic: per head, the ``d/2`` rotation pairs split ``(d/2 - 2*(d/2//3), d/2//3,
  d/2//3)`` over (frame, row, column), frequencies ``theta^(-2j/d_axis)`` of the reference's
  ``rope_params`` tables (``d_axis = d - 4*(d//6)`` for frames, ``2*(d//6)`` for rows and columns);
  the inverse frequencies are computed in float64 as the reference does, the angles
  ``position * inv_freq`` in the graph in float32 (no large cos/sin tables, which a float16 weight
  pass would round).

Deviations (numerical only): the time sinusoid and the RoPE angles are computed in float32 in the
graph (the reference uses float64, which TensorRT cannot run): sinusoid error <= 4.1e-5 absolute for
t <= 1000, giving 6.5e-6 relative on ``e``/``e0`` at the real widths; RoPE angle error <= 1.2e-7 of
the angle. ``Lt`` must be <= ``text_len`` (the reference fails on a longer prompt; ONNX Pad would
crop).

Attention variants (``graphs(model, attention=...)``): ``"plain"`` MatMul-Softmax-MatMul (TensorRT
fuses it), ``"mha"`` ONNX Runtime's ``com.microsoft::MultiHeadAttention`` (3D q/k/v, ``num_heads``).
Both graphs have the same initializers (names and bytes; Linear weights are stored as their own
``...weight_t``), so one external data file can serve both.

Sizes at the real config (dim 1536, 30 layers, FFN 8960, text 4096, CLIP 1280, audio 768):
1 747 426 112 parameters (70.9 M outside the 30 blocks, 41.3 M of them the adapter), 6.99 GB of
float32 weights (3.49 GB as float16) plus the graph proto: ~2.5 MB / 15 400 nodes (plain), ~1.6 MB /
9 000 nodes (mha), measured per block at reduced size (81 / 50 KB per block). Activations at 480x832,
k = F = 21, B = 3: 3 x 32 760 tokens x 1536; unfused self-attention scores would be 3 x 12 x
32 760^2 floats = 154 GB, hence the fused variants.
"""
import contextlib
import json
import math
from collections.abc import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..graph import GraphExport

__all__ = ["build", "graphs", "layered", "read_config", "attention_mode", "DiT", "WeightKeyError"]

ADAPTER_HEADS = 8          # FantasyTalkingVocalCondition1BModel: VocalAttentionBlock(num_heads=8)
CLIP_TOKENS = 257          # WanI2VTalkingCrossAttention: context[:, :257] is the image
ROPE_THETA = 10000.0
ADAPTER_EPS = 1e-6         # VocalAttentionBlock / Final_Head default eps
TORCH_LN_EPS = 1e-5        # nn.LayerNorm default: VocalProjModel.norm, MLPProj


# ---------------------------------------------------------------------------------------------
# checkpoint access

class WeightKeyError(KeyError):
    """A weight the DiT needs is in none of the checkpoint files; the message names the key and files."""

    def __str__(self):
        return str(self.args[0])


class _Layered(Mapping):
    """Keys looked up in each named Mapping in turn (the first that has the key wins)."""

    def __init__(self, layers):
        self.layers = [(name, m) for name, m in layers if m is not None]

    def __getitem__(self, key):
        for _, m in self.layers:
            if key in m:
                return m[key]
        names = ", ".join(name for name, _ in self.layers)
        raise WeightKeyError(f"DiT weight {key!r} not found in {names}")

    def __contains__(self, key):
        return any(key in m for _, m in self.layers)

    def __iter__(self):
        seen = set()
        for _, m in self.layers:
            for k in m.keys():
                if k not in seen:
                    seen.add(k)
                    yield k

    def __len__(self):
        return sum(1 for _ in self)

    def keys(self):
        return list(iter(self))


def _unwrap(sd):
    if isinstance(sd, Mapping) and "state_dict" in sd and isinstance(sd["state_dict"], Mapping):
        return sd["state_dict"]
    return sd


def layered(base, transformer=None, base_name="diffusion_pytorch_model.safetensors",
            transformer_name="transformer3d-square.pt"):
    """The reference's weights: ``transformer`` (StableAvatar's file) over ``base`` (Wan-Fun's).
    Error messages name each file by its ``path`` attribute (the lazy readers have one), else by the
    default file name."""
    return _Layered([(getattr(transformer, "path", transformer_name), _unwrap(transformer)),
                     (getattr(base, "path", base_name), _unwrap(base))])


def read_config(path_or_dict):
    """config.json of the Wan-Fun transformer (a path or an already parsed dict)."""
    if isinstance(path_or_dict, Mapping):
        return dict(path_or_dict)
    with open(path_or_dict, encoding="utf-8") as f:
        return json.load(f)


class _Weights:
    def __init__(self, sd):
        self.sd = sd

    def __call__(self, key):
        if key not in self.sd:
            if isinstance(self.sd, _Layered):
                self.sd[key]  # raises the KeyError naming the files searched
            raise WeightKeyError(f"DiT weight {key!r} not found in the checkpoint")
        t = self.sd[key]
        if not torch.is_tensor(t):
            raise TypeError(f"DiT weight {key!r} is not a tensor")
        return t.detach().to(torch.float32).contiguous()

    def has(self, key):
        return key in self.sd


def _param(t):
    return nn.Parameter(t, requires_grad=False)


class Linear(nn.Module):
    """``x @ W^T + b`` with ``W^T`` stored transposed: the graph's initializer is then the module's
    own ``...weight_t`` (torch would otherwise constant-fold a Transpose into an initializer with a
    generated name), so the plain and the MultiHeadAttention graphs have identical initializer names
    and values and can share one external data file."""

    def __init__(self, weight, bias=None):
        super().__init__()
        self.wshape = tuple(weight.shape)          # (out, in), as in the checkpoint
        self.weight_t = _param(weight.t().contiguous())
        self.bias = _param(bias) if bias is not None else None

    def forward(self, x):
        y = torch.matmul(x, self.weight_t)
        return y + self.bias if self.bias is not None else y


def _linear(w, prefix, bias=True):
    weight = w(prefix + ".weight")
    if weight.dim() != 2:
        raise ValueError(f"{prefix}.weight has shape {tuple(weight.shape)}, expected a matrix")
    b = None
    if bias:
        b = w(prefix + ".bias")
        if b.shape != (weight.shape[0],):
            raise ValueError(f"{prefix}.bias has shape {tuple(b.shape)}, expected ({weight.shape[0]},)")
    return Linear(weight, b)


def _vector(w, key, n):
    t = w(key)
    if t.shape != (n,):
        raise ValueError(f"{key} has shape {tuple(t.shape)}, expected ({n},)")
    return _param(t)


# ---------------------------------------------------------------------------------------------
# numerics

class LayerNorm(nn.Module):
    """LayerNorm over the last dimension in float32, optional affine."""

    def __init__(self, dim, eps, weight=None, bias=None):
        super().__init__()
        self.dim = int(dim)
        self.eps = eps
        if weight is None:
            # ONNX LayerNormalization requires a scale input (torch 1.13 would leave it empty), and
            # ONNX Runtime 1.29's extended optimisations crash (SIGSEGV in session creation) on a
            # LayerNormalization without the optional bias: both are given as exact 1 and 0.
            self.register_buffer("ones", torch.ones(self.dim), persistent=False)
            weight = self.ones
        if bias is None:
            self.register_buffer("zeros", torch.zeros(self.dim), persistent=False)
            bias = self.zeros
        self.weight = weight
        self.bias = bias

    def forward(self, x):
        return F.layer_norm(x, (self.dim,), self.weight, self.bias, self.eps)


class RMSNorm(nn.Module):
    """WanRMSNorm: ``x * rsqrt(mean(x^2) + eps) * weight``."""

    def __init__(self, weight, eps):
        super().__init__()
        self.weight = weight
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps) * self.weight


def _gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


class _Mode:
    """Which attention the graph uses; set by graphs() while tracing."""
    value = "plain"


def _plain_attention(q, k, v, heads):
    """q [N, S, D], k/v [N, L, D] -> [N, S, D]: softmax(q k^T / sqrt(d)) v per head."""
    n, s, dim = q.shape
    lk = k.shape[1]
    d = dim // heads
    q = q.reshape(n, s, heads, d).transpose(1, 2)
    k = k.reshape(n, lk, heads, d).transpose(1, 2)
    v = v.reshape(n, lk, heads, d).transpose(1, 2)
    p = torch.softmax(torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(d)), dim=-1)
    return torch.matmul(p, v).transpose(1, 2).reshape(n, s, dim)


class _MultiHeadAttention(torch.autograd.Function):
    """Exported as ``com.microsoft::MultiHeadAttention`` (ONNX Runtime contrib op, 3D q/k/v)."""

    @staticmethod
    def forward(ctx, q, k, v, heads):
        return _plain_attention(q, k, v, heads)

    @staticmethod
    def symbolic(g, q, k, v, heads):
        out = g.op("com.microsoft::MultiHeadAttention", q, k, v, num_heads_i=heads)
        out.setType(q.type())
        return out


def attention(q, k, v, heads):
    if _Mode.value == "mha":
        return _MultiHeadAttention.apply(q, k, v, heads)
    return _plain_attention(q, k, v, heads)


# ---------------------------------------------------------------------------------------------
# modules

class SelfAttention(nn.Module):
    def __init__(self, w, p, heads, eps):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (_linear(w, f"{p}.{n}") for n in "qkvo")
        dim = self.q.wshape[0]
        self.norm_q = RMSNorm(_vector(w, f"{p}.norm_q.weight", dim), eps)
        self.norm_k = RMSNorm(_vector(w, f"{p}.norm_k.weight", dim), eps)

    def forward(self, x, cos, sin):
        b, s, dim = x.shape
        q = _rope(self.norm_q(self.q(x)), cos, sin, self.heads)
        k = _rope(self.norm_k(self.k(x)), cos, sin, self.heads)
        return self.o(attention(q, k, self.v(x), self.heads))


def _rope(x, cos, sin, heads):
    """x [B, S, D]; cos/sin [S, d/2] (cos 1 / sin 0 on padding tokens): rotate pairs (2i, 2i+1)."""
    b, s, dim = x.shape
    c = cos.shape[1]
    x = x.reshape(b, s, heads, c, 2)
    x0, x1 = x[..., 0], x[..., 1]
    cos = cos.reshape(1, s, 1, c)
    sin = sin.reshape(1, s, 1, c)
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).reshape(b, s, dim)


class CrossAttention(nn.Module):
    """WanI2VTalkingCrossAttention: text + image (k_img/v_img) + per-frame audio (k_vocal/v_vocal)."""

    def __init__(self, w, p, heads, eps):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (_linear(w, f"{p}.{n}") for n in "qkvo")
        self.k_img = _linear(w, f"{p}.k_img")
        self.v_img = _linear(w, f"{p}.v_img")
        self.k_vocal = _linear(w, f"{p}.k_vocal")
        self.v_vocal = _linear(w, f"{p}.v_vocal")
        dim = self.q.wshape[0]
        self.norm_q = RMSNorm(_vector(w, f"{p}.norm_q.weight", dim), eps)
        self.norm_k = RMSNorm(_vector(w, f"{p}.norm_k.weight", dim), eps)
        self.norm_k_img = RMSNorm(_vector(w, f"{p}.norm_k_img.weight", dim), eps)

    def forward(self, x, text, img, vocal):
        """x [B,S,D] (S = F*hw), text [B,Lt,D], img [B,257,D], vocal [B,F,W,D]."""
        b, s, dim = x.shape
        frames, wn = vocal.shape[1], vocal.shape[2]
        q = self.norm_q(self.q(x))
        x_txt = attention(q, self.norm_k(self.k(text)), self.v(text), self.heads)
        x_img = attention(q, self.norm_k_img(self.k_img(img)), self.v_img(img), self.heads)
        qa = q.reshape(b * frames, -1, dim)
        ka = self.k_vocal(vocal).reshape(b * frames, wn, dim)
        va = self.v_vocal(vocal).reshape(b * frames, wn, dim)
        x_voc = attention(qa, ka, va, self.heads).reshape(b, s, dim)
        return self.o(x_txt + x_img + x_voc)


class Block(nn.Module):
    """WanAttentionBlock (i2v, cross_attn_norm=True)."""

    def __init__(self, w, p, heads, eps):
        super().__init__()
        self.self_attn = SelfAttention(w, f"{p}.self_attn", heads, eps)
        dim = self.self_attn.q.wshape[0]
        self.cross_attn = CrossAttention(w, f"{p}.cross_attn", heads, eps)
        self.norm1 = LayerNorm(dim, eps)
        self.norm2 = LayerNorm(dim, eps)
        self.norm3 = LayerNorm(dim, eps, _vector(w, f"{p}.norm3.weight", dim), _vector(w, f"{p}.norm3.bias", dim))
        self.ffn0 = _linear(w, f"{p}.ffn.0")
        self.ffn2 = _linear(w, f"{p}.ffn.2")
        mod = w(f"{p}.modulation")
        if mod.shape != (1, 6, dim):
            raise ValueError(f"{p}.modulation has shape {tuple(mod.shape)}, expected (1, 6, {dim})")
        self.modulation = _param(mod)

    def forward(self, x, e0, cos, sin, text, img, vocal):
        e = self.modulation + e0                      # [B, 6, D]
        e = [e[:, i:i + 1] for i in range(6)]
        y = self.self_attn(self.norm1(x) * (1 + e[1]) + e[0], cos, sin)
        x = x + y * e[2]
        x = x + self.cross_attn(self.norm3(x), text, img, vocal)
        y = self.ffn2(_gelu_tanh(self.ffn0(self.norm2(x) * (1 + e[4]) + e[3])))
        return x + y * e[5]


class AdapterBlock(nn.Module):
    """VocalAttentionBlock: modulated residual (no self-attention), per-frame cross-attention of the
    audio tokens (queries) to the DiT's patch-embedded tokens, modulated FFN."""

    def __init__(self, w, p):
        super().__init__()
        a = f"{p}.cross_attn"
        self.q, self.k, self.v, self.o = (_linear(w, f"{a}.{n}") for n in "qkvo")
        dim = self.q.wshape[0]
        if dim % ADAPTER_HEADS:
            raise ValueError(f"{a}.q: audio width {dim} is not a multiple of {ADAPTER_HEADS} heads")
        self.norm_q = RMSNorm(_vector(w, f"{a}.norm_q.weight", dim), ADAPTER_EPS)
        self.norm_k = RMSNorm(_vector(w, f"{a}.norm_k.weight", dim), ADAPTER_EPS)
        self.norm1 = LayerNorm(dim, ADAPTER_EPS)
        self.norm2 = LayerNorm(dim, ADAPTER_EPS)
        self.norm3 = LayerNorm(dim, ADAPTER_EPS, _vector(w, f"{p}.norm3.weight", dim),
                               _vector(w, f"{p}.norm3.bias", dim))
        self.ffn0 = _linear(w, f"{p}.ffn.0")
        self.ffn2 = _linear(w, f"{p}.ffn.2")
        self.modulation = _param(w(f"{p}.modulation"))

    def forward(self, x, e0, latents, frames):
        """x [1, F*W, Dv], e0 [1, 6, Dv], latents [1, F*hw, D]."""
        e = self.modulation + e0
        e = [e[:, i:i + 1] for i in range(6)]
        x = x + (self.norm1(x) * (1 + e[1]) + e[0]) * e[2]
        b, n, dim = x.shape
        q = self.norm_q(self.q(self.norm3(x))).reshape(b * frames, -1, dim)
        k = self.norm_k(self.k(latents)).reshape(b * frames, -1, dim)
        v = self.v(latents).reshape(b * frames, -1, dim)
        x = x + self.o(attention(q, k, v, ADAPTER_HEADS).reshape(b, n, dim))
        y = self.ffn2(_gelu_tanh(self.ffn0(self.norm2(x) * (1 + e[4]) + e[3])))
        return x + y * e[5]


class AudioAdapter(nn.Module):
    """FantasyTalkingVocalCondition1BModel: proj + LayerNorm, window gather, 2 blocks, final head."""

    def __init__(self, w, p="vocal_projector"):
        super().__init__()
        self.proj = _linear(w, f"{p}.proj_model.proj", bias=False)
        dim = self.proj.wshape[0]
        self.proj_norm = LayerNorm(dim, TORCH_LN_EPS, _vector(w, f"{p}.proj_model.norm.weight", dim),
                                   _vector(w, f"{p}.proj_model.norm.bias", dim))
        n = 0
        while w.has(f"{p}.blocks.{n}.modulation"):
            n += 1
        if n == 0:
            w(f"{p}.blocks.0.modulation")  # raises the missing-key error
        self.blocks = nn.ModuleList([AdapterBlock(w, f"{p}.blocks.{i}") for i in range(n)])
        self.head_norm = LayerNorm(dim, ADAPTER_EPS)
        self.head = _linear(w, f"{p}.final_head.final_proj")
        self.head_modulation = _param(w(f"{p}.final_head.modulation"))

    def forward(self, audio_tokens, audio_index, latents, e0, e):
        """audio_tokens [1, L, Da], audio_index [F, W] (-1 = padding), latents [1, F*hw, D],
        e0 [1, 6, D], e [1, D] -> [1, F, W, D]."""
        frames, wn = audio_index.shape
        a = self.proj_norm(self.proj(audio_tokens))[0]                     # [L, Dv]
        # row 0 of the table is the padding: index -1 + 1 picks exact zeros (no mask, no clamp)
        table = torch.cat([torch.zeros_like(a[:1]), a], dim=0)              # [1+L, Dv]
        x = torch.index_select(table, 0, audio_index.reshape(-1) + 1).unsqueeze(0)   # [1, F*W, Dv]
        for blk in self.blocks:
            x = blk(x, e0, latents, frames)
        m = self.head_modulation + e.unsqueeze(1)
        x = self.head(self.head_norm(x) * (1 + m[:, 1:2]) + m[:, 0:1])
        return x.reshape(1, frames, wn, x.shape[-1])


class TimeEmbedding(nn.Module):
    """t [B] -> (e [B, D], e0 [B, 6, D]): sinusoid ``[cos, sin]`` of ``t * 10000^(-i/half)``,
    ``time_embedding`` (Linear, SiLU, Linear), ``time_projection`` (SiLU, Linear). Its own module so
    that every node of this path is named ``/model/time/...`` in the graph: a float16 conversion
    must keep it in float32 (``t * f`` reaches 1000, where float16's spacing is 0.5)."""

    def __init__(self, w, dim):
        super().__init__()
        self.dim = dim
        self.time0 = _linear(w, "time_embedding.0")
        self.time2 = _linear(w, "time_embedding.2")
        self.time_proj = _linear(w, "time_projection.1")
        half = self.time0.wshape[1] // 2
        self.register_buffer("freqs", torch.pow(
            10000.0, -torch.arange(half, dtype=torch.float64).div(half)).to(torch.float32), persistent=False)

    def forward(self, t):
        arg = t.reshape(-1, 1) * self.freqs.reshape(1, -1)
        sinus = torch.cat([torch.cos(arg), torch.sin(arg)], dim=1)
        e = self.time2(F.silu(self.time0(sinus)))
        e0 = self.time_proj(F.silu(e)).reshape(-1, 6, self.dim)
        return e, e0


class DiT(nn.Module):
    """WanTransformer3DFantasyModel (i2v) forward for one sliding window, B guidance branches."""

    def __init__(self, sd, config):
        super().__init__()
        w = _Weights(sd)
        cfg = config
        if "num_heads" not in cfg:
            raise WeightKeyError("config.json of the Wan-Fun transformer has no 'num_heads' (the head count "
                             "is not recoverable from tensor shapes)")
        self.heads = int(cfg["num_heads"])
        self.eps = float(cfg.get("eps", 1e-6))
        self.text_len = int(cfg.get("text_len", 512))
        if cfg.get("model_type", "i2v") != "i2v":
            raise ValueError(f"config.json model_type {cfg.get('model_type')!r}: StableAvatar needs 'i2v'")
        pw = w("patch_embedding.weight")
        self.dim, self.in_dim = pw.shape[0], pw.shape[1]
        self.patch = tuple(pw.shape[2:])
        for key in ("dim", "in_dim"):
            if key in cfg and int(cfg[key]) != getattr(self, key):
                raise ValueError(f"config.json {key}={cfg[key]} but patch_embedding.weight is {tuple(pw.shape)}")
        if self.dim % self.heads or (self.dim // self.heads) % 2:
            raise ValueError(f"dim {self.dim} with {self.heads} heads: head size must be even")
        self.patch_embedding = torch.nn.utils.skip_init(
            nn.Conv3d, self.in_dim, self.dim, kernel_size=self.patch, stride=self.patch)
        self.patch_embedding.weight = _param(pw)
        self.patch_embedding.bias = _vector(w, "patch_embedding.bias", self.dim)
        self.text0 = _linear(w, "text_embedding.0")
        self.text2 = _linear(w, "text_embedding.2")
        self.time = TimeEmbedding(w, self.dim)
        self.freq_dim = self.time.time0.wshape[1]
        if "freq_dim" in cfg and int(cfg["freq_dim"]) != self.freq_dim:
            raise ValueError(f"config.json freq_dim={cfg['freq_dim']} but time_embedding.0.weight is "
                             f"{tuple(self.time.time0.wshape)}")
        dc = w("img_emb.proj.0.weight").shape[0]
        self.img_norm0 = LayerNorm(dc, TORCH_LN_EPS, _vector(w, "img_emb.proj.0.weight", dc),
                                   _vector(w, "img_emb.proj.0.bias", dc))
        self.img1 = _linear(w, "img_emb.proj.1")
        self.img3 = _linear(w, "img_emb.proj.3")
        self.img_norm4 = LayerNorm(self.dim, TORCH_LN_EPS, _vector(w, "img_emb.proj.4.weight", self.dim),
                                   _vector(w, "img_emb.proj.4.bias", self.dim))
        layers = int(cfg["num_layers"]) if "num_layers" in cfg else None
        if layers is None:
            layers = 0
            while w.has(f"blocks.{layers}.modulation"):
                layers += 1
        self.blocks = nn.ModuleList([Block(w, f"blocks.{i}", self.heads, self.eps) for i in range(layers)])
        self.head_norm = LayerNorm(self.dim, self.eps)
        self.head = _linear(w, "head.head")
        self.head_modulation = _param(w("head.modulation"))
        self.out_dim = self.head.wshape[0] // math.prod(self.patch)
        if "out_dim" in cfg and int(cfg["out_dim"]) != self.out_dim:
            raise ValueError(f"config.json out_dim={cfg['out_dim']} but head.head.weight is "
                             f"{tuple(self.head.wshape)}")
        self.adapter = AudioAdapter(w)
        if self.adapter.head.wshape[0] != self.dim:
            raise ValueError("vocal_projector.final_head.final_proj must produce the DiT width "
                             f"{self.dim}, has {self.adapter.head.wshape[0]}")

        d = self.dim // self.heads
        c = d // 2
        axes = (d - 4 * (d // 6), 2 * (d // 6), 2 * (d // 6))
        splits = (c - 2 * (c // 3), c // 3, c // 3)
        for name, ad, n in zip(("f", "h", "w"), axes, splits):
            # rope_params(1024, ad): position * theta^(-2j/ad); the inverse frequencies in float64 as
            # the reference, the angles computed in the graph (|error| <= 1.2e-7 * angle in float32)
            inv = 1.0 / torch.pow(ROPE_THETA, torch.arange(0, ad, 2, dtype=torch.float64).div(ad))
            if inv.shape[0] != n:
                raise ValueError(f"RoPE split mismatch for head size {d}")
            self.register_buffer(f"inv_freq_{name}", inv.to(torch.float32), persistent=False)

    # -- pieces -------------------------------------------------------------------------------
    def _rope_tables(self, k, h, w, frames):
        """cos/sin [frames*h*w, d/2] for tokens in (frame, row, column) order; the tokens of the
        padding frames get angle 0 (cos 1, sin 0: not rotated, as rope_apply leaves them)."""
        def axis(n, inv):
            return torch.arange(n).to(torch.float32).reshape(-1, 1) * inv.reshape(1, -1)
        a_f, a_h, a_w = axis(k, self.inv_freq_f), axis(h, self.inv_freq_h), axis(w, self.inv_freq_w)
        c_f, c_h, c_w = a_f.shape[1], a_h.shape[1], a_w.shape[1]
        ang = torch.cat([a_f.reshape(k, 1, 1, c_f).expand(k, h, w, c_f),
                         a_h.reshape(1, h, 1, c_h).expand(k, h, w, c_h),
                         a_w.reshape(1, 1, w, c_w).expand(k, h, w, c_w)], dim=-1)
        ang = F.pad(ang.reshape(k * h * w, c_f + c_h + c_w), (0, 0, 0, (frames - k) * h * w))
        return torch.cos(ang), torch.sin(ang)

    def forward(self, x, t, context, clip, y, audio_tokens, audio_index, audio_gate):
        b, _, k, hh, ww = x.shape
        frames = audio_index.shape[0]
        u = self.patch_embedding(torch.cat([x, y], dim=1))              # [B, D, k, h, w]
        h, w = u.shape[3], u.shape[4]
        u = F.pad(u, (0, 0, 0, 0, 0, frames - k))                       # seq_len: F frames
        tokens = u.reshape(b, self.dim, -1).transpose(1, 2)             # [B, F*h*w, D]

        e, e0 = self.time(t)                                            # [B, D], [B, 6, D]

        text = F.pad(context, (0, 0, 0, self.text_len - context.shape[1]))
        text = self.text2(_gelu_tanh(self.text0(text)))                 # [B, text_len, D]
        img = self.img_norm4(self.img3(F.gelu(self.img1(self.img_norm0(clip)))))

        vocal = self.adapter(audio_tokens, audio_index, tokens[-1:], e0[-1:], e[-1:])   # [1, F, W, D]
        vocal = vocal * audio_gate.reshape(-1, 1, 1, 1)                 # [B, F, W, D]

        cos, sin = self._rope_tables(k, h, w, frames)
        xs = tokens
        for blk in self.blocks:
            xs = blk(xs, e0, cos, sin, text, img, vocal)

        m = self.head_modulation + e.unsqueeze(1)
        out = self.head(self.head_norm(xs) * (1 + m[:, 1:2]) + m[:, 0:1])   # [B, F*h*w, C*p*q*r]
        out = out[:, :k * h * w]
        p, q, r = self.patch
        c = self.out_dim
        out = out.reshape(b, k, h, w, p, q, r, c).permute(0, 7, 1, 4, 2, 5, 3, 6)
        return out.reshape(b, c, k * p, h * q, w * r)


# ---------------------------------------------------------------------------------------------
# module API

def build(sd, config=None, transformer=None, **opts):
    """The DiT in eval mode, float32.

    sd:          Wan-Fun ``diffusion_pytorch_model.safetensors`` (Mapping), or already layered weights
    config:      ``config.json`` (path or dict); required (``num_heads`` is only there)
    transformer: StableAvatar's ``transformer3d-*.pt`` (Mapping, maybe ``{"state_dict": ...}``),
                 read before ``sd``
    """
    if config is None:
        raise ValueError("the DiT needs Wan-Fun's config.json (num_heads, eps, text_len)")
    weights = sd if isinstance(sd, _Layered) else layered(sd, transformer)
    model = DiT(weights, read_config(config))
    return model.eval()


class _Graph(nn.Module):
    def __init__(self, model, mode):
        super().__init__()
        self.model = model
        self.mode = mode

    def forward(self, *args):
        with attention_mode(self.mode):
            return self.model(*args)


@contextlib.contextmanager
def attention_mode(mode):
    """Selects "plain" or "mha" attention for forwards (and traces) inside the block."""
    if mode not in ("plain", "mha"):
        raise ValueError(f"attention must be 'plain' or 'mha', not {mode!r}")
    old, _Mode.value = _Mode.value, mode
    try:
        yield
    finally:
        _Mode.value = old


INPUT_NAMES = ["x", "t", "context", "clip", "y", "audio_tokens", "audio_index", "audio_gate"]
OUTPUT_NAMES = ["velocity"]
DYNAMIC_AXES = {
    "x": {0: "B", 2: "k", 3: "h", 4: "w"},
    "t": {0: "B"},
    "context": {0: "B", 1: "Lt"},
    "clip": {0: "B"},
    "y": {0: "B", 2: "k", 3: "h", 4: "w"},
    "audio_tokens": {1: "L"},
    "audio_index": {0: "F", 1: "W"},
    "audio_gate": {0: "B"},
    "velocity": {0: "B", 2: "k", 3: "h", 4: "w"},
}


def example_inputs(model, batch=3, frames=3, latent_frames=None, height=4, width=4, text_tokens=None,
                   audio_tokens=9, window=5, seed=0):
    """Inputs for tracing / smoke tests with the model's own widths."""
    g = torch.Generator().manual_seed(seed)
    k = latent_frames or frames
    lt = text_tokens or min(model.text_len, 7)
    cin = model.out_dim
    yc = model.in_dim - cin
    da = model.adapter.proj.wshape[1]
    dt = model.text0.wshape[1]
    dc = model.img1.wshape[1]
    idx = torch.randint(-1, audio_tokens, (frames, window), generator=g)
    return (torch.randn(batch, cin, k, height, width, generator=g),
            torch.full((batch,), 500.0),
            torch.randn(batch, lt, dt, generator=g),
            torch.randn(batch, CLIP_TOKENS, dc, generator=g),
            torch.randn(batch, yc, k, height, width, generator=g),
            torch.randn(1, audio_tokens, da, generator=g),
            idx,
            torch.tensor([0.0] + [1.0] * (batch - 1)))


def graphs(model, attention="plain", example=None, file=None):
    """The ``dit`` graph. attention: "plain" (MatMul-Softmax-MatMul, file dit.onnx) or "mha"
    (com.microsoft::MultiHeadAttention, file dit_mha.onnx)."""
    if attention not in ("plain", "mha"):
        raise ValueError(f"attention must be 'plain' or 'mha', not {attention!r}")
    args = example if example is not None else example_inputs(model, frames=3, latent_frames=2)
    name = file or ("dit.onnx" if attention == "plain" else "dit_mha.onnx")
    manifest = {"attention": attention}
    return [GraphExport(key="dit", file=name, module=_Graph(model, attention), args=tuple(args),
                        input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                        dynamic_axes={k: dict(v) for k, v in DYNAMIC_AXES.items()}, manifest=manifest)]


def parameter_count(config, text_dim=4096, clip_dim=1280, audio_dim=768, adapter_blocks=2):
    """Parameters of the model :func:`build` makes for a config (for reports and memory planning)."""
    d, ffn, fd = int(config["dim"]), int(config["ffn_dim"]), int(config["freq_dim"])
    lin = lambda i, o, bias=True: i * o + (o if bias else 0)   # noqa: E731
    cin = int(config["in_dim"])
    n = cin * d * 4 + d                                                 # patch embedding
    n += lin(text_dim, d) + lin(d, d) + lin(fd, d) + lin(d, d) + lin(d, 6 * d)
    n += 2 * clip_dim + lin(clip_dim, clip_dim) + lin(clip_dim, d) + 2 * d
    block = 4 * lin(d, d) + 2 * d + 8 * lin(d, d) + 3 * d + 2 * d + lin(d, ffn) + lin(ffn, d) + 6 * d
    n += int(config["num_layers"]) * block
    n += lin(d, int(config["out_dim"]) * 4) + 2 * d
    ablock = 4 * lin(d, d) + 2 * d + 2 * d + lin(d, 2 * d) + lin(2 * d, d) + 6 * d
    n += lin(audio_dim, d, False) + 2 * d + adapter_blocks * ablock + lin(d, d) + 2 * d
    return n
