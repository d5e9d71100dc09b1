"""LongCat-Video-Avatar's DiT (``LongCatVideoAvatarTransformer3DModel``) in plain PyTorch, one graph
per segment layout and person count (docs/BUNDLE-FORMAT.md, family ``longcat-avatar``).

Reference: meituan-longcat/LongCat-Video 6b3f4b8, ``longcat_video/modules/avatar/
longcat_video_dit_avatar.py`` (model and block), ``modules/avatar/attention.py`` (``Attention``,
``SingleStreamAttention``), ``modules/attention.py`` (``MultiHeadCrossAttention``),
``modules/avatar/rope_3d.py``, ``modules/blocks.py``, ``modules/avatar/blocks.py``
(``AudioProjModel``) and ``audio_process/torch_utils.py`` (``get_attn_map_with_target``), called by
``pipeline_longcat_video_avatar.py`` (``generate_ai2v`` for segment 0, ``generate_avc`` for later
segments).

:func:`build` reads every size from tensor shapes of a state dict with the reference's key names
(``x_embedder.proj``, ``t_embedder.mlp``, ``y_embedder.y_proj``, ``blocks.N.*``, ``audio_proj.*``,
``final_layer.*``); ``num_heads`` is the only size a checkpoint's tensors do not carry (its
``config.json``).

Graph inputs (the bundle contract):
  ``x [B,C,k,h,w]``, ``t [B,k]`` (0 on condition latents), ``context [B,Lt,Dt]`` (the text's valid
  tokens: every one is a key), ``audio_latter [B,P,L-1,8,5,Da]`` (the 8-position window union of
  the segment's latents 1..L-1, L = segment latents; the graph uses the last ``n`` rows, those of the
  noisy latents: latent 0's own audio row only ever reaches condition latents, which get none) and,
  for ``P >= 2`` (B = 1), ``person_mask [M,h/2,w/2]`` -> ``velocity [B,C,k,h,w]``.

Layouts (static per graph, the reference's ``Attention.forward`` branches):
  ``first``: ``[portrait ; n noisy]`` (``num_cond_latents = 1``): temporal RoPE positions 0..k-1; the
  portrait's tokens attend only to themselves, noisy tokens to all.
  ``continuation``: ``[reference ; c context ; n noisy]`` (``num_cond_latents = 1 + c``,
  ``num_ref_latents = 1``): positions ``[ref_index, 0, 1, ..]``; the reference attends to itself, the
  context latents to the context latents, noisy tokens to all except the noisy latents
  ``[ref_index - mask_range - nc + 1, ref_index + mask_range - nc + 2)`` (noisy-relative, when that
  range is non-empty and inside the noisy latents), which do not see the reference latent.
  In both, text and audio cross-attention add exactly 0 to condition latents.

Persons (``SingleStreamAttention._process_cross_attn``): ``P = 1``: no routing, 32 audio tokens per
latent. ``P >= 2``: the P persons' tokens are concatenated per latent; keys get 1-D RoPE positions
2 (person 1), 22 (person 2) and, for ``P >= 3``, the background position for the rest; each noisy
query gets the position from its block's attention map to the first latent's tokens inside each
mask (``get_attn_map_with_target``, head groups of ``H//2``): min-max scaled into [0, 4] (mask 0),
[20, 24] (mask 1), or the background position when a mask >= 2 wins the argmax. The background
position is 12 when ``M <= 3`` masks are given and 100 otherwise (computed in the graph from M). An
empty mask's map is NaN (0/0), which wins the argmax as in torch (so an empty background puts every
query at the background position, as the reference does).
"""
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..graph import GraphExport


INPUT_NAMES = ["x", "t", "context", "audio_latter", "person_mask"]
AUDIO_GROUPS = 5  # Whisper layer groups per audio row (v1.5)


def pairs(a):
    """[.., n] -> [.., 2n] with every value twice in a row (einops ``(n r)``, r = 2)."""
    return torch.stack([a, a], dim=-1).reshape(a.shape[:-1] + (2 * a.shape[-1],))


def checkpoint_shapes(config):
    """{key: shape} of the reference's ``LongCatVideoAvatarTransformer3DModel(**config)`` state dict
    (its constructor's sizes: SwiGLU width ``256 * ceil(int(2 * hidden * mlp_ratio / 3) / 256)``,
    audio projection inputs ``audio_window`` and ``audio_window + vae_scale - 1`` rows of
    ``audio_block x audio_channel``), for reduced and full-size random checkpoints."""
    c = dict(in_channels=16, out_channels=16, hidden_size=4096, depth=48, num_heads=32, caption_channels=4096,
             mlp_ratio=4, adaln_tembed_dim=512, frequency_embedding_size=256, patch_size=(1, 2, 2), audio_window=5,
             audio_block=12, audio_channel=768, intermediate_dim=512, output_dim=768, context_tokens=32, vae_scale=4,
             audio_prenorm=False)
    c.update(config)
    D, T, hd = c["hidden_size"], c["adaln_tembed_dim"], c["hidden_size"] // c["num_heads"]
    ffn = int(2 * int(D * c["mlp_ratio"]) / 3)
    ffn = 256 * ((ffn + 255) // 256)
    a_in = c["audio_block"] * c["audio_channel"]
    out = {"x_embedder.proj.weight": [D, c["in_channels"], *c["patch_size"]], "x_embedder.proj.bias": [D],
           "t_embedder.mlp.0.weight": [T, c["frequency_embedding_size"]], "t_embedder.mlp.0.bias": [T],
           "t_embedder.mlp.2.weight": [T, T], "t_embedder.mlp.2.bias": [T],
           "y_embedder.y_proj.0.weight": [D, c["caption_channels"]], "y_embedder.y_proj.0.bias": [D],
           "y_embedder.y_proj.2.weight": [D, D], "y_embedder.y_proj.2.bias": [D]}
    for i in range(c["depth"]):
        b = f"blocks.{i}."
        lin = {"adaLN_modulation.1": (6 * D, T), "audio_adaLN_modulation.1": (3 * D, T), "attn.qkv": (3 * D, D),
               "attn.proj": (D, D), "cross_attn.q_linear": (D, D), "cross_attn.kv_linear": (2 * D, D),
               "cross_attn.proj": (D, D), "audio_cross_attn.q_linear": (D, D), "audio_cross_attn.proj": (D, D),
               "audio_cross_attn.kv_linear": (2 * D, c["output_dim"])}
        for name, (o, i_) in lin.items():
            out[b + name + ".weight"] = [o, i_]
            out[b + name + ".bias"] = [o]
        for name in ("attn.q_norm", "attn.k_norm", "cross_attn.q_norm", "cross_attn.k_norm",
                     "audio_cross_attn.q_norm", "audio_cross_attn.k_norm"):
            out[b + name + ".weight"] = [hd]
        for name in ("pre_crs_attn_norm", "pre_video_crs_attn_norm"):
            out[b + name + ".weight"] = [D]
            out[b + name + ".bias"] = [D]
        if c["audio_prenorm"]:
            out[b + "pre_audio_crs_attn_norm.weight"] = [c["output_dim"]]
            out[b + "pre_audio_crs_attn_norm.bias"] = [c["output_dim"]]
        out[b + "ffn.w1.weight"] = [ffn, D]
        out[b + "ffn.w2.weight"] = [D, ffn]
        out[b + "ffn.w3.weight"] = [ffn, D]
    inter = c["intermediate_dim"]
    for name, (o, i_) in {"proj1": (inter, c["audio_window"] * a_in),
                          "proj1_vf": (inter, (c["audio_window"] + c["vae_scale"] - 1) * a_in),
                          "proj2": (inter, inter), "proj3": (c["context_tokens"] * c["output_dim"], inter)}.items():
        out[f"audio_proj.{name}.weight"] = [o, i_]
        out[f"audio_proj.{name}.bias"] = [o]
    out["audio_proj.norm.weight"] = [c["output_dim"]]
    out["audio_proj.norm.bias"] = [c["output_dim"]]
    p = c["patch_size"]
    out["final_layer.linear.weight"] = [p[0] * p[1] * p[2] * c["out_channels"], D]
    out["final_layer.linear.bias"] = [p[0] * p[1] * p[2] * c["out_channels"]]
    out["final_layer.adaLN_modulation.1.weight"] = [2 * D, T]
    out["final_layer.adaLN_modulation.1.bias"] = [2 * D]
    return out


def random_checkpoint(config, seed):
    """Seeded random weights in the reference's key names and shapes, scaled as
    reference/longcat_dit_goldens.py scales them (activations O(1))."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for name, shape in checkpoint_shapes(config).items():
        if "adaLN_modulation" in name:
            t = torch.randn(shape, generator=g) * (0.3 / shape[-1] ** 0.5 if len(shape) == 2 else 0.3)
        elif len(shape) >= 2:
            fan = 1
            for d in shape[1:]:
                fan *= d
            t = torch.randn(shape, generator=g) / fan ** 0.5
        elif "norm" in name and name.endswith("weight"):
            t = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            t = 0.1 * torch.randn(shape, generator=g)
        sd[name] = t
    return sd


def build(sd, config=None, layout="first", persons=1, context_latents=4, ref_index=10, mask_range=3):
    """The DiT of a state dict with the reference's key names; ``config``: the checkpoint's
    ``config.json`` (``num_heads``, ``class_range``, ``class_interval``; ``num_heads`` is required
    unless ``sd`` is given with the config's defaults)."""
    config = dict(config or {})
    if "num_heads" not in config:
        raise KeyError("LongCat DiT: config.json lacks num_heads (the only size the tensors do not carry)")
    return LongCatDiT(sd, config["num_heads"], layout=layout, persons=persons, context_latents=context_latents,
                      ref_index=ref_index, mask_range=mask_range, class_range=config.get("class_range", 24),
                      class_interval=config.get("class_interval", 4)).eval()


def build_shapes(shapes, config):
    """A model without weights from ``{key: shape}`` (e.g. read from safetensors headers), for
    :func:`weights_as_inputs`."""
    config = dict(config or {})
    if "num_heads" not in config:
        raise KeyError("LongCat DiT: config.json lacks num_heads (the only size the tensors do not carry)")
    return LongCatDiT(None, config["num_heads"], class_range=config.get("class_range", 24),
                      class_interval=config.get("class_interval", 4), shapes=shapes).eval()


class WeightsAsInputs(nn.Module):
    """``model`` with its weights as trailing graph inputs (named by checkpoint key): traced with
    zero-stride example tensors (``torch.zeros(1).expand(shape)``), the graph is tiny whatever the
    model's size, and a second pass (a4jexport.longcat.streamed) turns those inputs into initializers
    streamed from the checkpoint."""

    def __init__(self, model, n_inputs, keys):
        super().__init__()
        self.model = model
        self.n_inputs = n_inputs
        self.keys = list(keys)

    def forward(self, *args):
        self.model._override = dict(zip(self.keys, args[self.n_inputs:]))
        try:
            return self.model(*args[:self.n_inputs])
        finally:
            self.model._override = None


def variant(model, layout, persons):
    """The same weights for another layout / person count (shares the parameters)."""
    m = copy.copy(model)
    m.layout, m.persons = layout, persons
    m.nc = 1 if layout == "first" else 1 + model.context_latents
    return m


def graph_key(layout, persons):
    return f"dit-p{persons}" + ("" if layout == "first" else "-continuation")


def graph_file(layout, persons):
    return f"dit_p{persons}" + ("" if layout == "first" else "_continuation") + ".onnx"


def example_inputs(model, layout, persons, segment_latents=24, lh=8, lw=8, text_len=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    k = segment_latents if layout == "first" else segment_latents + 1
    nc = 1 if layout == "first" else 1 + model.context_latents
    x = torch.randn(1, model.cin, k, lh, lw, generator=g)
    t = torch.full((1, k), 500.0)
    t[:, :nc] = 0
    ctx = torch.randn(1, text_len, model.p("y_embedder.y_proj.0.weight").shape[1], generator=g)
    seg = model.p("audio_proj.proj1_vf.weight").shape[1]
    audio = torch.randn(1, persons, segment_latents - 1, 8, AUDIO_GROUPS, seg // (8 * AUDIO_GROUPS), generator=g)
    args = [x, t, ctx, audio]
    if persons >= 2:
        th, tw = lh // model.patch[1], lw // model.patch[2]
        m = torch.zeros(persons + 1, th, tw)
        m[0, :, : tw // 2] = 1
        m[1, :, tw // 2:] = 1
        m[2] = 1 - torch.clamp(m[0] + m[1], max=1)
        args.append(m)
    return args


def graphs(model, persons=(1, 2, 3), segment_latents=24, lh=8, lw=8):
    """Both segment layouts for every person count: ``dit-pP`` and ``dit-pP-continuation``."""
    out = []
    for p in persons:
        for layout in ("first", "continuation"):
            m = variant(model, layout, p)
            args = example_inputs(model, layout, p, segment_latents, lh, lw)
            names = INPUT_NAMES[:len(args)]
            axes = {"x": {3: "h", 4: "w"}, "context": {1: "Lt"}, "velocity": {3: "h", 4: "w"}}
            if p == 1:
                for n in ("x", "t", "context", "audio_latter", "velocity"):
                    axes.setdefault(n, {})[0] = "B"
            else:
                axes["person_mask"] = {0: "M", 1: "th", 2: "tw"}
            out.append(GraphExport(key=graph_key(layout, p), file=graph_file(layout, p), module=m, args=args,
                                   input_names=names, output_names=["velocity"], dynamic_axes=axes))
    return out


class LongCatDiT(nn.Module):
    """The reference DiT for one layout and person count, weights as a flat parameter dict."""

    def __init__(self, sd, num_heads, layout="first", persons=1, context_latents=4, ref_index=10,
                 mask_range=3, class_range=24, class_interval=4, shapes=None):
        """``sd``: the weights (copied as float32 parameters); or ``sd=None`` and ``shapes``
        ({key: shape}) for a model without weights whose every tensor must come from
        :func:`weights_as_inputs` (a full-size trace holds no weights in memory)."""
        super().__init__()
        if layout not in ("first", "continuation"):
            raise ValueError(f"layout must be first or continuation, got {layout!r}")
        if persons < 1:
            raise ValueError("persons must be >= 1")
        self.w = nn.ParameterDict()
        self._names = {}
        self._override = None
        self._shapes = None
        if sd is None:
            self._shapes = {k: tuple(v) for k, v in shapes.items()}
            for k in self._shapes:
                self._names[k] = k
        for k in (sd.keys() if sd is not None else ()):
            name = k.replace(".", "__")
            self._names[k] = name
            self.w[name] = nn.Parameter(sd[k].detach().float().clone(), requires_grad=False)
        self.heads = num_heads
        self.layout = layout
        self.persons = persons
        self.context_latents = context_latents
        self.nc = 1 if layout == "first" else 1 + context_latents
        self.ref_index = ref_index
        self.mask_range = mask_range
        self.rope_h1 = (0, class_interval)
        self.rope_h2 = (class_range - class_interval, class_range)
        self.rope_bak = int(class_range // 2)
        keys = self._names  # every checkpoint key
        self.depth = 0
        while f"blocks.{self.depth}.attn.qkv.weight" in keys:
            self.depth += 1
        pw = self.p("x_embedder.proj.weight")
        self.dim, self.cin = pw.shape[0], pw.shape[1]
        self.patch = tuple(pw.shape[2:])
        if self.patch[0] != 1:
            raise ValueError("the reference requires a temporal patch of 1")
        self.freq_size = self.p("t_embedder.mlp.0.weight").shape[1]
        self.audio_dim = self.p("audio_proj.norm.weight").shape[0]
        self.audio_tokens = self.p("audio_proj.proj3.weight").shape[0] // self.audio_dim
        self.cout = self.p("final_layer.linear.weight").shape[0] // (self.patch[1] * self.patch[2])
        self.audio_prenorm = "blocks.0.pre_audio_crs_attn_norm.weight" in keys

    def p(self, key):
        if self._override is not None:
            return self._override[key]
        if self._shapes is not None:
            if key not in self._shapes:
                raise KeyError(f"LongCat DiT checkpoint lacks {key!r}")
            return torch.zeros(1).expand(self._shapes[key])  # shape only: no weights held
        try:
            return self.w[self._names[key]]
        except KeyError:
            raise KeyError(f"LongCat DiT checkpoint lacks {key!r}") from None

    def weight_keys(self):
        """Every checkpoint key the model was built with."""
        return list(self._names)

    # -- helpers --------------------------------------------------------------------------------
    def linear(self, x, key, bias=True):
        w = self.p(key + ".weight")
        b = self.p(key + ".bias") if bias else None
        return F.linear(x, w, b)

    @staticmethod
    def ln(x, eps=1e-6, w=None, b=None):
        n = int(x.shape[-1])
        if w is None:  # torch 1.13 exports LayerNormalization without a scale input, which onnx rejects
            w, b = torch.ones(n), torch.zeros(n)
        return F.layer_norm(x, (n,), w, b, eps)

    @staticmethod
    def rms(x, w, eps=1e-6):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    @staticmethod
    def rotate_half(x):
        x2 = x.reshape(x.shape[:-1] + (x.shape[-1] // 2, 2))
        return torch.stack((-x2[..., 1], x2[..., 0]), dim=-1).reshape(x.shape)

    @staticmethod
    def attend(q, k, v):
        scale = q.shape[-1] ** -0.5
        return torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, dim=-1) @ v

    @staticmethod
    def inv_freq(dim):
        return 1.0 / (10000 ** (torch.arange(0, dim, 2)[: dim // 2].float() / dim))

    def rope3d_angles(self, k, th, tw):
        """[k*th*tw, hd] angles of the reference's 3-D RoPE (interleaved pairs)."""
        hd = self.dim // self.heads
        dt, dh = hd - 4 * (hd // 6), 2 * (hd // 6)
        if self.layout == "first":
            gt = torch.arange(k, dtype=torch.float32)
        else:
            gt = torch.cat([torch.tensor([float(self.ref_index)]), torch.arange(k - 1, dtype=torch.float32)])
        ft = pairs(gt[:, None] * self.inv_freq(dt)[None])  # [k, dt]
        fh = pairs(torch.arange(th, dtype=torch.float32)[:, None] * self.inv_freq(dh)[None])
        fw = pairs(torch.arange(tw, dtype=torch.float32)[:, None] * self.inv_freq(dh)[None])
        a = torch.cat([ft[:, None, None, :].expand(k, th, tw, dt), fh[None, :, None, :].expand(k, th, tw, dh),
                       fw[None, None, :, :].expand(k, th, tw, dh)], dim=-1)
        return a.reshape(k * th * tw, hd)

    def rope1d(self, x, pos):
        """x [.., S, hd], pos [S] (or broadcastable) -> rotated x."""
        hd = x.shape[-1]
        ang = pairs(pos[:, None] * self.inv_freq(hd)[None].to(pos.dtype))
        return x * torch.cos(ang) + self.rotate_half(x) * torch.sin(ang)

    # -- forward --------------------------------------------------------------------------------
    def forward(self, x, t, context, audio_latter, person_mask=None):
        B, C, k, H, W = x.shape
        ph, pw = self.patch[1], self.patch[2]
        th, tw = H // ph, W // pw
        hw = th * tw
        D, nh = self.dim, self.heads
        hd = D // nh
        nc = self.nc
        n = k - nc
        tok = F.conv3d(x, self.p("x_embedder.proj.weight"), self.p("x_embedder.proj.bias"), stride=self.patch)
        tok = tok.flatten(2).transpose(1, 2)  # [B, N, D]
        # time embedding [B, k, Tdim]: sinusoid [cos, sin]
        half = self.freq_size // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
        args = t.reshape(-1, 1).float() * freqs[None]
        tf = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
        te = self.linear(F.silu(self.linear(tf, "t_embedder.mlp.0")), "t_embedder.mlp.2").reshape(B, k, -1)
        y = self.linear(F.gelu(self.linear(context, "y_embedder.y_proj.0"), approximate="tanh"), "y_embedder.y_proj.2")
        # audio tokens of the noisy latents: [B_a, n, T, Da]
        P = audio_latter.shape[1]
        al = audio_latter[:, :, -n:]
        a = al.reshape(al.shape[0] * P * n, -1)
        a = F.relu(self.linear(a, "audio_proj.proj1_vf"))
        a = F.relu(self.linear(a, "audio_proj.proj2"))
        a = self.linear(a, "audio_proj.proj3").reshape(-1, self.audio_tokens, self.audio_dim)
        a = self.ln(a, 1e-5, self.p("audio_proj.norm.weight"), self.p("audio_proj.norm.bias"))
        a = a.reshape(al.shape[0], P, n, self.audio_tokens, self.audio_dim)
        if self.persons == 1:
            audio = a[:, 0].reshape(B * n, self.audio_tokens, self.audio_dim)
        else:  # one batch element; the persons' tokens side by side per latent
            audio = a[0].permute(1, 0, 2, 3).reshape(n, P * self.audio_tokens, self.audio_dim)
        ang = self.rope3d_angles(k, th, tw)
        cos, sin = torch.cos(ang), torch.sin(ang)
        masks = None
        if self.persons >= 2:
            masks = person_mask.reshape(person_mask.shape[0], hw)
            count = (masks[:, :1] * 0 + 1).sum()
            background = self.rope_bak + (100 - self.rope_bak) * (count > 3).float()
        for i in range(self.depth):
            b = f"blocks.{i}."
            mod = self.linear(F.silu(te), b + "adaLN_modulation.1").unsqueeze(2).chunk(6, dim=-1)
            shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = mod
            xm = (self.ln(tok.view(B, k, hw, D)) * (scale_msa + 1) + shift_msa).view(B, -1, D)
            qkv = self.linear(xm, b + "attn.qkv").view(B, -1, 3, nh, hd).permute(2, 0, 3, 1, 4)
            q, kk, v = qkv[0], qkv[1], qkv[2]
            q = self.rms(q, self.p(b + "attn.q_norm.weight"))
            kk = self.rms(kk, self.p(b + "attn.k_norm.weight"))
            q = q * cos + self.rotate_half(q) * sin
            kk = kk * cos + self.rotate_half(kk) * sin
            xs = self.self_attention(q, kk, v, hw, n)
            xs = self.linear(xs.transpose(1, 2).reshape(B, -1, D), b + "attn.proj")
            tok = tok + (gate_msa * xs.view(B, k, hw, D)).view(B, -1, D)
            # text cross-attention on noisy tokens only (zero on condition latents)
            xn = self.ln(tok, 1e-6, self.p(b + "pre_crs_attn_norm.weight"), self.p(b + "pre_crs_attn_norm.bias"))
            xn = xn[:, nc * hw:]
            cq = self.linear(xn, b + "cross_attn.q_linear").view(B, -1, nh, hd).transpose(1, 2)
            ckv = self.linear(y, b + "cross_attn.kv_linear").view(B, -1, 2, nh, hd)
            ck, cv = ckv[:, :, 0].transpose(1, 2), ckv[:, :, 1].transpose(1, 2)
            cq = self.rms(cq, self.p(b + "cross_attn.q_norm.weight"))
            ck = self.rms(ck, self.p(b + "cross_attn.k_norm.weight"))
            co = self.linear(self.attend(cq, ck, cv).transpose(1, 2).reshape(B, -1, D), b + "cross_attn.proj")
            tok = tok + torch.cat([torch.zeros_like(tok[:, :nc * hw]), co], dim=1)
            # audio cross-attention on noisy tokens only
            amod = self.linear(F.silu(te[:, nc:]), b + "audio_adaLN_modulation.1").unsqueeze(2).chunk(3, dim=-1)
            a_shift, a_scale, a_gate = amod
            xv = self.ln(tok, 1e-6, self.p(b + "pre_video_crs_attn_norm.weight"),
                         self.p(b + "pre_video_crs_attn_norm.bias"))[:, nc * hw:]
            cond = audio
            if self.audio_prenorm:
                cond = self.ln(cond, 1e-6, self.p(b + "pre_audio_crs_attn_norm.weight"),
                               self.p(b + "pre_audio_crs_attn_norm.bias"))
            ao = self.audio_attention(b, xv, cond, n, hw, q, kk, masks, background if masks is not None else None)
            ao = (self.ln(ao.view(B, n, hw, D)) * (a_scale + 1) + a_shift)
            ao = (a_gate * ao).view(B, -1, D)
            tok = tok + torch.cat([torch.zeros_like(tok[:, :nc * hw]), ao], dim=1)
            # FFN
            xm = (self.ln(tok.view(B, k, hw, D)) * (scale_mlp + 1) + shift_mlp).view(B, -1, D)
            f = F.linear(F.silu(F.linear(xm, self.p(b + "ffn.w1.weight"))) * F.linear(xm, self.p(b + "ffn.w3.weight")),
                         self.p(b + "ffn.w2.weight"))
            tok = tok + (gate_mlp * f.view(B, k, hw, D)).view(B, -1, D)
        shift, scale = self.linear(F.silu(te), "final_layer.adaLN_modulation.1").unsqueeze(2).chunk(2, dim=-1)
        out = (self.ln(tok.view(B, k, hw, D)) * (scale + 1) + shift).view(B, -1, D)
        out = self.linear(out, "final_layer.linear")  # [B, N, ph*pw*Cout]
        out = out.view(B, k, th, tw, ph, pw, self.cout).permute(0, 6, 1, 2, 4, 3, 5)
        return out.reshape(B, self.cout, k, H, W)

    def self_attention(self, q, k, v, hw, n):
        """The reference's partition of the self-attention (``Attention.forward``)."""
        nc = self.nc
        if self.layout == "first":
            xc = self.attend(q[:, :, :hw], k[:, :, :hw], v[:, :, :hw])
            xn = self.attend(q[:, :, hw:], k, v)
            return torch.cat([xc, xn], dim=2)
        xr = self.attend(q[:, :, :hw], k[:, :, :hw], v[:, :, :hw])
        xc = self.attend(q[:, :, hw:nc * hw], k[:, :, hw:nc * hw], v[:, :, hw:nc * hw])
        qn = q[:, :, nc * hw:]
        start = self.ref_index - self.mask_range - nc + 1
        end = self.ref_index + self.mask_range - nc + 2
        if 0 <= start < end <= n:
            front = self.attend(qn[:, :, :start * hw], k, v)
            masked = self.attend(qn[:, :, start * hw:end * hw], k[:, :, hw:], v[:, :, hw:])
            back = self.attend(qn[:, :, end * hw:], k, v)
            xn = torch.cat([front, masked, back], dim=2)
        else:
            xn = self.attend(qn, k, v)
        return torch.cat([xr, xc, xn], dim=2)

    def audio_attention(self, b, xv, cond, n, hw, q_self, k_self, masks, background):
        """``SingleStreamAttention._process_cross_attn`` over the noisy tokens, per latent."""
        B, _, D = xv.shape
        nh = self.heads
        hd = D // nh
        x = xv.reshape(B * n, hw, D)
        q = self.linear(x, b + "audio_cross_attn.q_linear").view(B * n, hw, nh, hd).transpose(1, 2)
        q = self.rms(q, self.p(b + "audio_cross_attn.q_norm.weight"))
        na = cond.shape[1]
        kv = self.linear(cond, b + "audio_cross_attn.kv_linear").view(B * n, na, 2, nh, hd)
        ek, ev = kv[:, :, 0].transpose(1, 2), kv[:, :, 1].transpose(1, 2)
        ek = self.rms(ek, self.p(b + "audio_cross_attn.k_norm.weight"))
        if masks is not None:
            amap = self.ref_attn_map(q_self[:, :, self.nc * hw:], k_self[:, :, :hw], masks)  # [M, n*hw]
            h1 = self.scale(amap[0], self.rope_h1)
            h2 = self.scale(amap[1], self.rope_h2)
            # an empty mask gives 0/0 = NaN; torch's argmax takes NaN as the maximum, ONNX's ArgMax is
            # unspecified for NaN: make it explicit (regions that cover the frame leave no background)
            win = torch.argmax(torch.where(torch.isnan(amap), torch.full_like(amap, float("inf")), amap),
                               dim=0).clamp(max=2)
            pos = torch.where(win == 0, h1, torch.where(win == 1, h2, background.expand_as(h1)))
            q = self.rope1d(q.transpose(0, 1).reshape(nh, n * hw, hd), pos).reshape(nh, n, hw, hd).transpose(0, 1)
            per = self.persons
            tokens = na // per if per > 2 else na // 2
            kpos = torch.cat([torch.full((tokens,), (self.rope_h1[0] + self.rope_h1[1]) / 2.0),
                              torch.full((tokens,), (self.rope_h2[0] + self.rope_h2[1]) / 2.0)])
            if per > 2:
                kpos = torch.cat([kpos, background.expand(na - 2 * tokens)])
            else:
                kpos = torch.cat([kpos, kpos.new_full((na - 2 * tokens,), (self.rope_h2[0] + self.rope_h2[1]) / 2.0)])
            ek = self.rope1d(ek, kpos)
        o = self.attend(q, ek, ev).transpose(1, 2).reshape(B * n, hw, D)
        o = self.linear(o, b + "audio_cross_attn.proj")
        return o.reshape(B, n * hw, D)

    @staticmethod
    def scale(m, rng):
        lo, hi = m.min(), m.max()
        return (m - lo) / (hi - lo + 1e-8) * (rng[1] - rng[0]) + rng[0]

    def ref_attn_map(self, q, ref_k, masks):
        """``get_attn_map_with_target`` (split_num 2) for one batch element: [M, Nq]."""
        nh = q.shape[1]
        chunk = nh // 2
        total = 0
        msum = masks.sum(-1)  # [M]
        for g in range(2):
            qg = q[0, g * chunk:(g + 1) * chunk] * (q.shape[-1] ** -0.5)
            kg = ref_k[0, g * chunk:(g + 1) * chunk]
            attn = torch.softmax(qg @ kg.transpose(-2, -1), dim=-1)  # [h, Nq, hw]
            per = torch.einsum("hqk,mk->mqh", attn, masks) / msum[:, None, None]
            total = total + per.mean(-1)
        return total / 2
