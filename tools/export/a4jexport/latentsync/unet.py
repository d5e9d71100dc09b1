"""LatentSync's ``UNet3DConditionModel`` in plain PyTorch: the bundle's ``unet`` graph.

Reference: bytedance/LatentSync a229c39, ``latentsync/models/unet.py`` (``UNet3DConditionModel``,
forward 312-471), ``unet_blocks.py``, ``resnet.py``, ``attention.py``, ``motion_module.py``, with
diffusers' ``Timesteps`` / ``TimestepEmbedding`` / ``FeedForward`` (GEGLU) that they import. The
configuration is ``configs/unet/stage2.yaml`` (1.5, 256 px) / ``configs/unet/stage2_512.yaml`` (1.6,
512 px): the two differ only in ``data.resolution``; their ``model`` sections are :data:`CONFIG`.

Every width and depth is read from the tensor shapes (``conv_in`` [C0, 13, 3, 3], each level's
``resnets.*.conv1``, ``attn2.to_k`` [C, audio width], ``pos_encoder.pe`` [1, 24, C] ...); the
values that shapes cannot show (8 attention heads, 32 norm groups, eps 1e-5, ``flip_sin_to_cos``,
GEGLU, which blocks have cross-attention / motion modules) come from :data:`CONFIG` and are checked
against the keys present, so a reduced checkpoint with the real key names builds a reduced model
through the same code, and a checkpoint that does not fit the config is an error naming the key.

The reference's ``load_state_dict`` (unet.py 473-492) silently drops a ``conv_in`` whose input
channels differ from the config's 13 and ``attn2.to_k/to_v`` whose width differs from
``cross_attention_dim``; such a checkpoint would run with random weights there, so it is an error
here.

Graph (docs/BUNDLE-FORMAT.md, family ``latentsync``)::

    sample [B, 13, F, h, w], timestep [1] (float), audio [B, F, 50, W]  ->  noise [B, 4, F, h, w]

``audio`` is the reference's ``encoder_hidden_states`` ``[(B F), 50, W]`` with B and F split (the
same memory order). The activations are kept as ``[(B F), C, h, w]`` (what the reference's
``InflatedConv3d`` / ``Transformer3DModel`` rearrange to); the reference's 5-D ``nn.GroupNorm`` of
the resnets and of ``conv_norm_out`` (statistics over C/G channels x all F frames x h x w) is
computed on that layout with the frames as a reduction axis. The upsamplers use the size of the
skip tensor they meet (equal to the reference's x2 nearest for latents that are multiples of 8,
and to its ``upsample_size`` path otherwise).

Attention variants (``graphs(model, attention=...)``): ``"plain"`` MatMul-Softmax-MatMul
(``unet.onnx``, TensorRT fuses it) and ``"mha"`` ``com.microsoft::MultiHeadAttention``
(``unet_mha.onnx``, ONNX Runtime's variant). The plain spatial self-attention at 512 px (1.6,
64x64 latents: 4096 tokens) would hold 16 x 2 x 8 x 4096^2 floats = 17 GB of scores for a
16-frame chunk with guidance; the fused op streams them.

Sizes at the real config: 1 267.1 M parameters (417.1 M of them in the motion modules), 5.07 GB of
float32 weights.
"""
import math
import re

import torch
from torch import nn
from torch.nn import functional as F

from ..checkpoint import CheckpointKeyError
from ..graph import GraphExport
from ..stableavatar.dit import Linear, attention, attention_mode

#: the ``model`` section of LatentSync's configs/unet/stage2.yaml and stage2_512.yaml (a229c39)
CONFIG = {
    "act_fn": "silu",
    "add_audio_layer": True,
    "attention_head_dim": 8,          # used by the reference as the number of heads
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 384,
    "down_block_types": ["CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "CrossAttnDownBlock3D", "DownBlock3D"],
    "mid_block_type": "UNetMidBlock3DCrossAttn",
    "up_block_types": ["UpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D", "CrossAttnUpBlock3D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 13,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-5,
    "norm_num_groups": 32,
    "out_channels": 4,
    "resnet_time_scale_shift": "default",
    "use_motion_module": True,
    "motion_module_resolutions": [1, 2, 4, 8],
    "motion_module_mid_block": False,
    "motion_module_decoder_only": False,
    "motion_module_type": "Vanilla",
    "motion_module_kwargs": {
        "num_attention_heads": 8,
        "num_transformer_block": 1,
        "attention_block_types": ["Temporal_Self", "Temporal_Self"],
        "temporal_position_encoding": True,
        "temporal_position_encoding_max_len": 24,
        "temporal_attention_dim_div": 1,
        "zero_initialize": True,
    },
}
#: LatentSync version -> (face resolution, the config file it comes from)
VERSIONS = {"1.5": (256, "configs/unet/stage2.yaml"), "1.6": (512, "configs/unet/stage2_512.yaml")}
AUDIO_TOKENS = 50        # audio_feat_length [2, 2]: 5 video frames x 2 whisper rows x 5 layers
TRANSFORMER_NORM_EPS = 1e-6   # Transformer3DModel / TemporalTransformer3DModel GroupNorm
LAYER_NORM_EPS = 1e-5         # nn.LayerNorm default (BasicTransformerBlock, TemporalTransformerBlock)


def _param(t):
    return nn.Parameter(t, requires_grad=False)


class _W:
    """Reads float32 tensors with errors naming the key and the checkpoint file."""

    def __init__(self, sd, prefix=""):
        self.sd = sd
        self.prefix = prefix
        self.where = getattr(sd, "path", "the state dict")
        self.used = set()

    def has(self, key):
        return self.prefix + key in self.sd

    def __call__(self, key, shape=None):
        k = self.prefix + key
        if k not in self.sd:
            raise CheckpointKeyError(k, self.where, "a LatentSync UNet key (latentsync_unet.pt)")
        self.used.add(k)
        t = self.sd[k]
        if not torch.is_tensor(t):
            raise ValueError(f"{self.where}: {k} is not a tensor")
        t = t.detach().to(torch.float32).contiguous()
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise ValueError(f"{self.where}: {k} has shape {tuple(t.shape)}, expected {tuple(shape)}")
        return t

    def shape(self, key):
        k = self.prefix + key
        if k not in self.sd:
            raise CheckpointKeyError(k, self.where, "a LatentSync UNet key (latentsync_unet.pt)")
        if hasattr(self.sd, "shape"):
            return tuple(self.sd.shape(k))
        return tuple(self.sd[k].shape)

    def count(self, prefix, suffix):
        """How many consecutive ``prefix{i}suffix`` keys exist (i = 0, 1, ...)."""
        n = 0
        while self.has(f"{prefix}{n}{suffix}"):
            n += 1
        return n


def _linear(w, p, bias=True, in_dim=None, out_dim=None):
    weight = w(p + ".weight")
    if weight.dim() != 2:
        raise ValueError(f"{w.where}: {w.prefix}{p}.weight has shape {tuple(weight.shape)}, expected a matrix")
    if in_dim is not None and weight.shape[1] != in_dim:
        raise ValueError(f"{w.where}: {w.prefix}{p}.weight takes {weight.shape[1]} inputs, expected {in_dim}")
    if out_dim is not None and weight.shape[0] != out_dim:
        raise ValueError(f"{w.where}: {w.prefix}{p}.weight gives {weight.shape[0]} outputs, expected {out_dim}")
    b = w(p + ".bias", (weight.shape[0],)) if bias else None
    if not bias and w.has(p + ".bias"):
        raise ValueError(f"{w.where}: {w.prefix}{p}.bias is present, but the reference's layer has no bias")
    return Linear(weight, b)


class Conv2d(nn.Module):
    def __init__(self, w, p, stride=1, padding=None, in_dim=None):
        super().__init__()
        weight = w(p + ".weight")
        if weight.dim() != 4:
            raise ValueError(f"{w.where}: {w.prefix}{p}.weight has shape {tuple(weight.shape)}, expected a conv kernel")
        if in_dim is not None and weight.shape[1] != in_dim:
            raise ValueError(f"{w.where}: {w.prefix}{p}.weight takes {weight.shape[1]} channels, expected {in_dim}")
        self.weight = _param(weight)
        self.bias = _param(w(p + ".bias", (weight.shape[0],)))
        self.stride = stride
        self.padding = weight.shape[-1] // 2 if padding is None else padding
        self.out_channels = weight.shape[0]
        self.in_channels = weight.shape[1]

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class GroupNorm2d(nn.Module):
    """``nn.GroupNorm`` on ``[N, C, h, w]`` (per image)."""

    def __init__(self, w, p, groups, eps, channels):
        super().__init__()
        if channels % groups:
            raise ValueError(f"{w.where}: {w.prefix}{p} has {channels} channels, not a multiple of {groups} groups")
        self.weight = _param(w(p + ".weight", (channels,)))
        self.bias = _param(w(p + ".bias", (channels,)))
        self.groups, self.eps = groups, eps

    def forward(self, x):
        return F.group_norm(x, self.groups, self.weight, self.bias, self.eps)


class GroupNormFrames(nn.Module):
    """The reference's 5-D ``nn.GroupNorm`` ([b, C, f, h, w]: statistics over C/G x f x h x w) on
    ``[(b f), C, h, w]`` activations; ``frames`` is given at run time."""

    def __init__(self, w, p, groups, eps, channels):
        super().__init__()
        if channels % groups:
            raise ValueError(f"{w.where}: {w.prefix}{p} has {channels} channels, not a multiple of {groups} groups")
        self.weight = _param(w(p + ".weight", (channels,)).reshape(1, 1, channels, 1))
        self.bias = _param(w(p + ".bias", (channels,)).reshape(1, 1, channels, 1))
        self.groups, self.eps, self.channels = groups, eps, channels

    def forward(self, x, batch):
        n, c, h, wd = x.shape
        y = x.reshape(batch, -1, self.groups, c // self.groups, h * wd)
        mean = y.mean(dim=(1, 3, 4), keepdim=True)
        d = y - mean
        var = (d * d).mean(dim=(1, 3, 4), keepdim=True)
        y = d / torch.sqrt(var + self.eps)
        y = y.reshape(batch, -1, c, h * wd) * self.weight + self.bias
        return y.reshape(n, c, h, wd)


class LayerNorm(nn.Module):
    def __init__(self, w, p, dim):
        super().__init__()
        self.weight = _param(w(p + ".weight", (dim,)))
        self.bias = _param(w(p + ".bias", (dim,)))
        self.dim = dim

    def forward(self, x):
        return F.layer_norm(x, (self.dim,), self.weight, self.bias, LAYER_NORM_EPS)


class ResnetBlock(nn.Module):
    """ResnetBlock3D (resnet.py): GroupNorm over frames, SiLU, conv, + time embedding, GroupNorm,
    SiLU, conv; 1x1 ``conv_shortcut`` when the widths differ; output scale 1."""

    def __init__(self, w, p, cfg, temb_dim, in_channels=None):
        super().__init__()
        g, eps = cfg["norm_num_groups"], cfg["norm_eps"]
        self.conv1 = Conv2d(w, p + ".conv1", in_dim=in_channels)
        cin, cout = self.conv1.in_channels, self.conv1.out_channels
        self.norm1 = GroupNormFrames(w, p + ".norm1", g, eps, cin)
        self.time_emb_proj = _linear(w, p + ".time_emb_proj", in_dim=temb_dim, out_dim=cout)
        self.norm2 = GroupNormFrames(w, p + ".norm2", g, eps, cout)
        self.conv2 = Conv2d(w, p + ".conv2", in_dim=cout)
        self.conv_shortcut = None
        if cin != cout:
            self.conv_shortcut = Conv2d(w, p + ".conv_shortcut", padding=0, in_dim=cin)
        elif w.has(p + ".conv_shortcut.weight"):
            raise ValueError(f"{w.where}: {w.prefix}{p}.conv_shortcut is present but the block keeps its width {cin}")
        self.in_channels, self.out_channels = cin, cout

    def forward(self, x, temb, batch):
        h = self.conv1(F.silu(self.norm1(x, batch)))
        t = self.time_emb_proj(F.silu(temb))                      # [b, C]
        n, c, hh, ww = h.shape
        h = (h.reshape(batch, -1, c, hh * ww) + t.reshape(batch, 1, c, 1)).reshape(n, c, hh, ww)
        h = self.conv2(F.silu(self.norm2(h, batch)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class Attention(nn.Module):
    """attention.py ``Attention``: q/k/v without bias, ``to_out.0`` with bias, ``heads`` heads."""

    def __init__(self, w, p, dim, heads, context_dim=None):
        super().__init__()
        if dim % heads:
            raise ValueError(f"{w.where}: {w.prefix}{p}: width {dim} is not a multiple of {heads} heads")
        self.to_q = _linear(w, p + ".to_q", bias=False, in_dim=dim)
        inner = self.to_q.wshape[0]
        self.to_k = _linear(w, p + ".to_k", bias=False, in_dim=context_dim, out_dim=inner)
        self.to_v = _linear(w, p + ".to_v", bias=False, in_dim=self.to_k.wshape[1], out_dim=inner)
        self.to_out = _linear(w, p + ".to_out.0", in_dim=inner, out_dim=dim)
        self.heads = heads
        self.context_dim = self.to_k.wshape[1]

    def forward(self, x, context=None):
        c = x if context is None else context
        return self.to_out(attention(self.to_q(x), self.to_k(c), self.to_v(c), self.heads))


class FeedForward(nn.Module):
    """diffusers ``FeedForward(dim, activation_fn="geglu")``: ``net.0.proj`` [2*4*dim, dim] -> hidden *
    gelu(gate) -> ``net.2``."""

    def __init__(self, w, p, dim):
        super().__init__()
        self.proj = _linear(w, p + ".net.0.proj", in_dim=dim)
        inner2 = self.proj.wshape[0]
        if inner2 % 2:
            raise ValueError(f"{w.where}: {w.prefix}{p}.net.0.proj gives {inner2} outputs; GEGLU needs an even count")
        self.inner = inner2 // 2
        self.out = _linear(w, p + ".net.2", in_dim=self.inner, out_dim=dim)

    def forward(self, x):
        h = self.proj(x)
        return self.out(h[..., :self.inner] * F.gelu(h[..., self.inner:]))


class Transformer(nn.Module):
    """Transformer3DModel (attention.py) with one BasicTransformerBlock: per-frame GroupNorm, 1x1 conv
    ``proj_in``, self-attention, audio cross-attention (``attn2``), GEGLU feed-forward, 1x1 conv
    ``proj_out``, residual."""

    def __init__(self, w, p, channels, cfg, audio_dim):
        super().__init__()
        heads = cfg["attention_head_dim"]
        self.norm = GroupNorm2d(w, p + ".norm", cfg["norm_num_groups"], TRANSFORMER_NORM_EPS, channels)
        self.proj_in = Conv2d(w, p + ".proj_in", padding=0, in_dim=channels)
        inner = self.proj_in.out_channels
        if w.has(p + ".transformer_blocks.1.norm1.weight"):
            raise ValueError(f"{w.where}: {w.prefix}{p} has more than one transformer block (the config has 1)")
        b = p + ".transformer_blocks.0"
        self.norm1 = LayerNorm(w, b + ".norm1", inner)
        self.attn1 = Attention(w, b + ".attn1", inner, heads, context_dim=inner)
        self.has_audio = cfg["add_audio_layer"]
        if self.has_audio:
            self.norm2 = LayerNorm(w, b + ".norm2", inner)
            self.attn2 = Attention(w, b + ".attn2", inner, heads, context_dim=audio_dim)
        elif w.has(b + ".attn2.to_q.weight"):
            raise ValueError(f"{w.where}: {w.prefix}{b}.attn2 is present but add_audio_layer is false")
        self.norm3 = LayerNorm(w, b + ".norm3", inner)
        self.ff = FeedForward(w, b + ".ff", inner)
        self.proj_out = Conv2d(w, p + ".proj_out", padding=0, in_dim=inner)
        if self.proj_out.out_channels != channels:
            raise ValueError(f"{w.where}: {w.prefix}{p}.proj_out gives {self.proj_out.out_channels} channels, expected {channels}")
        self.inner = inner

    def forward(self, x, audio):
        n, c, hh, ww = x.shape
        h = self.proj_in(self.norm(x))
        h = h.permute(0, 2, 3, 1).reshape(n, hh * ww, self.inner)
        h = self.attn1(self.norm1(h)) + h
        if self.has_audio:
            h = self.attn2(self.norm2(h), audio) + h
        h = self.ff(self.norm3(h)) + h
        h = h.reshape(n, hh, ww, self.inner).permute(0, 3, 1, 2)
        return self.proj_out(h) + x


class MotionModule(nn.Module):
    """VanillaTemporalModule -> TemporalTransformer3DModel (motion_module.py): per-frame GroupNorm,
    Linear ``proj_in``, blocks of temporal self-attentions (each with its sinusoidal ``pos_encoder.pe``
    added to the frames' tokens) and a GEGLU feed-forward, Linear ``proj_out``, residual. Attention
    runs over the F frames of each (batch, pixel)."""

    def __init__(self, w, p, channels, cfg):
        super().__init__()
        mk = cfg["motion_module_kwargs"]
        heads = mk["num_attention_heads"]
        t = p + ".temporal_transformer"
        self.norm = GroupNorm2d(w, t + ".norm", cfg["norm_num_groups"], TRANSFORMER_NORM_EPS, channels)
        self.proj_in = _linear(w, t + ".proj_in", in_dim=channels)
        inner = self.proj_in.wshape[0]
        nblocks = w.count(t + ".transformer_blocks.", ".ff_norm.weight")
        if nblocks == 0:
            raise CheckpointKeyError(w.prefix + t + ".transformer_blocks.0.ff_norm.weight", w.where,
                                     "the motion module's transformer block")
        self.blocks = nn.ModuleList()
        self.max_len = None
        for i in range(nblocks):
            b = f"{t}.transformer_blocks.{i}"
            nattn = w.count(b + ".attention_blocks.", ".to_q.weight")
            if nattn == 0:
                raise CheckpointKeyError(w.prefix + b + ".attention_blocks.0.to_q.weight", w.where,
                                         "the motion module's temporal attention")
            blk = nn.Module()
            blk.norms = nn.ModuleList([LayerNorm(w, f"{b}.norms.{j}", inner) for j in range(nattn)])
            blk.attns = nn.ModuleList([Attention(w, f"{b}.attention_blocks.{j}", inner, heads, context_dim=inner)
                                       for j in range(nattn)])
            pes = []
            for j in range(nattn):
                key = f"{b}.attention_blocks.{j}.pos_encoder.pe"
                if mk["temporal_position_encoding"]:
                    s = w.shape(key)
                    if len(s) != 3 or s[0] != 1 or s[2] != inner:
                        raise ValueError(f"{w.where}: {w.prefix}{key} has shape {s}, expected (1, max_len, {inner})")
                    pes.append(_param(w(key)))
                    self.max_len = s[1] if self.max_len is None else min(self.max_len, s[1])
            blk.pe = nn.ParameterList(pes)
            blk.ff_norm = LayerNorm(w, b + ".ff_norm", inner)
            blk.ff = FeedForward(w, b + ".ff", inner)
            self.blocks.append(blk)
        self.proj_out = _linear(w, t + ".proj_out", in_dim=inner, out_dim=channels)
        self.heads, self.inner, self.channels = heads, inner, channels

    def forward(self, x, batch):
        n, c, hh, ww = x.shape
        s = hh * ww
        h = self.norm(x).permute(0, 2, 3, 1).reshape(n, s, c)
        h = self.proj_in(h)                                            # [(b f), s, inner]
        for blk in self.blocks:
            for j, (norm, attn) in enumerate(zip(blk.norms, blk.attns)):
                a = norm(h)
                a = a.reshape(batch, -1, s, self.inner).transpose(1, 2).reshape(batch * s, -1, self.inner)
                if len(blk.pe):
                    a = a + blk.pe[j][:, :a.shape[1]]
                a = attn(a)                                            # [(b s), f, inner]
                a = a.reshape(batch, s, -1, self.inner).transpose(1, 2).reshape(n, s, self.inner)
                h = a + h
            h = blk.ff(blk.ff_norm(h)) + h
        h = self.proj_out(h)
        return h.reshape(n, hh, ww, c).permute(0, 3, 1, 2) + x


def _timestep_embedding(t, dim, flip_sin_to_cos, shift):
    """diffusers ``get_timestep_embedding`` (max_period 10000, scale 1), in the timestep's float type
    (float32 in the graphs; float64 where tools/reference_run_latentsync.py runs the modules in float64),
    float32 for an integer timestep."""
    half = dim // 2
    dt = t.dtype if t.is_floating_point() else torch.float32
    exponent = -math.log(10000.0) * torch.arange(half, dtype=dt) / (half - shift)
    emb = t[:, None].to(dt) * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1, 0, 0))
    return emb


class UNet(nn.Module):
    """The whole ``UNet3DConditionModel`` forward with ``(sample, timestep, audio)``."""

    def __init__(self, sd, cfg=CONFIG):
        super().__init__()
        w = _W(sd)
        self.cfg = cfg
        self.conv_in = Conv2d(w, "conv_in")
        if self.conv_in.in_channels != cfg["in_channels"]:
            raise ValueError(f"{w.where}: conv_in takes {self.conv_in.in_channels} channels; the config"
                             f" (and the bundle's unet contract) {cfg['in_channels']} (noisy latents 4 + mask 1 +"
                             " masked-face latents 4 + reference latents 4). The reference would drop this conv_in"
                             " and run with a random one.")
        c0 = self.conv_in.out_channels
        self.c0 = c0
        l1 = _linear(w, "time_embedding.linear_1", in_dim=c0)
        self.time_linear_1 = l1
        tdim = l1.wshape[0]
        if tdim != 4 * c0:
            raise ValueError(f"{w.where}: time_embedding.linear_1 gives {tdim}, expected 4 x {c0}")
        self.time_linear_2 = _linear(w, "time_embedding.linear_2", in_dim=tdim, out_dim=tdim)
        audio_dim = None
        key = next((k for k in _keys(sd) if re.fullmatch(r".*\.attn2\.to_k\.weight", k)), None)
        if cfg["add_audio_layer"]:
            if key is None:
                raise CheckpointKeyError("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                                         w.where, "the audio cross-attention (add_audio_layer: true)")
            audio_dim = w.shape(key)[1]
        self.audio_dim = audio_dim

        # the structure (levels, layers per block, which layers have a cross-attention transformer or
        # a motion module) is read from the keys; differences from the yaml are listed in
        # self.deviations (a reduced checkpoint may have fewer levels or layers)
        nlevels = w.count("down_blocks.", ".resnets.0.conv1.weight")
        if nlevels == 0:
            raise CheckpointKeyError("down_blocks.0.resnets.0.conv1.weight", w.where, "the UNet's first level")
        lpb = w.count("down_blocks.0.resnets.", ".conv1.weight")
        self.deviations = []
        if nlevels != len(cfg["down_block_types"]):
            self.deviations.append(f"{nlevels} levels (the yaml: {len(cfg['down_block_types'])})")
        if lpb != cfg["layers_per_block"]:
            self.deviations.append(f"layers_per_block {lpb} (the yaml: {cfg['layers_per_block']})")
        if nlevels != w.count("up_blocks.", ".resnets.0.conv1.weight"):
            raise ValueError(f"{w.where}: {nlevels} down_blocks but"
                             f" {w.count('up_blocks.', '.resnets.0.conv1.weight')} up_blocks")
        # down
        self.down = nn.ModuleList()
        widths = []
        ch = c0
        for i in range(nlevels):
            p = f"down_blocks.{i}"
            n = w.count(p + ".resnets.", ".conv1.weight")
            if n != lpb:
                raise ValueError(f"{w.where}: {p} has {n} resnets, the config's layers_per_block {lpb}")
            blk = nn.Module()
            blk.resnets = nn.ModuleList()
            blk.attns = nn.ModuleList()
            blk.motions = nn.ModuleList()
            cross = w.has(f"{p}.attentions.0.norm.weight")
            motion = w.has(f"{p}.motion_modules.0.temporal_transformer.norm.weight")
            for j in range(lpb):
                r = ResnetBlock(w, f"{p}.resnets.{j}", cfg, tdim, in_channels=ch)
                ch = r.out_channels
                blk.resnets.append(r)
                blk.attns.append(self._attn(w, f"{p}.attentions.{j}", ch, cfg, audio_dim, cross))
                blk.motions.append(self._motion(w, f"{p}.motion_modules.{j}", ch, cfg, motion))
            widths.append(ch)
            last = i == nlevels - 1
            if not last:
                blk.down = Conv2d(w, f"{p}.downsamplers.0.conv", stride=2, padding=cfg["downsample_padding"],
                                  in_dim=ch)
            elif w.has(f"{p}.downsamplers.0.conv.weight"):
                raise ValueError(f"{w.where}: {p} (the last level) has a downsampler")
            else:
                blk.down = None
            self.down.append(blk)
        self.widths = widths
        # mid
        p = "mid_block"
        if w.count(p + ".resnets.", ".conv1.weight") != 2:
            raise ValueError(f"{w.where}: {p} must have 2 resnets (UNetMidBlock3DCrossAttn with one layer)")
        self.mid_res0 = ResnetBlock(w, p + ".resnets.0", cfg, tdim, in_channels=ch)
        self.mid_attn = self._attn(w, p + ".attentions.0", ch, cfg, audio_dim, True)
        self.mid_motion = self._motion(w, p + ".motion_modules.0", ch, cfg,
                                       w.has(p + ".motion_modules.0.temporal_transformer.norm.weight"))
        self.mid_res1 = ResnetBlock(w, p + ".resnets.1", cfg, tdim, in_channels=ch)
        # up
        self.up = nn.ModuleList()
        for i in range(nlevels):
            p = f"up_blocks.{i}"
            n = w.count(p + ".resnets.", ".conv1.weight")
            if n != lpb + 1:
                raise ValueError(f"{w.where}: {p} has {n} resnets, expected layers_per_block + 1 = {lpb + 1}")
            blk = nn.Module()
            blk.resnets = nn.ModuleList()
            blk.attns = nn.ModuleList()
            blk.motions = nn.ModuleList()
            cross = w.has(f"{p}.attentions.0.norm.weight")
            motion = w.has(f"{p}.motion_modules.0.temporal_transformer.norm.weight")
            for j in range(lpb + 1):
                r = ResnetBlock(w, f"{p}.resnets.{j}", cfg, tdim)
                blk.resnets.append(r)
                blk.attns.append(self._attn(w, f"{p}.attentions.{j}", r.out_channels, cfg, audio_dim, cross))
                blk.motions.append(self._motion(w, f"{p}.motion_modules.{j}", r.out_channels, cfg, motion))
            ch = blk.resnets[-1].out_channels
            if i < nlevels - 1:
                blk.up = Conv2d(w, f"{p}.upsamplers.0.conv", in_dim=ch)
            elif w.has(f"{p}.upsamplers.0.conv.weight"):
                raise ValueError(f"{w.where}: {p} (the last level) has an upsampler")
            else:
                blk.up = None
            self.up.append(blk)
        self.norm_out = GroupNormFrames(w, "conv_norm_out", cfg["norm_num_groups"], cfg["norm_eps"], ch)
        self.conv_out = Conv2d(w, "conv_out", in_dim=ch)
        if self.conv_out.out_channels != cfg["out_channels"]:
            raise ValueError(f"{w.where}: conv_out gives {self.conv_out.out_channels} channels, expected"
                             f" {cfg['out_channels']}")
        self.in_channels = self.conv_in.in_channels
        self.out_channels = self.conv_out.out_channels
        self.motion_max_len = min([m.max_len for m in self.modules()
                                   if isinstance(m, MotionModule) and m.max_len] or [0]) or None
        # every key of the checkpoint must have been used (a key the model does not know means the
        # checkpoint has a structure this exporter does not build)
        kinds_down = ["CrossAttnDownBlock3D" if blk.attns[0] is not None else "DownBlock3D" for blk in self.down]
        kinds_up = ["CrossAttnUpBlock3D" if blk.attns[0] is not None else "UpBlock3D" for blk in self.up]
        if kinds_down != cfg["down_block_types"] or kinds_up != cfg["up_block_types"]:
            self.deviations.append(f"blocks {kinds_down} / {kinds_up} (the yaml: {cfg['down_block_types']} /"
                                   f" {cfg['up_block_types']})")
        self._check_unused(w, sd)

    @staticmethod
    def _attn(w, p, ch, cfg, audio_dim, cross):
        if cross:
            return Transformer(w, p, ch, cfg, audio_dim)
        if w.has(p + ".norm.weight"):
            raise ValueError(f"{w.where}: {p} is present, but the config's block has no attention")
        return None

    @staticmethod
    def _motion(w, p, ch, cfg, present):
        if present:
            return MotionModule(w, p, ch, cfg)
        if w.has(p + ".temporal_transformer.norm.weight"):
            raise ValueError(f"{w.where}: {p} is present, but the config has no motion module there")
        return None

    def _check_unused(self, w, sd):
        """Tensors the model did not read. The reference loads with ``strict=False`` and ignores them
        too, so they are listed in ``deviations`` (printed by the command), not an error; what the
        model needs and does not find is an error where it is read."""
        unused = sorted(set(_keys(sd)) - w.used)
        if unused:
            self.deviations.append(f"{len(unused)} checkpoint tensors are not used (the reference's"
                                   f" strict=False load ignores them too): {unused[:5]}")
        self.unused = unused

    def _block_seq(self, h, temb, audio, batch, resnet, attn, motion):
        h = resnet(h, temb, batch)
        if attn is not None:
            h = attn(h, audio)
        if motion is not None:
            h = motion(h, batch)
        return h

    def _prologue(self, sample, timestep, audio):
        b, c, f, hh, ww = sample.shape
        t = timestep.reshape(-1)[:1].expand(b)
        emb = _timestep_embedding(t, self.c0, self.cfg["flip_sin_to_cos"], self.cfg["freq_shift"])
        temb = self.time_linear_2(F.silu(self.time_linear_1(emb)))
        x = sample.transpose(1, 2).reshape(b * f, c, hh, ww)
        aud = audio.reshape(b * f, audio.shape[2], audio.shape[3])
        return b, f, hh, ww, temb, aud, self.conv_in(x)

    def _epilogue(self, h, b, f, hh, ww):
        h = self.conv_out(F.silu(self.norm_out(h, b)))
        return h.reshape(b, f, -1, hh, ww).transpose(1, 2)

    def forward(self, sample, timestep, audio, with_cache=False):
        """``noise``; with ``with_cache`` also DeepCache's ``cache`` [B, C0, F, h, w]: the input of the
        last up block's last layer (before its concatenation with the ``conv_in`` skip)."""
        b, f, hh, ww, temb, aud, h = self._prologue(sample, timestep, audio)
        skips = [h]
        for blk in self.down:
            for r, a, m in zip(blk.resnets, blk.attns, blk.motions):
                h = self._block_seq(h, temb, aud, b, r, a, m)
                skips.append(h)
            if blk.down is not None:
                h = blk.down(h)
                skips.append(h)
        h = self.mid_res0(h, temb, b)
        h = self.mid_attn(h, aud)
        if self.mid_motion is not None:
            h = self.mid_motion(h, b)
        h = self.mid_res1(h, temb, b)
        cache = None
        for i, blk in enumerate(self.up):
            for j, (r, a, m) in enumerate(zip(blk.resnets, blk.attns, blk.motions)):
                if i == len(self.up) - 1 and j == len(blk.resnets) - 1:
                    cache = h
                h = torch.cat([h, skips.pop()], dim=1)
                h = self._block_seq(h, temb, aud, b, r, a, m)
            if blk.up is not None:
                h = F.interpolate(h, size=skips[-1].shape[-2:], mode="nearest")
                h = blk.up(h)
        noise = self._epilogue(h, b, f, hh, ww)
        if not with_cache:
            return noise
        n, c, _, _ = cache.shape
        return noise, cache.reshape(b, f, c, hh, ww).transpose(1, 2)

    def shallow(self, sample, timestep, audio, cache):
        """DeepCache's step between full ones (DeepCacheSDHelper, cache_branch_id 0, as LatentSync's
        inference.py sets it): ``conv_in``, then only the last up block's last layer (resnet,
        transformer, motion module) on ``cat(cache, conv_in(x))``, then the output head. Every other
        block of the reference returns its output of the last full step, so the layers before the
        cache point reproduce ``cache`` exactly; what changes is the ``conv_in`` skip, the time
        embedding and everything of the last layer."""
        b, f, hh, ww, temb, aud, h0 = self._prologue(sample, timestep, audio)
        c = cache.shape[1]
        h = torch.cat([cache.transpose(1, 2).reshape(b * f, c, hh, ww), h0], dim=1)
        blk = self.up[-1]
        h = self._block_seq(h, temb, aud, b, blk.resnets[-1], blk.attns[-1], blk.motions[-1])
        return self._epilogue(h, b, f, hh, ww)


def _keys(sd):
    return list(sd.keys())


def build(sd, config=None, **_):
    """The UNet from a (lazy) state dict with LatentSync's key names (``latentsync_unet.pt``'s
    ``state_dict``). ``config``: a dict overriding :data:`CONFIG` entries (tests)."""
    cfg = dict(CONFIG)
    if config:
        unknown = sorted(set(config) - set(CONFIG))
        if unknown:
            raise ValueError(f"UNet config: unknown keys {unknown} (the yaml's model section has {sorted(CONFIG)})")
        cfg.update({k: v for k, v in config.items() if k != "motion_module_kwargs"})
        cfg["motion_module_kwargs"] = dict(CONFIG["motion_module_kwargs"], **config.get("motion_module_kwargs", {}))
    for k, want in (("center_input_sample", False), ("resnet_time_scale_shift", "default"),
                    ("act_fn", "silu"), ("mid_block_type", "UNetMidBlock3DCrossAttn"),
                    ("motion_module_type", "Vanilla")):
        if cfg[k] != want:
            raise ValueError(f"UNet config {k}={cfg[k]!r} is not supported (LatentSync's configs have {want!r})")
    model = UNet(sd, cfg).eval()
    return model


INPUT_NAMES = ["sample", "timestep", "audio"]
OUTPUT_NAMES = ["noise"]
DYNAMIC_AXES = {"sample": {0: "B", 2: "F", 3: "h", 4: "w"}, "audio": {0: "B", 1: "F"},
                "noise": {0: "B", 2: "F", 3: "h", 4: "w"}}


def example_inputs(model, batch=2, frames=3, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, model.in_channels, frames, size, size, generator=g),
            torch.tensor([501.0]),
            torch.randn(batch, frames, AUDIO_TOKENS, model.audio_dim, generator=g))


class _Graph(nn.Module):
    def __init__(self, model, mode, kind="plain"):
        super().__init__()
        self.model = model
        self.mode = mode
        self.kind = kind

    def forward(self, *args):
        with attention_mode(self.mode):
            if self.kind == "shallow":
                return self.model.shallow(*args)
            return self.model(*args, with_cache=self.kind == "cache")


def graphs(model, attention="plain", example=None, file=None, deepcache=False):
    """The ``unet`` graph: ``attention`` "plain" (``unet.onnx``) or "mha" (``unet_mha.onnx``). With
    ``deepcache`` it also returns ``cache`` and the ``unet-shallow`` graph (``unet_shallow.onnx`` /
    ``unet_shallow_mha.onnx``: ``sample``, ``timestep``, ``audio``, ``cache`` -> ``noise``) follows."""
    if attention not in ("plain", "mha"):
        raise ValueError(f"attention must be 'plain' or 'mha', not {attention!r}")
    args = example if example is not None else example_inputs(model)
    suffix = "" if attention == "plain" else "_mha"
    name = file or f"unet{suffix}.onnx"
    axes = {k: dict(v) for k, v in DYNAMIC_AXES.items()}
    if not deepcache:
        return [GraphExport(key="unet", file=name, module=_Graph(model, attention), args=tuple(args),
                            input_names=list(INPUT_NAMES), output_names=list(OUTPUT_NAMES),
                            dynamic_axes=axes, manifest={"attention": attention})]
    axes["cache"] = {0: "B", 2: "F", 3: "h", 4: "w"}
    with torch.no_grad():
        _, cache = model(*args, with_cache=True)
    return [GraphExport(key="unet", file=name, module=_Graph(model, attention, "cache"), args=tuple(args),
                        input_names=list(INPUT_NAMES), output_names=OUTPUT_NAMES + ["cache"],
                        dynamic_axes=axes, manifest={"attention": attention}),
            GraphExport(key="unet-shallow", file=f"unet_shallow{suffix}.onnx", module=_Graph(model, attention, "shallow"),
                        args=tuple(args) + (cache,), input_names=INPUT_NAMES + ["cache"],
                        output_names=list(OUTPUT_NAMES), dynamic_axes=axes, manifest={"attention": attention})]
