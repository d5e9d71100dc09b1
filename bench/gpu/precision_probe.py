#!/usr/bin/python3
"""Which StableAvatar graphs are safe in FP16: a CPU measurement on the reduced real architecture.

    bench/gpu/precision_probe.py [CHECKPOINTS]     (default: tools/export/tests/fixtures/e2e)

Builds every graph the exporter writes (tools/export/a4jexport, the same builders and the same
example inputs it traces with, float inputs replaced by seeded N(0,1)) from a checkpoint set in the
published layout, runs it in float32 and twice more with every leaf module's output rounded to the
narrow type (FP16, then BF16) -- what a TensorRT engine that keeps activations in that type does
between layers (weights and accumulation stay float32 here, so this measures range and activation
rounding, not kernel differences). Per graph it prints the largest |activation| of the float32 run,
the number of activations past FP16's largest finite value (65504) and the relative L2 error of the
graph's first output under each emulation.

The default checkpoint set is the reduced one the exporter's tests use (random weights with the real
module structure): real checkpoints have other activation statistics, so read the numbers as "where
the architecture puts large values", and rerun with the published checkpoints before trusting them.
Needs Debian's python3-torch and python3-onnx (the exporter's own requirements), < 1 GB of RAM.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools", "export"))

from a4jexport.checkpoint import open_checkpoint  # noqa: E402
from a4jexport.stableavatar import clip, dit, umt5, vae, wav2vec2  # noqa: E402

FP16_MAX = 65504.0


def graphs(ckpt):
    pm = os.path.join(ckpt, "Wan2.1-Fun-V1.1-1.3B-InP")
    w2v = os.path.join(ckpt, "wav2vec2-base-960h")
    with open(os.path.join(w2v, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    out = []
    sd = open_checkpoint(os.path.join(w2v, "pytorch_model.bin"))
    out += wav2vec2.graphs(wav2vec2.build(sd, config=cfg))
    name = "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"
    out += clip.graphs(clip.build(open_checkpoint(os.path.join(pm, name)), source=name))
    out += vae.graphs(vae.build(open_checkpoint(os.path.join(pm, "Wan2.1_VAE.pth")), source="Wan2.1_VAE.pth"))
    name = "models_t5_umt5-xxl-enc-bf16.pth"
    out += umt5.graphs(umt5.build(open_checkpoint(os.path.join(pm, name)), source=name))
    tr = open_checkpoint(os.path.join(ckpt, "StableAvatar-1.3B", "transformer3d-square.pt"))
    base = open_checkpoint(os.path.join(pm, "diffusion_pytorch_model.safetensors"))
    out += dit.graphs(dit.build(base, config=os.path.join(pm, "config.json"), transformer=tr))
    return out


def seeded(args):
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(a.shape, generator=g) if torch.is_tensor(a) and a.is_floating_point() else a
                 for a in args)


def first(out):
    while isinstance(out, (tuple, list)):
        out = out[0]
    return out


def run(module, args, narrow=None):
    """Runs with every leaf's float outputs rounded to ``narrow`` (None: float32); returns (output, max|a|, n>fp16)."""
    stats = {"max": 0.0, "over": 0}

    def hook(_m, _i, o):
        def fix(t):
            if torch.is_tensor(t) and t.is_floating_point():
                a = t.detach().abs()
                finite = a[torch.isfinite(a)]
                if finite.numel():
                    stats["max"] = max(stats["max"], float(finite.max()))
                stats["over"] += int((a > FP16_MAX).sum())
                return t.to(narrow).to(t.dtype) if narrow is not None else t
            if isinstance(t, (tuple, list)):
                return type(t)(fix(x) for x in t)
            return t
        return fix(o)

    handles = [m.register_forward_hook(hook) for m in module.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            out = first(module(*args))
    finally:
        for h in handles:
            h.remove()
    return out, stats["max"], stats["over"]


def rel(a, b):
    d = (a.double() - b.double())
    if not torch.isfinite(d).all():
        return float("inf")
    return float(d.norm() / max(b.double().norm(), 1e-30))


def main(argv):
    ckpt = argv[1] if len(argv) > 1 else os.path.join(ROOT, "tools", "export", "tests", "fixtures", "e2e")
    print(f"{'graph':28} {'max |activation|':>17} {'> 65504':>8} {'fp16 rel err':>13} {'bf16 rel err':>13}")
    for g in graphs(ckpt):
        args = seeded(g.args)
        ref, peak, over = run(g.module, args)
        h, _, _ = run(g.module, args, torch.float16)
        b, _, _ = run(g.module, args, torch.bfloat16)
        print(f"{g.file:28} {peak:17.4g} {over:8d} {rel(h, ref):13.3g} {rel(b, ref):13.3g}")


if __name__ == "__main__":
    main(sys.argv)
