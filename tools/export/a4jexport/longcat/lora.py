"""LongCat-Video's LoRA (``modules/lora_utils.py``, ``LongCatVideoAvatarTransformer3DModel.load_lora``
/ ``enable_loras``) merged into the base weights, lazily: v1.5's distillation LoRA
``lora/dmd_lora.safetensors`` (rank 128, alpha 64; the demo loads it with multiplier 1.0).

The reference adds ``lora_up(lora_down(x)) * multiplier * alpha_scale`` to a Linear's output. Keys:
``lora___lorahyphen___<module path with '.' as ___lorahyphen___>.lora_down.weight [n*r, in]``, and
``.lora_up.weight [out, r]`` or, for a layer whose output is split (``LoRAUPParallel``, e.g. a fused
qkv), ``.lora_up.blocks.<i>.weight [out/n, r]`` applied to the i-th r-wide chunk of the down output;
``.alpha_scale`` (a buffer the reference loads with ``strict=True``, so it overrides ``alpha / rank``).
The merge is ``W + multiplier * alpha_scale * U @ D`` (per block: rows ``i*out/n..`` get
``U_i @ D[i*r:(i+1)*r]``), in float32, computed when the weight is read: one tensor at a time.
Modules the reference would skip (not a Linear weight of the model) are skipped.
"""
from collections.abc import Mapping

import torch

PREFIX = "lora___lorahyphen___"
HYPHEN = "___lorahyphen___"


def module_of(lora_name):
    return lora_name.replace(PREFIX, "").replace(HYPHEN, ".")


class LoraMerged(Mapping):
    """``base`` (Mapping key -> tensor) with the LoRA ``lora`` (Mapping) merged on access."""

    def __init__(self, base, lora, multiplier=1.0, rank=128, alpha=64.0):
        self.base = base
        self.lora = lora
        self.multiplier = float(multiplier)
        self.targets = {}
        keys = list(lora.keys())
        for k in keys:
            if not k.endswith(".lora_down.weight"):
                continue
            name = k[: -len(".lora_down.weight")]
            target = module_of(name) + ".weight"
            if target not in base:
                continue  # the reference skips modules it cannot find
            blocks = sorted((kk for kk in keys if kk.startswith(name + ".lora_up.blocks.")),
                            key=lambda s: int(s[len(name) + len(".lora_up.blocks."):].split(".")[0]))
            up = blocks or [name + ".lora_up.weight"]
            if not blocks and up[0] not in lora:
                raise KeyError(f"LoRA {name}: neither lora_up.weight nor lora_up.blocks.* in the file")
            scale_key = name + ".alpha_scale"
            self.targets[target] = (k, up, scale_key if scale_key in lora else None, rank, alpha)

    def merged_keys(self):
        return sorted(self.targets)

    def __getitem__(self, key):
        w = self.base[key]
        if key not in self.targets:
            return w
        down_key, ups, scale_key, rank, alpha = self.targets[key]
        down = self.lora[down_key].float()
        if scale_key is not None:
            scale = float(torch.as_tensor(self.lora[scale_key]).float().reshape(-1)[0])
        else:
            scale = (alpha if alpha else rank) / rank
        s = self.multiplier * scale
        w = w.float().clone()
        if len(ups) == 1:
            w += s * (self.lora[ups[0]].float() @ down)
        else:
            n = len(ups)
            r = down.shape[0] // n
            rows = w.shape[0] // n
            for i, uk in enumerate(ups):
                w[i * rows:(i + 1) * rows] += s * (self.lora[uk].float() @ down[i * r:(i + 1) * r])
        return w

    def __iter__(self):
        return iter(self.base.keys())

    def __len__(self):
        return len(self.base.keys())

    def __contains__(self, key):
        return key in self.base

    def keys(self):
        return list(self.base.keys())

    def shape(self, key):
        return self.base.shape(key) if hasattr(self.base, "shape") else tuple(self.base[key].shape)
