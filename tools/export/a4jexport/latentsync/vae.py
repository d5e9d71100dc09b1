"""diffusers ``AutoencoderKL`` (``stabilityai/sd-vae-ft-mse``) in plain PyTorch: the bundle's
``vae-encoder`` and ``vae-decoder`` graphs.

Reference: huggingface/diffusers ``models/autoencoders/autoencoder_kl.py`` (``encode`` ->
``DiagonalGaussianDistribution(quant_conv(encoder(x)))``, ``_decode`` -> ``decoder(post_quant_conv(z))``),
``autoencoders/vae.py`` (``Encoder``, ``Decoder``, ``DiagonalGaussianDistribution``),
``unets/unet_2d_blocks.py`` (``DownEncoderBlock2D``, ``UpDecoderBlock2D``, ``UNetMidBlock2D``),
``resnet.py`` (``ResnetBlock2D``), ``downsampling.py`` / ``upsampling.py`` and the mid-block
``Attention`` (one head of the full width, GroupNorm in front, residual). LatentSync uses it with
``latent_dist.sample()`` for the masked and reference faces (``lipsync_pipeline.py`` 205, 224) and
``vae.decode`` for the result, ``scaling_factor`` 0.18215, ``shift_factor`` 0.

Inputs: the folder ``config.json`` + ``diffusion_pytorch_model.safetensors`` (or ``.bin``). Every
width and depth comes from the tensor shapes and is checked against ``config.json``
(``block_out_channels``, ``layers_per_block``, ``latent_channels``, ``in_channels``,
``out_channels``); ``norm_num_groups`` comes from the config (eps 1e-6 as diffusers' Encoder /
Decoder fix it). The mid-block attention is read under diffusers' current names (``to_q``,
``to_k``, ``to_v``, ``to_out.0``) or the deprecated ones (``query``, ``key``, ``value``,
``proj_attn``) that older files such as sd-vae-ft-mse's have; 1x1-conv shaped ``[C, C, 1, 1]``
matrices are accepted too.

Graphs (docs/BUNDLE-FORMAT.md, family ``latentsync``):
- ``vae-encoder``: ``image [N, 3, R, R]`` in [-1, 1] -> ``latent [N, 4, R/8, R/8]`` (posterior mean)
  and ``std [N, 4, R/8, R/8]`` (``exp(0.5 * clamp(logvar, -30, 20))``), unscaled: a sample is
  ``latent + std * noise``.
- ``vae-decoder``: ``latent [N, 4, h, w]`` (unscaled) -> ``image [N, 3, 8h, 8w]`` (not clamped).
"""
import json
import os

import torch
from torch import nn
from torch.nn import functional as F

from ..checkpoint import CheckpointKeyError
from ..graph import GraphExport

EPS = 1e-6
WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")
SCALING = 0.18215   # LatentSync: vae.config.scaling_factor = 0.18215, shift_factor = 0


class _W:
    def __init__(self, sd):
        self.sd = sd
        self.where = getattr(sd, "path", "the state dict")

    def has(self, key):
        return key in self.sd

    def __call__(self, key, shape=None):
        if key not in self.sd:
            raise CheckpointKeyError(key, self.where, "an AutoencoderKL key (sd-vae-ft-mse)")
        t = self.sd[key].detach().to(torch.float32).contiguous()
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise ValueError(f"{self.where}: {key} has shape {tuple(t.shape)}, expected {tuple(shape)}")
        return t


def _p(t):
    return nn.Parameter(t, requires_grad=False)


class Conv(nn.Module):
    def __init__(self, w, p, in_dim=None, stride=1, padding=None):
        super().__init__()
        wt = w(p + ".weight")
        if wt.dim() != 4:
            raise ValueError(f"{w.where}: {p}.weight has shape {tuple(wt.shape)}, expected a conv kernel")
        if in_dim is not None and wt.shape[1] != in_dim:
            raise ValueError(f"{w.where}: {p}.weight takes {wt.shape[1]} channels, expected {in_dim}")
        self.weight = _p(wt)
        self.bias = _p(w(p + ".bias", (wt.shape[0],)))
        self.stride = stride
        self.padding = wt.shape[-1] // 2 if padding is None else padding
        self.cin, self.cout = wt.shape[1], wt.shape[0]

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class Norm(nn.Module):
    def __init__(self, w, p, c, groups):
        super().__init__()
        if c % groups:
            raise ValueError(f"{w.where}: {p}: {c} channels are not a multiple of {groups} groups")
        self.weight = _p(w(p + ".weight", (c,)))
        self.bias = _p(w(p + ".bias", (c,)))
        self.groups = groups

    def forward(self, x):
        return F.group_norm(x, self.groups, self.weight, self.bias, EPS)


class Resnet(nn.Module):
    """ResnetBlock2D without time embedding: norm, SiLU, conv, norm, SiLU, conv, (1x1 shortcut) + x."""

    def __init__(self, w, p, groups, in_dim):
        super().__init__()
        self.conv1 = Conv(w, p + ".conv1", in_dim=in_dim)
        cin, cout = self.conv1.cin, self.conv1.cout
        self.norm1 = Norm(w, p + ".norm1", cin, groups)
        self.norm2 = Norm(w, p + ".norm2", cout, groups)
        self.conv2 = Conv(w, p + ".conv2", in_dim=cout)
        self.shortcut = Conv(w, p + ".conv_shortcut", in_dim=cin, padding=0) if cin != cout else None
        self.cout = cout

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.shortcut(x) if self.shortcut is not None else x) + h


class MidAttention(nn.Module):
    """The mid-block ``Attention``: GroupNorm, one head of width C over the h*w pixels, residual."""

    NAMES = {"q": ("to_q", "query"), "k": ("to_k", "key"), "v": ("to_v", "value"), "o": ("to_out.0", "proj_attn")}

    def __init__(self, w, p, c, groups):
        super().__init__()
        self.norm = Norm(w, p + ".group_norm", c, groups)
        for n, (new, old) in self.NAMES.items():
            name = new if w.has(f"{p}.{new}.weight") else old
            if not w.has(f"{p}.{name}.weight"):
                raise CheckpointKeyError(f"{p}.{new}.weight", w.where, f"the mid-block attention ({new} or the"
                                         f" deprecated {old})")
            wt = w(f"{p}.{name}.weight")
            if wt.dim() == 4 and wt.shape[2:] == (1, 1):
                wt = wt[:, :, 0, 0]
            if tuple(wt.shape) != (c, c):
                raise ValueError(f"{w.where}: {p}.{name}.weight has shape {tuple(wt.shape)}, expected ({c}, {c})")
            setattr(self, n + "_w", _p(wt.t().contiguous()))
            setattr(self, n + "_b", _p(w(f"{p}.{name}.bias", (c,))))
        self.c = c

    def forward(self, x):
        n, c, h, wd = x.shape
        t = self.norm(x).reshape(n, c, h * wd).transpose(1, 2)
        q = torch.matmul(t, self.q_w) + self.q_b
        k = torch.matmul(t, self.k_w) + self.k_b
        v = torch.matmul(t, self.v_w) + self.v_b
        a = torch.softmax(torch.matmul(q, k.transpose(1, 2)) * (1.0 / c ** 0.5), dim=-1)
        o = torch.matmul(torch.matmul(a, v), self.o_w) + self.o_b
        return o.transpose(1, 2).reshape(n, c, h, wd) + x


class Mid(nn.Module):
    def __init__(self, w, p, c, groups, attention=True):
        super().__init__()
        self.res0 = Resnet(w, p + ".resnets.0", groups, c)
        self.attn = MidAttention(w, p + ".attentions.0", c, groups) if attention else None
        self.res1 = Resnet(w, p + ".resnets.1", groups, c)

    def forward(self, x):
        x = self.res0(x)
        if self.attn is not None:
            x = self.attn(x)
        return self.res1(x)


def _count(w, prefix, suffix):
    n = 0
    while w.has(f"{prefix}{n}{suffix}"):
        n += 1
    return n


class Encoder(nn.Module):
    """Encoder + quant_conv + the posterior's mean and std."""

    def __init__(self, w, cfg):
        super().__init__()
        g = cfg["norm_num_groups"]
        self.conv_in = Conv(w, "encoder.conv_in", in_dim=cfg["in_channels"])
        ch = self.conv_in.cout
        levels = _count(w, "encoder.down_blocks.", ".resnets.0.conv1.weight")
        self.blocks = nn.ModuleList()
        widths = []
        for i in range(levels):
            p = f"encoder.down_blocks.{i}"
            n = _count(w, p + ".resnets.", ".conv1.weight")
            blk = nn.Module()
            blk.resnets = nn.ModuleList()
            for j in range(n):
                blk.resnets.append(Resnet(w, f"{p}.resnets.{j}", g, ch))
                ch = blk.resnets[-1].cout
            blk.down = Conv(w, f"{p}.downsamplers.0.conv", in_dim=ch, stride=2, padding=0) \
                if w.has(f"{p}.downsamplers.0.conv.weight") else None
            self.blocks.append(blk)
            widths.append(ch)
        self.widths, self.layers = widths, _count(w, "encoder.down_blocks.0.resnets.", ".conv1.weight")
        self.mid = Mid(w, "encoder.mid_block", ch, g, cfg.get("mid_block_add_attention", True))
        self.norm_out = Norm(w, "encoder.conv_norm_out", ch, g)
        self.conv_out = Conv(w, "encoder.conv_out", in_dim=ch)
        z2 = self.conv_out.cout
        self.quant = Conv(w, "quant_conv", in_dim=z2, padding=0) if cfg.get("use_quant_conv", True) else None
        if self.quant is not None and self.quant.cout != z2:
            raise ValueError(f"{w.where}: quant_conv gives {self.quant.cout} channels, expected {z2}")
        self.z = z2 // 2

    def forward(self, image):
        h = self.conv_in(image)
        for blk in self.blocks:
            for r in blk.resnets:
                h = r(h)
            if blk.down is not None:
                h = blk.down(F.pad(h, (0, 1, 0, 1)))
        h = self.conv_out(F.silu(self.norm_out(self.mid(h))))
        if self.quant is not None:
            h = self.quant(h)
        mean, logvar = h[:, :self.z], h[:, self.z:]
        return mean, torch.exp(0.5 * torch.clamp(logvar, -30.0, 20.0))


class Decoder(nn.Module):
    """post_quant_conv + Decoder."""

    def __init__(self, w, cfg, z):
        super().__init__()
        g = cfg["norm_num_groups"]
        self.post = Conv(w, "post_quant_conv", in_dim=z, padding=0) if cfg.get("use_post_quant_conv", True) else None
        self.conv_in = Conv(w, "decoder.conv_in", in_dim=z)
        ch = self.conv_in.cout
        self.mid = Mid(w, "decoder.mid_block", ch, g, cfg.get("mid_block_add_attention", True))
        levels = _count(w, "decoder.up_blocks.", ".resnets.0.conv1.weight")
        self.blocks = nn.ModuleList()
        self.widths = []
        for i in range(levels):
            p = f"decoder.up_blocks.{i}"
            n = _count(w, p + ".resnets.", ".conv1.weight")
            blk = nn.Module()
            blk.resnets = nn.ModuleList()
            for j in range(n):
                blk.resnets.append(Resnet(w, f"{p}.resnets.{j}", g, ch))
                ch = blk.resnets[-1].cout
            blk.up = Conv(w, f"{p}.upsamplers.0.conv", in_dim=ch) if w.has(f"{p}.upsamplers.0.conv.weight") else None
            self.blocks.append(blk)
            self.widths.append(ch)
        self.layers = _count(w, "decoder.up_blocks.0.resnets.", ".conv1.weight")
        self.norm_out = Norm(w, "decoder.conv_norm_out", ch, g)
        self.conv_out = Conv(w, "decoder.conv_out", in_dim=ch)

    def forward(self, latent):
        h = self.post(latent) if self.post is not None else latent
        h = self.mid(self.conv_in(h))
        for blk in self.blocks:
            for r in blk.resnets:
                h = r(h)
            if blk.up is not None:
                h = blk.up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


class AutoencoderKL(nn.Module):
    def __init__(self, sd, config):
        super().__init__()
        w = _W(sd)
        cfg = {"in_channels": 3, "out_channels": 3, "norm_num_groups": 32, "latent_channels": 4}
        cfg.update({k: v for k, v in (config or {}).items() if not k.startswith("_")})
        if cfg.get("act_fn", "silu") != "silu":
            raise ValueError(f"VAE config act_fn={cfg['act_fn']!r}: only silu is supported")
        self.encoder = Encoder(w, cfg)
        self.decoder = Decoder(w, cfg, self.encoder.z)
        where = f"{w.where} (config.json)"
        checks = [("latent_channels", self.encoder.z), ("out_channels", self.decoder.conv_out.cout)]
        if "block_out_channels" in cfg:
            checks.append(("block_out_channels", list(self.encoder.widths)))
            checks.append(("block_out_channels (decoder, reversed)", list(reversed(self.decoder.widths))))
        if "layers_per_block" in cfg:
            checks.append(("layers_per_block", self.encoder.layers))
            checks.append(("layers_per_block + 1 (decoder)", self.decoder.layers - 1))
        for name, have in checks:
            want = cfg[name.split(" ")[0]]
            if have != want:
                raise ValueError(f"{where}: config {name.split(' ')[0]} is {want}, the tensors give {have} ({name})")
        nd = sum(1 for b in self.encoder.blocks if b.down is not None)
        nu = sum(1 for b in self.decoder.blocks if b.up is not None)
        if nd != nu:
            raise ValueError(f"{w.where}: {nd} downsamplers but {nu} upsamplers")
        self.factor = 2 ** nd
        self.z = self.encoder.z
        self.scaling = float(cfg.get("scaling_factor") or SCALING)
        self.shift = float(cfg.get("shift_factor") or 0.0)


class _Enc(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.encoder = vae.encoder

    def forward(self, image):
        return self.encoder(image)


class _Dec(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.decoder = vae.decoder

    def forward(self, latent):
        return self.decoder(latent)


def find_weights(folder):
    for n in WEIGHT_FILES:
        p = os.path.join(folder, n)
        if os.path.isfile(p):
            return p
    return None


def read_config(folder):
    p = os.path.join(folder, "config.json")
    with open(p, encoding="utf-8") as f:
        return json.load(f)


def build(sd, config=None, **_):
    """The VAE from a (lazy) state dict with diffusers' key names and its ``config.json`` dict."""
    return AutoencoderKL(sd, config).eval()


def graphs(model, size=None):
    r = size or 8 * model.factor
    img = torch.zeros(2, 3, r, r)
    lat = torch.zeros(2, model.z, r // model.factor, r // model.factor)
    return [
        GraphExport(key="vae-encoder", file="vae_encoder.onnx", module=_Enc(model), args=(img,),
                    input_names=["image"], output_names=["latent", "std"],
                    dynamic_axes={"image": {0: "N", 2: "H", 3: "W"}, "latent": {0: "N", 2: "h", 3: "w"},
                                  "std": {0: "N", 2: "h", 3: "w"}}),
        GraphExport(key="vae-decoder", file="vae_decoder.onnx", module=_Dec(model), args=(lat,),
                    input_names=["latent"], output_names=["image"],
                    dynamic_axes={"latent": {0: "N", 2: "h", 3: "w"}, "image": {0: "N", 2: "H", 3: "W"}}),
    ]
