"""LongCat-Video's text encoder (``LongCat-Video/text_encoder``: transformers ``UMT5EncoderModel``,
umT5-XXL) and tokenizer (``LongCat-Video/tokenizer``: umT5's ``spiece.model``) through the StableAvatar
umT5 module (a4jexport.stableavatar.umt5), for the bundle's precomputed prompt tensors.

Reference: ``pipeline_longcat_video_avatar._get_t5_prompt_embeds``: ``prompt_clean`` (ftfy, html
unescape, whitespace collapsed), the tokenizer padded to 512 with its attention mask, the encoder's
``last_hidden_state``; the DiT then keeps only the masked (valid) tokens (``masked_select``), so the
bundle's ``embeddings [L, Dt]`` are the L valid tokens (pieces + EOS), which the umT5 module computes
unpadded (its rows of valid tokens do not depend on the padding).

Key names: transformers' ``shared.weight`` / ``encoder.embed_tokens.weight``,
``encoder.block.{i}.layer.0.SelfAttention.{q,k,v,o}.weight``,
``encoder.block.{i}.layer.0.SelfAttention.relative_attention_bias.weight`` (umT5: one table per layer),
``encoder.block.{i}.layer.{0,1}.layer_norm.weight``, ``encoder.block.{i}.layer.1.DenseReluDense.
{wi_0,wi_1,wo}.weight`` (gated GELU: ``wo(gelu_tanh(wi_0 x) * wi_1 x)``), ``encoder.final_layer_norm``
are Wan's ``token_embedding``, ``blocks.{i}.attn.{q,k,v,o}``, ``blocks.{i}.pos_embedding.embedding``,
``blocks.{i}.norm1/norm2``, ``blocks.{i}.ffn.gate.0/fc1/fc2`` and ``norm``. ftfy is not installed here:
the cleaning done is html unescaping and whitespace collapsing (ftfy changes nothing in plain text).
"""
import html
import re

from ..checkpoint import Renamed
from ..stableavatar import umt5


def wan_names(keys):
    """{Wan T5Encoder key: transformers key} for a ``UMT5EncoderModel`` state dict."""
    keys = list(keys)
    out = {}
    emb = "shared.weight" if "shared.weight" in keys else "encoder.embed_tokens.weight"
    if emb not in keys:
        raise KeyError("text encoder: neither shared.weight nor encoder.embed_tokens.weight (UMT5EncoderModel?)")
    out["token_embedding.weight"] = emb
    out["norm.weight"] = "encoder.final_layer_norm.weight"
    pat = re.compile(r"encoder\.block\.(\d+)\.layer\.(\d)\.(.*)")
    table = {"0": {"SelfAttention.q.weight": "attn.q.weight", "SelfAttention.k.weight": "attn.k.weight",
                   "SelfAttention.v.weight": "attn.v.weight", "SelfAttention.o.weight": "attn.o.weight",
                   "SelfAttention.relative_attention_bias.weight": "pos_embedding.embedding.weight",
                   "layer_norm.weight": "norm1.weight"},
             "1": {"DenseReluDense.wi_0.weight": "ffn.gate.0.weight", "DenseReluDense.wi_1.weight": "ffn.fc1.weight",
                   "DenseReluDense.wo.weight": "ffn.fc2.weight", "layer_norm.weight": "norm2.weight"}}
    for k in keys:
        m = pat.match(k)
        if m and m.group(3) in table.get(m.group(2), {}):
            out[f"blocks.{m.group(1)}.{table[m.group(2)][m.group(3)]}"] = k
    return out


def wan_named(sd):
    """LongCat's text-encoder state dict seen under Wan2.1's umT5 names."""
    return Renamed(sd, wan_names(sd.keys()))


def clean(text):
    """``prompt_clean`` without ftfy: html unescaped twice, whitespace runs collapsed, trimmed."""
    return re.sub(r"\s+", " ", html.unescape(html.unescape(text)).strip()).strip()


def build(sd, config=None, **opts):
    return umt5.build(wan_named(sd), source="text_encoder", **opts)


def embeddings(model, tokenizer, prompt):
    """``[L, Dt]`` for one prompt, as the DiT receives it."""
    return umt5.encode(model, tokenizer, clean(prompt))
