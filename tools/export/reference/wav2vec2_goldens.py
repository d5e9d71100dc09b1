#!/usr/bin/python3
"""Goldens for the wav2vec2 exporter from Hugging Face transformers' own ``modeling_wav2vec2.py``.

Usage: reference/wav2vec2_goldens.py REF OUT_DIR

REF: a transformers checkout (``src/transformers/...``), an unpacked package (``transformers/...``) or a
wheel file (``transformers-*.whl``). Only ``models/wav2vec2/{modeling,configuration}_wav2vec2.py`` are
taken from it, copied into a temp dir under a stub ``transformers`` package (the real one needs
huggingface_hub, tokenizers, safetensors ... which Debian's PyTorch 1.13 setup lacks): the stubs provide
ACT2FN (exact GELU etc.), a plain ``PreTrainedModel`` (nn.Module + config), the ModelOutput classes and
no-op decorators, so the reference classes run unmodified in eager mode. Nothing is committed from REF.

It instantiates ``Wav2Vec2ForCTC`` (what facebook/wav2vec2-base-960h is: every key under ``wav2vec2.``
plus ``lm_head``) at reduced size with the real conv kernels/strides and base-960h's switches
(``feat_extract_norm="group"``, post-LN encoder, weight-normed positional conv of even kernel), seeded
random weights, and writes in OUT_DIR:
  config.json, pytorch_model.bin (torch zip, as published), cases.txt + .bin files for OrtCheck:
  ``audio_encoder.onnx`` input_values [1, N] -> last_hidden_state [1, L, D] for a few N
(``Wav2Vec2Model.forward(...).last_hidden_state``, what StableAvatar's pipeline uses).
"""
import glob
import json
import os
import shutil
import sys
import tempfile
import zipfile

import numpy as np
import torch

REDUCED = {
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 48,
    "conv_dim": [16, 16, 16, 16, 16, 16, 24], "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2], "conv_bias": False, "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4, "feat_extract_norm": "group", "feat_extract_activation": "gelu",
    "hidden_act": "gelu", "do_stable_layer_norm": False, "layer_norm_eps": 1e-5, "vocab_size": 32,
    "hidden_dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.1, "feat_proj_dropout": 0.1,
    "final_dropout": 0.1, "layerdrop": 0.1, "apply_spec_augment": True, "mask_time_prob": 0.05,
}
CASES = (4000, 6123, 16000)

STUBS = {
    "transformers/__init__.py": "",
    "transformers/models/__init__.py": "",
    "transformers/models/wav2vec2/__init__.py": "",
    "transformers/activations.py": '''
import torch.nn.functional as F
from torch import nn
class _Fn(nn.Module):
    def __init__(self, f): super().__init__(); self.f = f
    def forward(self, x): return self.f(x)
_F = {"gelu": lambda: _Fn(F.gelu), "relu": lambda: _Fn(F.relu), "swish": lambda: _Fn(F.silu),
      "silu": lambda: _Fn(F.silu), "gelu_new": lambda: _Fn(lambda x: F.gelu(x, approximate="tanh"))}
class _Act(dict):
    def __getitem__(self, k): return _F[k]()
ACT2FN = _Act()
''',
    "transformers/integrations/__init__.py": "",
    "transformers/integrations/deepspeed.py": "def is_deepspeed_zero3_enabled():\n    return False\n",
    "transformers/integrations/fsdp.py": "def is_fsdp_managed_module(m):\n    return False\n",
    "transformers/modeling_attn_mask_utils.py": '''
def _prepare_4d_attention_mask(*a, **k): raise NotImplementedError("no attention mask in the goldens")
_prepare_4d_attention_mask_for_sdpa = _prepare_4d_attention_mask
''',
    "transformers/modeling_flash_attention_utils.py":
        "from typing import TypedDict\nclass FlashAttentionKwargs(TypedDict, total=False):\n    pass\n",
    "transformers/modeling_layers.py": "from torch import nn\nclass GradientCheckpointingLayer(nn.Module):\n    pass\n",
    "transformers/processing_utils.py": "from typing import Unpack\n",
    "transformers/modeling_outputs.py": '''
from .utils import ModelOutput
class BaseModelOutput(ModelOutput): pass
class CausalLMOutput(ModelOutput): pass
class MaskedLMOutput(ModelOutput): pass
class SequenceClassifierOutput(ModelOutput): pass
class TokenClassifierOutput(ModelOutput): pass
class Wav2Vec2BaseModelOutput(ModelOutput): pass
class XVectorOutput(ModelOutput): pass
''',
    "transformers/modeling_utils.py": '''
from torch import nn
ALL_ATTENTION_FUNCTIONS = {}
class PreTrainedModel(nn.Module):
    def __init__(self, config, *args, **kwargs):
        super().__init__()
        self.config = config
    def post_init(self):
        pass
''',
    "transformers/configuration_utils.py": '''
class PretrainedConfig:
    def __init__(self, **kwargs):
        self.output_attentions = False
        self.output_hidden_states = False
        self.use_return_dict = True
        self._attn_implementation = "eager"
        for k, v in kwargs.items():
            setattr(self, k, v)
''',
    "transformers/utils/__init__.py": '''
import logging as _logging
from collections import OrderedDict
class logging:
    get_logger = staticmethod(_logging.getLogger)
class ModelOutput(OrderedDict):
    def __init__(self, *args, **kwargs):
        super().__init__(**{k: v for k, v in kwargs.items() if v is not None})
    def __getattr__(self, k):
        return self.get(k)
    def __getitem__(self, k):
        return list(self.values())[k] if isinstance(k, int) else super().__getitem__(k)
    def to_tuple(self):
        return tuple(self.values())
def auto_docstring(obj=None, **kwargs):
    return (lambda o: o) if obj is None else obj
def cached_file(*a, **k): raise NotImplementedError
def check_torch_load_is_safe(): pass
def is_peft_available(): return False
def is_torch_flex_attn_available(): return False
def is_flash_attn_2_available(): return False
''',
    "safetensors/__init__.py": "",
    "safetensors/torch.py": "def load_file(*a, **k):\n    raise NotImplementedError\n",
}


def _reference_files(ref):
    names = ("modeling_wav2vec2.py", "configuration_wav2vec2.py")
    if os.path.isfile(ref) and ref.endswith(".whl"):
        with zipfile.ZipFile(ref) as z:
            return {n: z.read(f"transformers/models/wav2vec2/{n}").decode() for n in names}
    for base in (os.path.join(ref, "src", "transformers"), os.path.join(ref, "transformers"), ref):
        d = os.path.join(base, "models", "wav2vec2")
        if all(os.path.isfile(os.path.join(d, n)) for n in names):
            return {n: open(os.path.join(d, n), encoding="utf-8").read() for n in names}
    raise SystemExit(f"{ref}: no transformers/models/wav2vec2/modeling_wav2vec2.py found")


def import_reference(ref, tmp):
    for rel, text in STUBS.items():
        p = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
    for n, text in _reference_files(ref).items():
        with open(os.path.join(tmp, "transformers", "models", "wav2vec2", n), "w", encoding="utf-8") as f:
            f.write(text)
    sys.path.insert(0, tmp)
    import transformers.models.wav2vec2.configuration_wav2vec2 as C
    import transformers.models.wav2vec2.modeling_wav2vec2 as M
    return C, M


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight_g"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            elif "layer_norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def write_bin(path, t):
    a = t.detach().cpu().numpy()
    a = np.ascontiguousarray(a, dtype="<i8" if a.dtype.kind in "iu" else "<f4")
    with open(path, "wb") as f:
        f.write(a.tobytes())


def main(ref, out, cases=CASES):
    """Writes the reduced Wav2Vec2ForCTC checkpoint and its goldens for ``cases`` (sample counts)."""
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="w2v-ref-")
    try:
        C, M = import_reference(ref, tmp)
        config = C.Wav2Vec2Config(**REDUCED)
        model = M.Wav2Vec2ForCTC(config)
        randomise(model, 1234)
        model.eval()
        sd = model.state_dict()
        assert "wav2vec2.encoder.pos_conv_embed.conv.weight_g" in sd, sorted(sd)[:20]
        torch.save(sd, os.path.join(out, "pytorch_model.bin"))
        cfg = dict(REDUCED, architectures=["Wav2Vec2ForCTC"], model_type="wav2vec2")
        with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        for old in glob.glob(os.path.join(out, "*.bin")):
            if os.path.basename(old) != "pytorch_model.bin":
                os.remove(old)
        lines = []
        g = torch.Generator().manual_seed(99)
        for n in cases:
            x = torch.randn(1, n, generator=g) * 0.3 + 0.05 * torch.sin(torch.arange(n) / 7.0)
            x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)  # the processor's normalisation
            with torch.no_grad():
                y = model.wav2vec2(x, return_dict=False)[0]
            write_bin(os.path.join(out, f"w2v_{n}_in.bin"), x)
            write_bin(os.path.join(out, f"w2v_{n}_out.bin"), y)
            lines += ["case audio_encoder.onnx",
                      f"in input_values float32 1,{n} w2v_{n}_in.bin",
                      f"out last_hidden_state float32 {','.join(map(str, y.shape))} w2v_{n}_out.bin"]
            print(f"N={n}: last_hidden_state {tuple(y.shape)} max|y|={y.abs().max():.3f}")
        with open(os.path.join(out, "cases.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
