#!/usr/bin/python3
"""Goldens for the CLIP image encoder and the umT5 text encoder, from the REFERENCE code at reduced size.

    enc_goldens.py REF_CHECKOUT OUT_DIR

REF_CHECKOUT: a StableAvatar checkout (46c0492): ``wan/models/wan_image_encoder.py``,
``wan_xlm_roberta.py`` and ``wan_text_encoder.py`` are imported from it as they are. The packages they
import that are not installed here (diffusers, torchvision) are replaced by minimal stand-ins written
to a temporary directory at run time; ``wan.models.wan_transformer3d`` (which pulls in the whole DiT)
is replaced by its ``attention`` function's non-flash branch (``scaled_dot_product_attention``, which
torch 1.13 lacks, written out). Nothing of the reference is copied into OUT_DIR except state dicts and
tensors.

Writes into OUT_DIR (the real file layout and key names):
- ``models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth``: the whole reduced ``XLMRobertaCLIP``
  state dict (visual + textual towers, ``log_scale``), fp32, ViT width 64, 16 heads (the published
  head count), 4 blocks (the DiT gets the output of the first 3: "31 of 32" becomes "3 of 4"),
  patch 14 at 112x112 (65 tokens).
- ``models_t5_umt5-xxl-enc-bf16.pth``: the reduced ``WanT5EncoderModel`` (umT5: per-layer relative
  positions) in bf16 like the real file; dim 32, 4 heads, FFN 80, 2 layers, 32 buckets, vocab 256.
- ``google/umt5-xxl/spiece.model``: a small unigram sentencepiece model trained here (T5's special ids:
  pad 0, eos 1, unk 2, no bos).
- ``cases.txt`` + ``*.bin``: OrtCheck cases for ``image_encoder.onnx`` and ``text_encoder.onnx``;
  ``preprocess.txt``: the reference's CLIP preprocessing (image in [-1,1] -> pixel_values);
  ``tokens.json``: prompts, their reference-rule token ids, and files of their trimmed embeddings.
"""
import contextlib
import importlib.util
import json
import os
import sys
import tempfile
import types

import numpy as np
import torch

STUBS = {
    "diffusers/__init__.py": "",
    "diffusers/configuration_utils.py": "class ConfigMixin:\n    pass\n",
    "diffusers/loaders/__init__.py": "",
    "diffusers/loaders/single_file_model.py": "class FromOriginalModelMixin:\n    pass\n",
    "diffusers/models/__init__.py": "",
    "diffusers/models/modeling_utils.py": (
        "import torch\n"
        "class ModelMixin(torch.nn.Module):\n"
        "    @property\n"
        "    def dtype(self):\n"
        "        return next(self.parameters()).dtype\n"),
    # torchvision.transforms: only Normalize runs in CLIPModel.forward (torchvision's tensor semantics).
    "torchvision/__init__.py": "",
    "torchvision/transforms.py": (
        "import enum\n"
        "import torch\n"
        "class InterpolationMode(enum.Enum):\n"
        "    BICUBIC = 'bicubic'\n"
        "class Compose:\n"
        "    def __init__(self, transforms):\n"
        "        self.transforms = transforms\n"
        "class Resize:\n"
        "    def __init__(self, size, interpolation=None):\n"
        "        self.size, self.interpolation = size, interpolation\n"
        "class ToTensor:\n"
        "    pass\n"
        "class Normalize:\n"
        "    def __init__(self, mean, std, inplace=False):\n"
        "        self.mean, self.std, self.inplace = mean, std, inplace\n"
        "    def __call__(self, tensor):\n"
        "        if not self.inplace:\n"
        "            tensor = tensor.clone()\n"
        "        mean = torch.as_tensor(self.mean, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)\n"
        "        std = torch.as_tensor(self.std, dtype=tensor.dtype, device=tensor.device).view(-1, 1, 1)\n"
        "        return tensor.sub_(mean).div_(std)\n"),
}


def attention(q, k, v, q_lens=None, k_lens=None, dropout_p=0., softmax_scale=None, q_scale=None,
              causal=False, window_size=(-1, -1), deterministic=False, dtype=torch.bfloat16, fa_version=None):
    """wan_transformer3d.attention without flash-attn: scaled_dot_product_attention written out."""
    assert q_lens is None and k_lens is None and not causal and dropout_p == 0.
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    scale = 1.0 / (q.shape[-1] ** 0.5)
    out = torch.softmax(q @ k.transpose(-2, -1) * scale, dim=-1) @ v
    return out.transpose(1, 2).contiguous()


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def import_reference(ref, stub_dir):
    for rel, text in STUBS.items():
        p = os.path.join(stub_dir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
    sys.path.insert(0, stub_dir)
    for pkg in ("wan", "wan.models"):
        m = types.ModuleType(pkg)
        m.__path__ = []
        sys.modules[pkg] = m
    t3d = types.ModuleType("wan.models.wan_transformer3d")
    t3d.attention = attention
    sys.modules["wan.models.wan_transformer3d"] = t3d
    models = os.path.join(ref, "wan", "models")
    for f in ("wan_xlm_roberta.py", "wan_image_encoder.py", "wan_text_encoder.py"):
        if not os.path.isfile(os.path.join(models, f)):
            sys.exit("%s: no wan/models/%s (REF_CHECKOUT must be a StableAvatar checkout)" % (ref, f))
    _load("wan.models.wan_xlm_roberta", os.path.join(models, "wan_xlm_roberta.py"))
    clip = _load("wan.models.wan_image_encoder", os.path.join(models, "wan_image_encoder.py"))
    t5 = _load("wan.models.wan_text_encoder", os.path.join(models, "wan_text_encoder.py"))
    return clip, t5


class _TorchWithDeviceContext(types.ModuleType):
    """torch, whose ``device(...)`` also works as a context manager (torch >= 2.0; _clip uses it)."""

    def __init__(self):
        super().__init__("torch")

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def device(*a, **kw):
        d = torch.device(*a, **kw)
        return contextlib.nullcontext(d)


def _perturb_norms(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn(p.shape, generator=gen))


class Writer:
    def __init__(self, out):
        self.out = out
        self.lines = []

    def case(self, graph):
        self.lines.append("case %s" % graph)

    def tensor(self, kind, name, t, file):
        t = t.detach().contiguous()
        arr = t.numpy().astype("<i8" if t.dtype == torch.long else "<f4")
        arr.tofile(os.path.join(self.out, file))
        dtype = "int64" if t.dtype == torch.long else "float32"
        self.lines.append("%s %s %s %s %s" % (kind, name, dtype, ",".join(str(d) for d in t.shape), file))


CLIP_CFG = dict(embed_dim=48, image_size=112, patch_size=14, vision_dim=64, vision_mlp_ratio=4,
                vision_layers=4, vision_pool="token", activation="gelu", vocab_size=64, max_text_len=16,
                type_size=1, pad_id=1, text_dim=32, text_heads=2, text_layers=1, text_post_norm=True,
                text_dropout=0.1, attn_dropout=0.0, proj_dropout=0.0, embedding_dropout=0.0)


def clip_goldens(clipmod, out, w, pre, **cfg_overrides):
    """The reduced XLMRobertaCLIP (CLIP_CFG with ``cfg_overrides``): its .pth in ``out``, one
    image-encoder case."""
    gen = torch.Generator().manual_seed(1701)
    torch.manual_seed(1701)
    clipmod.torch = _TorchWithDeviceContext()
    cfg = dict(CLIP_CFG, **cfg_overrides)
    n_tokens = (cfg["image_size"] // cfg["patch_size"]) ** 2 + 1
    model, transforms = clipmod._clip(pretrained=False, pretrained_name="open-clip-xlm-roberta-large-vit-huge-14",
                                      model_cls=clipmod.XLMRobertaCLIP, return_transforms=True, **cfg)
    assert model.vision_heads == 16, "the reduced model keeps the published head count"
    _perturb_norms(model, gen)
    model.eval()
    torch.save(model.state_dict(), os.path.join(out, "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"))

    # CLIPModel.forward on the reduced model (its __init__ builds the full-size one).
    enc = clipmod.CLIPModel.__new__(clipmod.CLIPModel)
    torch.nn.Module.__init__(enc)
    enc.model, enc.transforms = model, transforms
    enc.eval()
    seen = {}
    hook = model.visual.register_forward_pre_hook(lambda m, args: seen.setdefault("pixels", args[0].clone()))
    # The pipeline's clip_image: the W x H-resized RGB image, uint8 / 255 -> [-1, 1], [C, H, W].
    img = torch.randint(0, 256, (3, 48, 40), generator=gen).float() / 255
    img = (img - 0.5) * 2
    with torch.no_grad():
        emb = enc([img[:, None, :, :]])
    hook.remove()
    pixels = seen["pixels"]
    size = cfg["image_size"]
    assert tuple(pixels.shape) == (1, 3, size, size) and tuple(emb.shape) == (1, n_tokens, cfg["vision_dim"])
    pre.tensor("in", "image", img, "clip_image.bin")
    pre.tensor("out", "pixel_values", pixels, "clip_pixel_values.bin")
    w.case("image_encoder.onnx")
    w.tensor("in", "pixel_values", pixels, "clip_pixel_values.bin")
    w.tensor("out", "image_embeds", emb, "clip_image_embeds.bin")


def train_spiece(out):
    import sentencepiece as spm
    text = [
        "The protagonist is singing",
        "A middle-aged woman with short light brown hair, wearing pearl earrings and a blue blazer, is speaking.",
        "Her mouth is open mid-phrase, her expression is engaged and energetic, and the lighting is bright.",
        "The scene gives the impression she is singing with conviction and purpose.",
        "A man talks to the camera in a quiet room; the background is blurred.",
        "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，",
        "JPEG压缩残留，丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，",
        "手指融合，静止不动的画面，杂乱的背景，三条腿，背景人很多，倒着走",
    ] * 4
    d = os.path.join(out, "google", "umt5-xxl")
    os.makedirs(d, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write("\n".join(text) + "\n")
        corpus = f.name
    try:
        spm.SentencePieceTrainer.train(input=corpus, model_prefix=os.path.join(d, "spiece"), vocab_size=200,
                                       model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                       hard_vocab_limit=False, num_threads=1, character_coverage=1.0,
                                       minloglevel=2)
    finally:
        os.unlink(corpus)
    os.unlink(os.path.join(d, "spiece.vocab"))
    # Drop the run's temp paths from the trainer spec, so that a re-run writes the same bytes.
    from sentencepiece import sentencepiece_model_pb2 as pb
    path = os.path.join(d, "spiece.model")
    proto = pb.ModelProto()
    with open(path, "rb") as f:
        proto.ParseFromString(f.read())
    proto.trainer_spec.ClearField("input")
    proto.trainer_spec.model_prefix = "spiece"
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
    return spm.SentencePieceProcessor(model_file=path)


def reference_tokenize(sp, text, max_length):
    """HF T5TokenizerFast(padding='max_length', truncation=True, add_special_tokens=True) on umT5."""
    pieces = list(sp.encode(text))[:max_length - 1] + [sp.eos_id()]
    n = len(pieces)
    return pieces + [sp.pad_id()] * (max_length - n), [1] * n + [0] * (max_length - n)


def t5_goldens(t5mod, out, w, prompts=None):
    """The reduced umT5 encoder: its bf16 .pth and google/umt5-xxl/spiece.model in ``out``,
    text-encoder cases and ``tokens.json`` for ``prompts`` (name -> text; default: the committed
    fixture's four)."""
    sp = train_spiece(out)
    torch.manual_seed(4242)
    gen = torch.Generator().manual_seed(4242)
    model = t5mod.WanT5EncoderModel(vocab=256, dim=32, dim_attn=32, dim_ffn=80, num_heads=4, num_layers=2,
                                    num_buckets=32, shared_pos=False, dropout=0.0)
    _perturb_norms(model, gen)
    with torch.no_grad():
        # Token 250 (in the short case) gets a tiny embedding: its first RMSNorm then depends on eps.
        model.token_embedding.weight[250] *= 1e-3
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).float())  # the real file is bf16; the goldens use exactly those values
    model.eval()
    torch.save({k: v.to(torch.bfloat16) for k, v in model.state_dict().items()},
               os.path.join(out, "models_t5_umt5-xxl-enc-bf16.pth"))

    max_length = 512
    prompts = prompts or {
        "default": "The protagonist is singing",
        "chinese": "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作",
        "spaces": "  A  man\ttalks   to the camera. ",
        "long": " ".join(["singing woman with pearl earrings"] * 120),
    }
    tokens = {"max_length": max_length, "pad": sp.pad_id(), "eos": sp.eos_id(), "prompts": {}}
    for name, text in prompts.items():
        ids, mask = reference_tokenize(sp, text, max_length)
        ids_t = torch.tensor([ids])
        mask_t = torch.tensor([mask])
        with torch.no_grad():
            ctx = model(ids_t, attention_mask=mask_t)[0]
        seq_len = int(mask_t.gt(0).sum(dim=1)[0])
        trimmed = ctx[0][:seq_len]  # the pipeline's [u[:v] for u, v in zip(prompt_embeds, seq_lens)]
        f = None
        if name != "long":  # the long prompt checks truncation only (its embeddings would be 64 KB)
            f = "t5_%s_embeddings.bin" % name
            trimmed.contiguous().numpy().astype("<f4").tofile(os.path.join(out, f))
        tokens["prompts"][name] = {"text": text, "ids": ids[:seq_len], "length": seq_len, "embeddings": f,
                                   "shape": [seq_len, int(ctx.shape[-1])]}
        if name == "default":
            w.case("text_encoder.onnx")  # the reference's padded call: [1, 512] with the mask
            w.tensor("in", "input_ids", ids_t, "t5_ids_512.bin")
            w.tensor("in", "attention_mask", mask_t, "t5_mask_512.bin")
            w.tensor("out", "last_hidden_state", ctx, "t5_hidden_512.bin")
    # A short unpadded call (dynamic token axis) with a zero in the middle of the mask.
    ids = torch.tensor([[5, 17, 250, 3, 99, 1, 0]])
    mask = torch.tensor([[1, 1, 1, 0, 1, 1, 0]])
    with torch.no_grad():
        ctx = model(ids, attention_mask=mask)[0]
    w.case("text_encoder.onnx")
    w.tensor("in", "input_ids", ids, "t5_ids_7.bin")
    w.tensor("in", "attention_mask", mask, "t5_mask_7.bin")
    w.tensor("out", "last_hidden_state", ctx, "t5_hidden_7.bin")
    with open(os.path.join(out, "tokens.json"), "w", encoding="utf-8") as f:
        json.dump(tokens, f, ensure_ascii=False, indent=1)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: enc_goldens.py REF_CHECKOUT OUT_DIR")
    ref, out = argv[1], argv[2]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as stub_dir:
        clipmod, t5mod = import_reference(ref, stub_dir)
        w, pre = Writer(out), Writer(out)
        clip_goldens(clipmod, out, w, pre)
        t5_goldens(t5mod, out, w)
    for name, wr in (("cases.txt", w), ("preprocess.txt", pre)):
        with open(os.path.join(out, name), "w") as f:
            f.write("\n".join(wr.lines) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv)
