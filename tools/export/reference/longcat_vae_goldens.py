#!/usr/bin/python3
"""Goldens for LongCat-Video's VAE export, made by the REFERENCE ``AutoencoderKLWan`` at reduced size.

    longcat_vae_goldens.py REF_CHECKOUT OUT_DIR

REF_CHECKOUT is a LongCat-Video checkout (6b3f4b8); ``longcat_video/modules/autoencoder_kl_wan.py`` is
imported through longcat_stubs.py plus stand-ins for the diffusers pieces it imports (outputs as
dataclasses, ``DiagonalGaussianDistribution`` with ``mode()`` = mean, ``get_activation('silu')``). The
model is built by its own constructor at reduced width (base_dim 4, z_dim 16, dim_mult [1, 2, 4, 4],
2 residual blocks, temporal downsampling [False, True, True], Wan2.1's latents_mean/std), seeded
random weights. Cases, as the avatar pipeline calls it: ``encode`` of a 5-frame 32x48 clip, posterior
mode, ``normalize_latents``; ``decode`` of normalised latents after ``denormalize_latents``.

Written: ``config.json`` and ``diffusion_pytorch_model.safetensors`` (diffusers' key names, the
``vae`` folder's layout), ``cases.txt`` (``case vae_encoder.onnx``: video -> latent, for the whole-clip
encoder graph) and ``decode.txt`` (latents -> frames, the decode the streamed pair must reproduce).
"""
import json
import os
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import longcat_stubs  # noqa: E402
from a4jexport.checkpoint import write_safetensors  # noqa: E402
from a4jexport.stableavatar import vae as wan_vae  # noqa: E402

DIFFUSERS = {
    "diffusers/loaders/__init__.py": "class FromOriginalModelMixin:\n    pass\n",
    "diffusers/utils/__init__.py": "import logging as _l\n\n\nclass logging:\n    @staticmethod\n"
                                   "    def get_logger(n):\n        return _l.getLogger(n)\n",
    "diffusers/utils/accelerate_utils.py": "def apply_forward_hook(f):\n    return f\n",
    "diffusers/models/activations.py": "import torch.nn as nn\n\n\ndef get_activation(name):\n"
                                       "    return {'silu': nn.SiLU()}[name]\n",
    "diffusers/models/modeling_outputs.py": "from dataclasses import dataclass\n\n\n@dataclass\n"
                                            "class AutoencoderKLOutput:\n    latent_dist: object = None\n",
    "diffusers/models/autoencoders/__init__.py": "",
    "diffusers/models/autoencoders/vae.py": (
        "from dataclasses import dataclass\nimport torch\n\n\n@dataclass\nclass DecoderOutput:\n"
        "    sample: object = None\n\n\nclass DiagonalGaussianDistribution:\n"
        "    def __init__(self, parameters, deterministic=False):\n"
        "        self.mean, self.logvar = torch.chunk(parameters, 2, dim=1)\n\n    def mode(self):\n"
        "        return self.mean\n"),
}
CONFIG = dict(base_dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
              temperal_downsample=[False, True, True], latents_mean=wan_vae.LATENT_MEAN,
              latents_std=wan_vae.LATENT_STD)


def write_case(out, lines, tag, graph, inputs, outputs):
    lines.append(f"case {graph}")
    for kind, tensors in (("in", inputs), ("out", outputs)):
        for name, t in tensors.items():
            a = t.detach().contiguous().float().numpy()
            fname = f"{tag}_{kind}_{name}.bin"
            with open(os.path.join(out, fname), "wb") as f:
                f.write(a.astype("<f4").tobytes())
            lines.append(f"{kind} {name} float32 {','.join(str(d) for d in a.shape)} {fname}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    checkout, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    longcat_stubs.STUBS.update(DIFFUSERS)
    longcat_stubs.COPIED.append("longcat_video/modules/autoencoder_kl_wan.py")
    with tempfile.TemporaryDirectory(prefix="longcat-ref-") as tmp:
        longcat_stubs.import_reference(checkout, tmp)
        import importlib
        ak = importlib.import_module("longcat_video.modules.autoencoder_kl_wan")
        model = ak.AutoencoderKLWan(**CONFIG).eval()
        g = torch.Generator().manual_seed(31)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if p.dim() >= 2:
                    p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
                elif name.endswith("gamma"):
                    p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.05 * torch.randn(p.shape, generator=g))
            for name, p in model.named_parameters():  # gammas are [C, 1, 1(, 1)]
                if name.endswith("gamma"):
                    p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
        write_safetensors(os.path.join(out, "diffusion_pytorch_model.safetensors"), model.state_dict())
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(dict(CONFIG, _class_name="AutoencoderKLWan"), f, indent=2)
        mean = torch.tensor(CONFIG["latents_mean"]).view(1, 16, 1, 1, 1)
        inv_std = 1.0 / torch.tensor(CONFIG["latents_std"]).view(1, 16, 1, 1, 1)
        video = torch.rand(1, 3, 5, 32, 48, generator=g) * 2 - 1
        with torch.no_grad():
            model.clear_cache()
            mu = model.encode(video).latent_dist.mode()
            latent = (mu - mean) * inv_std
            z = torch.randn(1, 16, 3, 4, 6, generator=g)
            model.clear_cache()
            frames = model.decode(z / inv_std + mean).sample
        lines = []
        write_case(out, lines, "enc", "vae_encoder.onnx", {"video": video}, {"latent": latent})
        with open(os.path.join(out, "cases.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        lines = []
        write_case(out, lines, "dec", "decode", {"latents": z}, {"frames": frames})
        with open(os.path.join(out, "decode.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("latent", tuple(latent.shape), float(latent.abs().max()), "frames", tuple(frames.shape),
              float(frames.abs().max()))


if __name__ == "__main__":
    main()
