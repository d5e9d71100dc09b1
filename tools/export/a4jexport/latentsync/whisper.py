"""Whisper's audio encoder with the embeddings of every layer: the bundle's ``audio-encoder`` graph.

Reference: LatentSync a229c39 ``latentsync/whisper/whisper/model.py`` (openai-whisper's
``AudioEncoder`` with ``forward(x, include_embeddings=True)``, lines 131-171): GELU(conv1), GELU(conv2,
stride 2), + the sinusoidal ``positional_embedding``, then the residual attention blocks
(pre-LayerNorm self-attention with q/v bias and no k bias, pre-LayerNorm GELU MLP). The embeddings
are the input of the first block and the output of each block (``ln_post`` is not applied to
them); ``audio2feature.py`` uses them stacked as ``[T, layers + 1, width]``.

Checkpoint: ``checkpoints/whisper/tiny.pt`` (or ``small.pt``): ``{"dims": {...}, "model_state_dict":
{...}}`` in float16; only the ``encoder.*`` keys are used. Widths and depth come from the shapes; the
head count from ``dims.n_audio_head`` (all published Whisper models have 64-wide heads, the fallback
when the file has no ``dims``).

Graph: ``input_features [1, n_mels, 3000]`` -> ``hidden_states [1, 1500, layers + 1, width]``.
"""
import torch
from torch import nn
from torch.nn import functional as F

from ..checkpoint import CheckpointKeyError
from ..graph import GraphExport
from ..stableavatar.dit import Linear, attention

PREFIX = "encoder."


class _W:
    def __init__(self, sd):
        self.sd = sd
        self.where = getattr(sd, "path", "the state dict")

    def has(self, key):
        return PREFIX + key in self.sd

    def __call__(self, key, shape=None):
        k = PREFIX + key
        if k not in self.sd:
            raise CheckpointKeyError(k, self.where, "a Whisper encoder key (whisper/tiny.pt)")
        t = self.sd[k].detach().to(torch.float32).contiguous()
        if shape is not None and tuple(t.shape) != tuple(shape):
            raise ValueError(f"{self.where}: {k} has shape {tuple(t.shape)}, expected {tuple(shape)}")
        return t


def _lin(w, p, n_in, n_out, bias=True):
    return Linear(w(p + ".weight", (n_out, n_in)), w(p + ".bias", (n_out,)) if bias else None)


def sinusoids(length, channels, max_timescale=10000):
    """whisper/model.py ``sinusoids``."""
    import numpy as np
    log_timescale_increment = np.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = torch.exp(-log_timescale_increment * torch.arange(channels // 2))
    scaled_time = torch.arange(length)[:, np.newaxis] * inv_timescales[np.newaxis, :]
    return torch.cat([torch.sin(scaled_time), torch.cos(scaled_time)], dim=1)


class Block(nn.Module):
    def __init__(self, w, p, d, heads):
        super().__init__()
        self.attn_ln_w = nn.Parameter(w(p + ".attn_ln.weight", (d,)), requires_grad=False)
        self.attn_ln_b = nn.Parameter(w(p + ".attn_ln.bias", (d,)), requires_grad=False)
        self.q = _lin(w, p + ".attn.query", d, d)
        self.k = _lin(w, p + ".attn.key", d, d, bias=False)
        if w.has(p + ".attn.key.bias"):
            raise ValueError(f"{w.where}: {PREFIX}{p}.attn.key.bias is present; Whisper's key has no bias")
        self.v = _lin(w, p + ".attn.value", d, d)
        self.o = _lin(w, p + ".attn.out", d, d)
        self.mlp_ln_w = nn.Parameter(w(p + ".mlp_ln.weight", (d,)), requires_grad=False)
        self.mlp_ln_b = nn.Parameter(w(p + ".mlp_ln.bias", (d,)), requires_grad=False)
        n_mlp = w(p + ".mlp.0.weight").shape[0]
        self.fc1 = _lin(w, p + ".mlp.0", d, n_mlp)
        self.fc2 = _lin(w, p + ".mlp.2", n_mlp, d)
        self.d, self.heads = d, heads

    def forward(self, x):
        h = F.layer_norm(x, (self.d,), self.attn_ln_w, self.attn_ln_b, 1e-5)
        x = x + self.o(attention(self.q(h), self.k(h), self.v(h), self.heads))
        h = F.layer_norm(x, (self.d,), self.mlp_ln_w, self.mlp_ln_b, 1e-5)
        return x + self.fc2(F.gelu(self.fc1(h)))


class AudioEncoder(nn.Module):
    def __init__(self, sd, heads=None):
        super().__init__()
        w = _W(sd)
        c1 = w("conv1.weight")
        if c1.dim() != 3 or c1.shape[2] != 3:
            raise ValueError(f"{w.where}: encoder.conv1.weight has shape {tuple(c1.shape)}, expected [width, mels, 3]")
        d, mels = c1.shape[0], c1.shape[1]
        self.conv1_w = nn.Parameter(c1, requires_grad=False)
        self.conv1_b = nn.Parameter(w("conv1.bias", (d,)), requires_grad=False)
        self.conv2_w = nn.Parameter(w("conv2.weight", (d, d, 3)), requires_grad=False)
        self.conv2_b = nn.Parameter(w("conv2.bias", (d,)), requires_grad=False)
        if w.has("positional_embedding"):
            pe = w("positional_embedding")
            if pe.dim() != 2 or pe.shape[1] != d:
                raise ValueError(f"{w.where}: encoder.positional_embedding has shape {tuple(pe.shape)}, expected [ctx, {d}]")
        else:
            pe = sinusoids(1500, d)
        self.pe = nn.Parameter(pe, requires_grad=False)
        heads = heads or d // 64
        if d % heads:
            raise ValueError(f"{w.where}: width {d} is not a multiple of {heads} heads")
        n = 0
        while w.has(f"blocks.{n}.attn.query.weight"):
            n += 1
        if n == 0:
            raise CheckpointKeyError(PREFIX + "blocks.0.attn.query.weight", w.where, "Whisper's first encoder block")
        self.blocks = nn.ModuleList([Block(w, f"blocks.{i}", d, heads) for i in range(n)])
        self.width, self.mels, self.layers, self.heads, self.ctx = d, mels, n + 1, heads, pe.shape[0]

    def forward(self, input_features):
        x = F.gelu(F.conv1d(input_features, self.conv1_w, self.conv1_b, padding=1))
        x = F.gelu(F.conv1d(x, self.conv2_w, self.conv2_b, stride=2, padding=1))
        x = x.permute(0, 2, 1) + self.pe
        out = [x]
        for b in self.blocks:
            x = b(x)
            out.append(x)
        return torch.stack(out, dim=2)


def heads_of(ck):
    """``dims.n_audio_head`` of a Whisper checkpoint (None when the file has no ``dims``)."""
    extra = getattr(ck, "extra", None) or {}
    dims = extra.get("dims")
    if isinstance(dims, dict) and isinstance(dims.get("n_audio_head"), int):
        return dims["n_audio_head"]
    return None


def build(sd, config=None, heads=None, **_):
    """The encoder from a Whisper checkpoint (lazy or dict); ``heads`` defaults to the file's dims."""
    return AudioEncoder(sd, heads=heads or heads_of(sd)).eval()


def graphs(model, attention="plain"):
    from ..stableavatar.dit import _Graph
    x = torch.zeros(1, model.mels, 2 * model.ctx)
    return [GraphExport(key="audio-encoder", file="audio_encoder.onnx", module=_Graph(model, attention),
                        args=(x,), input_names=["input_features"], output_names=["hidden_states"])]
