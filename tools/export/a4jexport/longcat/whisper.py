"""Whisper-large-v3's encoder (``LongCat-Video-Avatar-1.5/whisper-large-v3``, transformers'
``WhisperModel`` key names) as the bundle's ``audio-encoder`` graph: one 30 s log-mel chunk ->
the 33 hidden states grouped as LongCat-Video-Avatar 1.5 groups them (docs/BUNDLE-FORMAT.md).

Reference: LongCat-Video 6b3f4b8 ``pipeline_longcat_video_avatar.get_audio_embedding_whisper``:
``audio_encoder.encoder(mel_chunk, output_hidden_states=True).hidden_states`` (transformers: the
embedding output and the input of every later layer, the last one after the final LayerNorm: 33
states for 32 layers), stacked, then ``mean`` of states 0-7, 8-15, 16-23, 24-31 and state 32. The
interpolation to 25 fps happens in the SDK (AlignCornersInterpolation).

Encoder (transformers ``WhisperEncoder`` = openai-whisper ``AudioEncoder``): Conv1d(k3,p1)+GELU,
Conv1d(k3,s2,p1)+GELU, + ``embed_positions.weight``; per layer pre-LN self-attention (``k_proj``
without bias, q scaled by head_dim^-0.5) and pre-LN GELU MLP; LayerNorm eps 1e-5; exact GELU.
Sizes from shapes; ``encoder_attention_heads`` from ``config.json`` (20 for large-v3).

Graph: ``input_features [1, melBins, 3000] -> hidden_groups [1, 1500, 5, D]``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..graph import GraphExport

GROUPS = ((0, 8), (8, 16), (16, 24), (24, 32))


def _prefix(sd):
    for p in ("model.encoder.", "encoder.", ""):
        if p + "conv1.weight" in sd:
            return p
    raise KeyError("whisper checkpoint: no model.encoder.conv1.weight (is this transformers' WhisperModel?)")


class WhisperGroups(nn.Module):
    def __init__(self, sd, heads):
        super().__init__()
        pre = _prefix(sd)
        self.heads = heads
        self.w = nn.ParameterDict()
        self.layers = 0
        while pre + f"layers.{self.layers}.fc1.weight" in sd:
            self.layers += 1
        if self.layers != 32:
            raise ValueError(f"whisper encoder has {self.layers} layers; LongCat's grouping needs 32 (33 states)")
        for k in sd.keys():
            if k.startswith(pre):
                self.w[k[len(pre):].replace(".", "__")] = nn.Parameter(sd[k].detach().float().clone(),
                                                                        requires_grad=False)

    def p(self, key):
        return self.w[key.replace(".", "__")]

    def lin(self, x, key, bias=True):
        return F.linear(x, self.p(key + ".weight"), self.p(key + ".bias") if bias else None)

    def ln(self, x, key):
        return F.layer_norm(x, (int(x.shape[-1]),), self.p(key + ".weight"), self.p(key + ".bias"), 1e-5)

    def forward(self, input_features):
        x = F.gelu(F.conv1d(input_features, self.p("conv1.weight"), self.p("conv1.bias"), padding=1))
        x = F.gelu(F.conv1d(x, self.p("conv2.weight"), self.p("conv2.bias"), stride=2, padding=1))
        x = x.permute(0, 2, 1)
        x = x + self.p("embed_positions.weight")[: x.shape[1]]
        B, T, D = x.shape
        hd = D // self.heads
        states = [x]
        for i in range(self.layers):
            b = f"layers.{i}."
            h = self.ln(x, b + "self_attn_layer_norm")
            q = self.lin(h, b + "self_attn.q_proj").view(B, T, self.heads, hd).transpose(1, 2) * hd ** -0.5
            k = self.lin(h, b + "self_attn.k_proj", bias=False).view(B, T, self.heads, hd).transpose(1, 2)
            v = self.lin(h, b + "self_attn.v_proj").view(B, T, self.heads, hd).transpose(1, 2)
            a = torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v
            x = x + self.lin(a.transpose(1, 2).reshape(B, T, D), b + "self_attn.out_proj")
            h = self.ln(x, b + "final_layer_norm")
            x = x + self.lin(F.gelu(self.lin(h, b + "fc1")), b + "fc2")
            if i < self.layers - 1:
                states.append(x)
        states.append(self.ln(x, "layer_norm"))
        groups = [torch.stack(states[a:b], 0).mean(0) for a, b in GROUPS] + [states[32]]
        return torch.stack(groups, dim=2)


def build(sd, config=None, **opts):
    config = dict(config or {})
    heads = config.get("encoder_attention_heads")
    if heads is None:
        raise KeyError("whisper config.json lacks encoder_attention_heads")
    return WhisperGroups(sd, heads).eval()


def graphs(model, mel_bins=None, **opts):
    mel = mel_bins or model.p("conv1.weight").shape[1]
    return [GraphExport(key="audio-encoder", file="audio_encoder.onnx", module=model,
                        args=(torch.zeros(1, mel, 3000),), input_names=["input_features"],
                        output_names=["hidden_groups"])]
