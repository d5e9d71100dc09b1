"""CLIP image encoder: the visual tower of open-clip XLM-RoBERTa ViT-H/14 as Wan2.1 / StableAvatar use it.

Reference: StableAvatar ``wan/models/wan_image_encoder.py`` (``CLIPModel.forward``,
``VisionTransformer.forward(use_31_block=True)``), identical to Wan2.1 ``wan/modules/clip.py``.

Checkpoint: ``models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth``, a state dict of the whole
``XLMRobertaCLIP`` (keys ``visual.*``, ``textual.*``, ``log_scale``). Only ``visual.*`` keys of the
blocks that run are read: the text tower, the last block, ``visual.post_norm`` and ``visual.head``
are never touched (the DiT is fed the output of all blocks but the last, before any post-norm or
projection).

Graph ``image-encoder``: ``pixel_values [1, 3, S, S]`` -> ``image_embeds [1, 1 + (S/p)^2, D]``
(S = 224, p = 14, D = 1280 for the published checkpoint: ``[1, 257, 1280]``). S, p and D come from
``visual.patch_embedding.weight`` and ``visual.pos_embedding``.

What the caller does before the graph (the reference's ``CLIPModel.forward``; see :func:`preprocess`):
the W x H-resized reference image in [-1, 1] (``uint8 / 255 * 2 - 1``) is resized to S x S with
``F.interpolate(mode='bicubic', align_corners=False)`` (Keys a = -0.75, edge-clamped taps, no
antialias, aspect ratio NOT kept), mapped to [0, 1] by ``x * 0.5 + 0.5`` and normalised per channel
with OpenAI-CLIP's mean (0.48145466, 0.4578275, 0.40821073) and std (0.26862954, 0.26130258,
0.27577711). The result is ``pixel_values``.

Per block (pre-norm): ``x += proj(attn(LN1(x)))``, ``x += fc2(GELU_erf(fc1(LN2(x))))``; LayerNorm eps
1e-5; attention ``softmax(q k^T / sqrt(head_dim)) v`` with ``to_qkv`` laid out ``[q | k | v]``, each
``[heads, head_dim]``. The embedding is ``pre_norm(cat(cls, patches) + pos_embedding)``.

The head count is not visible in any tensor shape. The published model has 16 heads (Wan's
``clip_xlm_roberta_vit_h_14`` fixes ``vision_heads=16``, head_dim 80); a checkpoint made with a
different count must say so with ``config={"vision_heads": N}`` (or ``num_heads=N``).
"""
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..graph import GraphExport

CHECKPOINT = "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
DEFAULT_HEADS = 16
NORM_EPS = 1e-5


def _get(sd, key, source):
    if key not in sd:
        raise KeyError("missing tensor '%s' in %s" % (key, source))
    return sd[key].to(torch.float32)


def _prefix(sd, source):
    """The key prefix in front of ``visual.`` (empty in the published file; ``model.`` tolerated)."""
    for k in sd.keys():
        if k.endswith("visual.patch_embedding.weight"):
            return k[:-len("patch_embedding.weight")]
    raise KeyError("missing tensor 'visual.patch_embedding.weight' in %s (not a CLIP ViT checkpoint?)" % source)


class _Linear(nn.Module):
    """``x @ W^T + b`` with W kept transposed (``[in, out]``): the graph's MatMul then takes the parameter
    itself, where torch's export of ``nn.Linear`` on 3-D input constant-folds a transposed copy of every
    weight (twice the weights in memory while exporting, initializers named ``onnx::MatMul_N``)."""

    def __init__(self, w, b):
        super().__init__()
        self.weight_t = nn.Parameter(w.t().contiguous(), requires_grad=False)
        self.bias = nn.Parameter(b.clone(), requires_grad=False)

    def forward(self, x):
        return torch.matmul(x, self.weight_t) + self.bias


def _layer_norm(w, b):
    m = nn.LayerNorm(w.shape[0], eps=NORM_EPS)
    with torch.no_grad():
        m.weight.copy_(w)
        m.bias.copy_(b)
    return m


class _Block(nn.Module):
    def __init__(self, t, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = _layer_norm(*t["norm1"])
        self.to_qkv = _Linear(*t["attn.to_qkv"])
        self.proj = _Linear(*t["attn.proj"])
        self.norm2 = _layer_norm(*t["norm2"])
        self.fc1 = _Linear(*t["mlp.0"])
        self.fc2 = _Linear(*t["mlp.2"])

    def forward(self, x):
        b, s, c = x.shape
        n = self.heads
        d = c // n
        qkv = self.to_qkv(self.norm1(x)).reshape(b, s, 3, n, d).permute(2, 0, 3, 1, 4)  # [3, b, n, s, d]
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.softmax(torch.matmul(q * (1.0 / math.sqrt(d)), k.transpose(-1, -2)), dim=-1)
        o = torch.matmul(a, v).transpose(1, 2).reshape(b, s, c)
        x = x + self.proj(o)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ClipVisual(nn.Module):
    """ViT patch embedding + class token + positions + pre-norm + the first ``len(blocks)`` blocks."""

    def __init__(self, patch_w, patch_b, cls, pos, pre_norm, blocks):
        super().__init__()
        dim, _, patch, _ = patch_w.shape
        self.patch = patch
        self.grid = int(round(math.sqrt(pos.shape[1] - 1)))
        self.image_size = self.grid * patch
        self.patch_embedding = nn.Conv2d(3, dim, kernel_size=patch, stride=patch, bias=patch_b is not None)
        with torch.no_grad():
            self.patch_embedding.weight.copy_(patch_w)
            if patch_b is not None:
                self.patch_embedding.bias.copy_(patch_b)
        self.cls_embedding = nn.Parameter(cls.reshape(1, 1, dim).clone())
        self.pos_embedding = nn.Parameter(pos.clone())
        self.pre_norm = _layer_norm(*pre_norm)
        self.blocks = nn.ModuleList(blocks)

    def forward(self, pixel_values):
        b = pixel_values.shape[0]
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_embedding.expand(b, -1, -1), x], dim=1)
        x = self.pre_norm(x + self.pos_embedding)
        for blk in self.blocks:
            x = blk(x)
        return x


def build(sd, config=None, source=CHECKPOINT, **opts):
    """The image encoder from a CLIP state dict (a Mapping; only the keys used are read).

    config / opts: ``vision_heads`` (``num_heads``) -- attention heads (default 16, the published
    model's); ``skip_last`` -- blocks dropped at the end (default 1: the reference's
    ``use_31_block``).
    """
    cfg = dict(config or {})
    cfg.update(opts)
    p = _prefix(sd, source)
    pw = _get(sd, p + "patch_embedding.weight", source)
    dim, cin, patch, patch2 = pw.shape
    if cin != 3 or patch != patch2:
        raise ValueError("%s: %spatch_embedding.weight has shape %s, expected [D, 3, p, p]" % (source, p, list(pw.shape)))
    pos = _get(sd, p + "pos_embedding", source)
    tokens = pos.shape[1]
    grid = int(round(math.sqrt(tokens - 1)))
    if grid * grid != tokens - 1:
        raise ValueError("%s: %spos_embedding has %d tokens, not 1 + a square" % (source, p, tokens))
    pat = re.compile(re.escape(p) + r"transformer\.(\d+)\.")
    layers_total = 1 + max((int(m.group(1)) for m in map(pat.match, sd.keys()) if m), default=-1)
    skip = int(cfg.get("skip_last", 1))
    layers = layers_total - skip
    if layers < 1:
        raise KeyError("%s: %d transformer blocks under '%stransformer.N.'; need more than %d"
                       % (source, layers_total, p, skip))
    heads = int(cfg.get("vision_heads", cfg.get("num_heads", DEFAULT_HEADS)))
    if dim % heads:
        raise ValueError("%s: width %d is not a multiple of %d heads; pass config={'vision_heads': N}"
                         % (source, dim, heads))
    patch_b = _get(sd, p + "patch_embedding.bias", source) if (p + "patch_embedding.bias") in sd else None
    cls = _get(sd, p + "cls_embedding", source)
    pre = (_get(sd, p + "pre_norm.weight", source), _get(sd, p + "pre_norm.bias", source))
    blocks = []
    for i in range(layers):
        t = {}
        for name in ("norm1", "attn.to_qkv", "attn.proj", "norm2", "mlp.0", "mlp.2"):
            t[name] = tuple(_get(sd, "%stransformer.%d.%s.%s" % (p, i, name, x), source) for x in ("weight", "bias"))
        _check(t, dim, "%stransformer.%d." % (p, i), source)
        blocks.append(_Block(t, heads))
    m = ClipVisual(pw, patch_b, cls, pos, pre, blocks)
    return m.eval()


def _check(t, dim, prefix, source):
    mlp = t["mlp.0"][0].shape[0]
    want = {"norm1": [(dim,), (dim,)], "attn.to_qkv": [(3 * dim, dim), (3 * dim,)], "attn.proj": [(dim, dim), (dim,)],
            "norm2": [(dim,), (dim,)], "mlp.0": [(mlp, dim), (mlp,)], "mlp.2": [(dim, mlp), (dim,)]}
    for name, shapes in want.items():
        for x, shape, val in zip(("weight", "bias"), shapes, t[name]):
            if tuple(val.shape) != shape:
                raise ValueError("%s: %s%s.%s has shape %s, expected %s"
                                 % (source, prefix, name, x, list(val.shape), list(shape)))


def preprocess(image, size):
    """The reference's preprocessing: ``image [3, H, W]`` (or ``[B, 3, H, W]``) in [-1, 1] -> pixel_values."""
    x = image if image.dim() == 4 else image[None]
    x = F.interpolate(x.float(), size=(size, size), mode="bicubic", align_corners=False)
    x = x * 0.5 + 0.5
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


def graphs(model, **shape_opts):
    """The ``image-encoder`` graph: ``pixel_values [1,3,S,S]`` -> ``image_embeds [1,T,D]`` (static shapes)."""
    s = model.image_size
    example = torch.zeros(1, 3, s, s)
    return [GraphExport(key="image-encoder", file="image_encoder.onnx", module=model, args=(example,),
                        input_names=["pixel_values"], output_names=["image_embeds"])]
