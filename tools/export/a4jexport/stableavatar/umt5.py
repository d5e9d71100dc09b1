"""umT5-XXL text encoder, its tokenizer, and the prompt embeddings a bundle ships precomputed.

Reference: StableAvatar ``wan/models/wan_text_encoder.py`` (``WanT5EncoderModel``, the Wan2.1
``wan/modules/t5.py`` encoder) and the prompt path of ``wan/pipeline/wan_inference_long_pipeline.py``
(``_get_t5_prompt_embeds``).

Checkpoint: ``models_t5_umt5-xxl-enc-bf16.pth`` (bf16 state dict of Wan's ``T5Encoder``): keys
``token_embedding.weight [V, D]``, ``blocks.{i}.norm1.weight``, ``blocks.{i}.attn.{q,k,v,o}.weight``,
``blocks.{i}.norm2.weight``, ``blocks.{i}.ffn.gate.0.weight``, ``blocks.{i}.ffn.fc1.weight``,
``blocks.{i}.ffn.fc2.weight``, ``blocks.{i}.pos_embedding.embedding.weight [buckets, heads]`` (umT5:
one relative-position table per layer, ``shared_pos=False``; a top-level ``pos_embedding.embedding.weight``
is accepted for the shared variant) and ``norm.weight``. Every size (V, D, attention width, heads,
FFN width, layers, buckets) comes from these shapes: V=256384, D=4096, heads 64, FFN 10240,
24 layers, 32 buckets for the published file.

Numerics, as the reference: T5 RMSNorm ``w * x * rsqrt(mean(x^2) + 1e-6)`` (no mean subtraction, no
bias); attention WITHOUT 1/sqrt(d) scaling, bias = the layer's relative-position bucket embedding
(bidirectional, 32 buckets, max distance 128), keys with ``attention_mask == 0`` get
``finfo(float32).min`` instead of their bias; softmax in fp32; FFN ``fc2(fc1(x) * gelu_tanh(gate(x)))``;
final RMSNorm. No dropout (eval). Valid tokens never see padding, so the rows of valid tokens do not
depend on how much padding follows (tested); the reference pads to 512 and keeps ``[:L]``.

Tokenizer (StableAvatar's ``AutoTokenizer.from_pretrained(google/umt5-xxl)``, called with
``padding="max_length", max_length=512, truncation=True, add_special_tokens=True``): the pieces of
sentencepiece ``spiece.model`` (its own normalizer_spec applies: for T5-family models the NFKC-like
``nmt_nfkc`` charsmap, whitespace runs collapsed and trimmed, a ``▁`` dummy prefix), truncated to the
first 511, then EOS ``</s>`` (id 1), then ``<pad>`` (id 0) up to 512; the mask is 1 on the pieces and
the EOS, so L = pieces + 1. No BOS. StableAvatar applies no text cleaning (Wan2.1's own
``T5EncoderModel`` adds ``clean='whitespace'``: ftfy, html-unescape, whitespace collapse; for the two
default prompts it changes nothing the NFKC normaliser does not already do). Not reproduced: the HF fast
tokenizer's handling of literal special-token text in a prompt (``</s>``, ``<extra_id_0>``) and its own
whitespace rules for leading/trailing/repeated spaces, which can differ from sentencepiece's; prompts
with single spaces between words and no special-token text tokenise the same.

Memory at real size (5.68 B parameters; the bf16 file is 11.4 GB). :func:`build` reads the tensors from
the (lazy) Mapping, the token embedding first, then layer by layer, converting each into its storage
tensor and dropping the source, so the peak is the model plus one layer's sources (assuming the Mapping
keeps no reference to what it returned):
- fp32 storage (what the graph export needs): embedding phase 2.1 GB bf16 source + 4.2 GB fp32; at the
  end 22.72 GB model + 0.39 GB (one layer's bf16 sources) = 23.1 GB.
- bf16 storage (enough for :func:`precompute`; compute stays fp32, each weight cast at use, exactly
  the fp32 model's numbers): 11.36 GB + 0.39 GB = 11.75 GB, plus 0.17 GB (one fp32 weight) and < 0.5 GB
  of activations during a 512-token forward.
So a CLI that only precomputes the prompts should build with ``storage_dtype=torch.bfloat16``; one that
also writes the ``text-encoder`` graph builds fp32 once and precomputes with that model. The weights are
stored transposed so that the export adds no folded copies (tested); what torch.onnx.export itself
holds while serialising a 22.7 GB graph with external data is the writer's concern.
(Measured at a reduced shape, V=256384, D=1024, 4 layers: peak over baseline 1.54 GB for a 1.24 GB fp32
model, i.e. the embedding phase; 1.03 GB for bf16 storage.)

Graph ``text-encoder``: ``input_ids int64 [1, Lt]``, ``attention_mask int64 [1, Lt]`` (Lt dynamic) ->
``last_hidden_state [1, Lt, D]``. The relative-position buckets are computed in the graph from Lt by
integer comparisons against thresholds evaluated here with the reference's float formula (no float
``Log`` in the graph, so the buckets match the reference bit for bit). The token embedding is split
into row chunks of at most ``max_initializer_bytes`` (1 GiB): the fp32 table is 4.2 GB and one
initializer must stay under 2 GB (docs/BUNDLE-FORMAT.md); the graph gathers from each chunk.
"""
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..graph import GraphExport
from ..manifest import write_embeddings

CHECKPOINT = "models_t5_umt5-xxl-enc-bf16.pth"
TOKENIZER = "google/umt5-xxl/spiece.model"
MAX_TOKENS = 512
MAX_DIST = 128
NORM_EPS = 1e-6
#: ``--validation_prompts`` default of StableAvatar's inference.py.
DEFAULT_PROMPT = "The protagonist is singing"
#: The negative prompt StableAvatar's inference.py passes (Wan's ``sample_neg_prompt``).
NEGATIVE_PROMPT = ("色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，"
                   "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，"
                   "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走")


def _get(sd, key, source):
    if key not in sd:
        raise KeyError("missing tensor '%s' in %s" % (key, source))
    return sd[key]


def _w(t, dtype):
    return t if t.dtype == dtype else t.to(dtype)


def bucket_thresholds(num_buckets, max_dist=MAX_DIST):
    """Smallest |relative position| of each 'large' bucket, from the reference's float formula.

    The reference (bidirectional): ``n = num_buckets // 2``, ``e = n // 2``; |r| < e -> bucket |r|; else
    ``min(e + long(log(|r| / e) / log(max_dist / e) * (n - e)), n - 1)``; plus ``n`` when r > 0.
    """
    n = num_buckets // 2
    e = n // 2
    a = torch.arange(e, 8 * max_dist + 1)
    large = e + (torch.log(a.float() / e) / math.log(max_dist / e) * (n - e)).long()
    large = torch.min(large, torch.full_like(large, n - 1))
    if not bool((large[1:] >= large[:-1]).all()) or int(large[-1]) != n - 1:
        raise ValueError("relative-position buckets are not monotonic for %d buckets" % num_buckets)
    return [int(a[large >= b][0]) for b in range(e + 1, n)]


def relative_buckets(length, num_buckets, thresholds):
    """``[L, L]`` bucket of key j for query i (as the reference's ``_relative_position_bucket``)."""
    pos = torch.arange(length)
    return _buckets(pos, num_buckets, torch.tensor(thresholds, dtype=torch.long))


def _buckets(pos, num_buckets, thr):
    n = num_buckets // 2
    e = n // 2
    rel = pos[None, :] - pos[:, None]
    a = rel.abs()
    large = e + (a.unsqueeze(-1) >= thr).long().sum(-1)
    return (rel > 0).long() * n + torch.where(a < e, a, large)


class _Linear(nn.Module):
    """``x @ W^T`` with W kept transposed (``[in, out]``), so that the graph's MatMul takes the parameter
    itself: torch's export of ``F.linear`` on 3-D input would constant-fold a transposed COPY of every
    weight (twice the model in memory at export, and initializers named ``onnx::MatMul_N``)."""

    def __init__(self, weight, dtype):
        super().__init__()
        wt = torch.empty(weight.shape[1], weight.shape[0], dtype=dtype)
        wt.copy_(weight.t())
        self.weight_t = nn.Parameter(wt, requires_grad=False)

    def forward(self, x):
        return torch.matmul(x, _w(self.weight_t, x.dtype))


class _RMSNorm(nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)

    def forward(self, x):
        return _w(self.weight, x.dtype) * (x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + NORM_EPS))


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class _Block(nn.Module):
    def __init__(self, t, heads, dtype):
        super().__init__()
        self.heads = heads
        self.norm1 = _RMSNorm(t["norm1"])
        self.q, self.k, self.v, self.o = (_Linear(t.pop(n), dtype) for n in ("q", "k", "v", "o"))
        self.norm2 = _RMSNorm(t["norm2"])
        self.gate, self.fc1, self.fc2 = (_Linear(t.pop(n), dtype) for n in ("gate", "fc1", "fc2"))
        self.pos = nn.Parameter(t["pos"], requires_grad=False) if "pos" in t else None

    def forward(self, x, keymask, buckets, shared_bias, masked):
        bias = shared_bias if self.pos is None else _bias(_w(self.pos, x.dtype), buckets)
        bias = torch.where(keymask, masked, bias)  # the reference's masked_fill_(mask == 0, finfo.min)
        h = self.norm1(x)
        b, s, _ = h.shape
        n = self.heads
        q = self.q(h).reshape(b, s, n, -1).transpose(1, 2)
        k = self.k(h).reshape(b, s, n, -1).transpose(1, 2)
        v = self.v(h).reshape(b, s, n, -1).transpose(1, 2)
        a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) + bias, dim=-1)
        x = x + self.o(torch.matmul(a, v).transpose(1, 2).reshape(b, s, -1))
        h = self.norm2(x)
        return x + self.fc2(self.fc1(h) * _gelu_tanh(self.gate(h)))


def _bias(table, buckets):
    return F.embedding(buckets, table).permute(2, 0, 1).unsqueeze(0)  # [1, heads, L, L]


class UmT5Encoder(nn.Module):
    """``(input_ids [B, L], attention_mask [B, L]) -> last_hidden_state [B, L, D]`` (fp32 compute)."""

    def __init__(self, embed_chunks, blocks, norm, num_buckets, shared_pos=None):
        super().__init__()
        self.embed = nn.ParameterList([nn.Parameter(c, requires_grad=False) for c in embed_chunks])
        self.starts = [0]
        for c in embed_chunks[:-1]:
            self.starts.append(self.starts[-1] + c.shape[0])
        self.blocks = nn.ModuleList(blocks)
        self.norm = _RMSNorm(norm)
        self.num_buckets = num_buckets
        self.shared_pos = None if shared_pos is None else nn.Parameter(shared_pos, requires_grad=False)
        self.register_buffer("thresholds", torch.tensor(bucket_thresholds(num_buckets), dtype=torch.long),
                             persistent=False)
        self.register_buffer("masked", torch.tensor(torch.finfo(torch.float32).min), persistent=False)
        self.dim = embed_chunks[0].shape[1]

    def embed_tokens(self, ids):
        if len(self.embed) == 1:
            return _w(F.embedding(ids, self.embed[0]), torch.float32)
        x = None
        for start, w in zip(self.starts, self.embed):
            local = ids - start
            inside = (local >= 0) & (local < w.shape[0])
            g = _w(F.embedding(local.clamp(0, w.shape[0] - 1), w), torch.float32)
            g = torch.where(inside.unsqueeze(-1), g, torch.zeros((), dtype=torch.float32))
            x = g if x is None else x + g
        return x

    def forward(self, input_ids, attention_mask):
        x = self.embed_tokens(input_ids)
        pos = torch.cumsum(torch.ones_like(input_ids[0]), 0) - 1  # [L], dynamic in the graph
        buckets = _buckets(pos, self.num_buckets, self.thresholds)
        keymask = (attention_mask == 0)[:, None, None, :]
        shared = None if self.shared_pos is None else _bias(_w(self.shared_pos, x.dtype), buckets)
        for blk in self.blocks:
            x = blk(x, keymask, buckets, shared, self.masked)
        return self.norm(x)


def build(sd, config=None, source=CHECKPOINT, storage_dtype=torch.float32, max_initializer_bytes=1 << 30, **opts):
    """The umT5 encoder from its state dict (a Mapping, read one tensor at a time).

    storage_dtype: dtype the weights are kept in (float32 for export; bfloat16 halves the memory of a
    precompute-only run; compute is fp32 either way). max_initializer_bytes: the token embedding is
    split into row chunks no larger than this.
    """
    emb = _get(sd, "token_embedding.weight", source)
    vocab, dim = emb.shape
    esize = torch.tensor([], dtype=storage_dtype).element_size()
    rows = max(1, int(max_initializer_bytes) // (dim * esize))
    chunks = [emb[i:i + rows].to(storage_dtype, copy=True) for i in range(0, vocab, rows)]
    del emb
    pat = re.compile(r"blocks\.(\d+)\.")
    layers = 1 + max((int(m.group(1)) for m in map(pat.match, sd.keys()) if m), default=-1)
    if layers < 1:
        raise KeyError("missing tensor 'blocks.0.attn.q.weight' in %s (no encoder blocks)" % source)
    shared = "pos_embedding.embedding.weight" in sd
    shared_pos = _get(sd, "pos_embedding.embedding.weight", source).to(storage_dtype) if shared else None
    names = {"norm1": "norm1.weight", "q": "attn.q.weight", "k": "attn.k.weight", "v": "attn.v.weight",
             "o": "attn.o.weight", "norm2": "norm2.weight", "gate": "ffn.gate.0.weight",
             "fc1": "ffn.fc1.weight", "fc2": "ffn.fc2.weight"}
    if not shared:
        names["pos"] = "pos_embedding.embedding.weight"
    blocks = []
    buckets = heads = None
    for i in range(layers):
        # One layer in flight: its source tensors (0.39 GB bf16 at real size) are read, each 2-D weight
        # is copied into its transposed storage tensor and its source dropped as _Block takes it.
        t = {mine: _get(sd, "blocks.%d.%s" % (i, theirs), source) for mine, theirs in names.items()}
        t.update({k: t[k].to(storage_dtype) for k in ("norm1", "norm2", "pos") if k in t})
        table = shared_pos if shared else t["pos"]
        buckets, heads = table.shape
        _check(t, dim, heads, i, source)
        blocks.append(_Block(t, heads, storage_dtype))
        del t
    norm = _get(sd, "norm.weight", source).to(storage_dtype)
    return UmT5Encoder(chunks, blocks, norm, buckets, shared_pos).eval()


def _check(t, dim, heads, i, source):
    attn = t["q"].shape[0]
    ffn = t["fc1"].shape[0]
    want = {"norm1": (dim,), "q": (attn, dim), "k": (attn, dim), "v": (attn, dim), "o": (dim, attn),
            "norm2": (dim,), "gate": (ffn, dim), "fc1": (ffn, dim), "fc2": (dim, ffn)}
    for k, shape in want.items():
        if tuple(t[k].shape) != shape:
            raise ValueError("%s: block %d %s has shape %s, expected %s" % (source, i, k, list(t[k].shape), list(shape)))
    if attn % heads:
        raise ValueError("%s: attention width %d is not a multiple of %d heads" % (source, attn, heads))


def graphs(model, seq_len=16, **shape_opts):
    """The ``text-encoder`` graph with a dynamic token axis (traced at ``seq_len`` tokens)."""
    ids = torch.ones(1, seq_len, dtype=torch.long)
    mask = torch.ones(1, seq_len, dtype=torch.long)
    return [GraphExport(key="text-encoder", file="text_encoder.onnx", module=model, args=(ids, mask),
                        input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                        dynamic_axes={"input_ids": {1: "tokens"}, "attention_mask": {1: "tokens"},
                                      "last_hidden_state": {1: "tokens"}})]


class Tokenizer:
    """umT5's tokenizer as StableAvatar calls it: sentencepiece pieces, truncation, EOS, padding."""

    def __init__(self, spiece_model, max_length=MAX_TOKENS):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_file=str(spiece_model))
        self.max_length = max_length
        self.eos = self.sp.eos_id() if self.sp.eos_id() >= 0 else self.sp.piece_to_id("</s>")
        self.pad = self.sp.pad_id() if self.sp.pad_id() >= 0 else self.sp.piece_to_id("<pad>")

    def ids(self, text):
        """The unpadded ids: pieces (at most max_length - 1), then EOS."""
        return list(self.sp.encode(text))[:self.max_length - 1] + [self.eos]

    def __call__(self, text):
        """``(input_ids [1, max_length], attention_mask [1, max_length])`` int64, as the reference's."""
        ids = self.ids(text)
        n = len(ids)
        full = ids + [self.pad] * (self.max_length - n)
        mask = [1] * n + [0] * (self.max_length - n)
        return torch.tensor([full], dtype=torch.long), torch.tensor([mask], dtype=torch.long)


def text_manifest(tokenizer, model_file="spiece.model"):
    """The manifest's ``text`` section for a bundle that ships the tokenizer model (docs/BUNDLE-FORMAT.md:
    ``tokenizer: sentencepiece`` is recognised by the SDK but not run yet, so such a bundle still only
    supports its precomputed prompts). The writer adds ``sha256`` to ``model`` as it does for graph files."""
    return {"tokenizer": "sentencepiece", "model": {"file": model_file}, "maxTokens": tokenizer.max_length,
            "eos": tokenizer.eos, "pad": tokenizer.pad}


@torch.no_grad()
def encode(model, tokenizer, text):
    """``embeddings [L, D]`` for ``text``: the reference's ``u[:v]`` (run on the L valid tokens only)."""
    ids = torch.tensor([tokenizer.ids(text)], dtype=torch.long)
    return model(ids, torch.ones_like(ids))[0].float().contiguous()


def precompute(model, tokenizer, out_dir, prompt=DEFAULT_PROMPT, negative=NEGATIVE_PROMPT):
    """Writes ``text_default.safetensors`` and ``text_negative.safetensors``; returns manifest key -> file."""
    import os
    files = {"text-default": ("text_default.safetensors", prompt),
             "text-negative": ("text_negative.safetensors", negative)}
    for name, text in files.values():
        write_embeddings(os.path.join(out_dir, name), encode(model, tokenizer, text))
    return {k: v[0] for k, v in files.items()}
