#!/usr/bin/python3
"""What a DeepCache step costs against a full UNet step, measured on the exporter's UNet.

    latentsync_deepcache_cost.py LATENTSYNC DIFFUSERS [--width-scale S] [--frames F] [--latent L]

Builds the REFERENCE UNet3DConditionModel from stage2.yaml's model section with every width
multiplied by S (default 0.4: 206 M parameters, 4.0 GB peak RSS with the reference model, the
converted one and the activations; the real widths 320/640/1280/1280 would not fit this shared
machine), random weights, converts it with ``a4jexport.latentsync.unet.build``
and times (torch, CPU, float32, median of 3) a full forward and the DeepCache shallow step on one
guided chunk (B = 2, F frames, L x L latents: 1.5 has 32 x 32). Also prints the multiply-accumulate
counts of the convolutions, linear layers and attention products of both paths (counted by forward
hooks on the exporter's modules), which do not depend on the machine: the ratio at S = 1 follows
from them (convs and linears scale with S^2, the attention products with S).
"""
import argparse
import math
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "reference"))

import latentsync_goldens as lg  # noqa: E402
from a4jexport.latentsync import unet as U  # noqa: E402
from a4jexport.stableavatar import dit as D  # noqa: E402


def macs(model, fn):
    """(conv+linear MACs, attention-product MACs) of one call of ``fn``."""
    counts = {"dense": 0, "attn": 0}
    hooks = []
    for m in model.modules():
        if isinstance(m, (U.Conv2d,)):
            hooks.append(m.register_forward_hook(lambda mod, i, o: counts.__setitem__(
                "dense", counts["dense"] + o.numel() * mod.in_channels * mod.weight.shape[2] * mod.weight.shape[3])))
        elif isinstance(m, D.Linear):
            hooks.append(m.register_forward_hook(lambda mod, i, o: counts.__setitem__(
                "dense", counts["dense"] + o.numel() * mod.wshape[1])))
    orig = D._plain_attention

    def counting(q, k, v, heads):
        n, s, dim = q.shape
        counts["attn"] += 2 * n * s * k.shape[1] * dim
        return orig(q, k, v, heads)
    D._plain_attention = counting
    try:
        with torch.no_grad():
            fn()
    finally:
        D._plain_attention = orig
        for h in hooks:
            h.remove()
    return counts["dense"], counts["attn"]


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("latentsync")
    ap.add_argument("diffusers")
    ap.add_argument("--width-scale", type=float, default=0.4)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--latent", type=int, default=32)
    a = ap.parse_args(argv)
    torch.set_grad_enabled(False)
    ns = lg.diffusers_namespace(a.diffusers)
    import tempfile
    tmp = tempfile.mkdtemp(prefix="lsref-")
    lg.stub_packages(tmp, a.latentsync, ns)
    from latentsync.models.unet import UNet3DConditionModel
    cfg = dict(U.CONFIG)
    cfg["block_out_channels"] = [int(round(c * a.width_scale / 32)) * 32 for c in U.CONFIG["block_out_channels"]]
    ref = UNet3DConditionModel.from_config(cfg).eval()
    lg.randomize(ref, 1, fp16=False)
    sd = ref.state_dict()
    del ref
    model = U.build(sd)
    del sd
    n = sum(p.numel() for p in model.parameters())
    b, f, l = 2, a.frames, a.latent
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(b, 13, f, l, l, generator=g)
    audio = torch.randn(b, f, 50, model.audio_dim, generator=g)
    t = torch.tensor([501.0])
    _, cache = model(sample, t, audio, with_cache=True)
    full = lambda: model(sample, t, audio)                 # noqa: E731
    shallow = lambda: model.shallow(sample, t, audio, cache)  # noqa: E731
    mf, ms = macs(model, full), macs(model, shallow)

    def median(fn):
        ts = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)
    tf, tsh = median(full), median(shallow)
    s = a.width_scale
    real_full = mf[0] / s ** 2 + mf[1] / s
    real_shallow = ms[0] / s ** 2 + ms[1] / s
    print(f"widths {cfg['block_out_channels']}, {n / 1e6:.1f} M parameters, B={b} F={f} latents {l}x{l}, "
          f"{torch.get_num_threads()} threads")
    print(f"full step:    {tf:.2f} s, {mf[0] / 1e9:.1f} G dense MACs + {mf[1] / 1e9:.1f} G attention MACs")
    print(f"shallow step: {tsh:.2f} s, {ms[0] / 1e9:.1f} G dense MACs + {ms[1] / 1e9:.1f} G attention MACs")
    print(f"measured time ratio {tsh / tf:.3f}; MAC ratio at this size {sum(ms) / sum(mf):.3f}, "
          f"at the real widths {real_shallow / real_full:.3f}")
    steps, k = 20, 3
    nfull = math.ceil(steps / k)
    print(f"{steps} steps at interval {k}: {nfull} full + {steps - nfull} shallow = "
          f"{nfull + (steps - nfull) * real_shallow / real_full:.1f} full-step equivalents (by MACs at the real widths)")


if __name__ == "__main__":
    main(sys.argv[1:])
