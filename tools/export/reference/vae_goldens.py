#!/usr/bin/python3
"""Goldens for the VAE exporter, made by the REFERENCE Wan2.1 VAE at reduced size.

Usage: /usr/bin/python3 tools/export/reference/vae_goldens.py REF_CHECKOUT OUT_DIR [--dim 4]

REF_CHECKOUT is a StableAvatar checkout (46c0492): its ``wan/models/wan_vae.py`` (``AutoencoderKLWan``,
the class StableAvatar's inference uses) is imported as a single file, with minimal stand-ins for the
packages it imports that are not installed here (created at run time in a temp dir, never committed):

* ``diffusers``: ``ModelMixin`` = ``nn.Module``; ``ConfigMixin``/``register_to_config`` store the
  constructor's arguments as ``self.config``; ``DiagonalGaussianDistribution`` splits the parameters
  in mean / logvar on dim 1 and ``mode()`` returns the mean (as diffusers does);
  ``apply_forward_hook`` is the identity; the output classes are plain records.
* ``einops.rearrange``: the two patterns the file uses, ``b c t h w -> (b t) c h w`` and back.
* ``torch.nn.functional.scaled_dot_product_attention`` (torch >= 2.0; this is torch 1.13):
  ``softmax(q k^T / sqrt(d)) v`` without mask or dropout, the call's only use.

If REF_CHECKOUT/../Wan2.1 (or ``--wan21 DIR``) holds Wan2.1's ``wan/modules/vae.py``, its ``WanVAE_``
is run on the same weights too and must agree (it is the same network).

The reduced model keeps the real structure (4 levels, 2 residual blocks per encoder level and 3 per
decoder level, temporal down-sampling [False, True, True], attention in the middle, z_dim 16 with
the real normalisation constants); only the base width ``dim`` is small. Every parameter is seeded
random (the reference zero-initialises the attention projection, which would hide it).

Writes OUT_DIR/Wan2.1_VAE.pth (the state dict under the real key names, torch zip format),
OUT_DIR/real_shapes.json (key -> shape of the FULL-size model, dim 96: to check the cache list the
exporter derives at real size) and OUT_DIR/cases.txt + *.bin (OrtCheck format):

* vae_encoder.onnx: a 9-frame clip at 16x40 and a 1-frame clip at 16x24 -> the reference's encode
  (``.mode()``)
* vae_encoder_first.onnx / vae_encoder_step.onnx: a 9-frame clip at 16x16, chunk by chunk, with the
  reference's ``feat_cache`` after each chunk made explicit (below) as cache outputs / next inputs
* vae_decoder_first.onnx / vae_decoder.onnx: 3 latent frames at 2x3, frame by frame, likewise; the
  frames are slices of the reference's whole ``decode`` (clamped), so chaining the graphs is checked
  against the reference's own decode loop.

and OUT_DIR/variant/: a structurally different reduced model (1 residual block per level, temporal
down-sampling [True, False, True], width 2) with its encode and decode, to check that the structure, not just the widths, is read from the checkpoint.

Explicit caches: reference cache slot i (in ``feat_idx`` order) becomes input/output i. A tensor with
fewer frames than the slot's depth (2 for the causal convs, 1 for the encoder's temporal down-sampling,
the most frames the slot ever holds) is left-padded with zero frames; ``'Rep'`` becomes zeros.
"""
import argparse
import importlib.util
import json
import math
import os
import sys
import tempfile
import textwrap

import numpy as np
import torch
import torch.nn.functional as F

STUBS = {
    'diffusers/__init__.py': '',
    'diffusers/configuration_utils.py': '''
        import functools, inspect, types
        class ConfigMixin:
            pass
        def register_to_config(init):
            @functools.wraps(init)
            def wrapper(self, *args, **kwargs):
                init(self, *args, **kwargs)
                bound = inspect.signature(init).bind(self, *args, **kwargs)
                bound.apply_defaults()
                self.config = types.SimpleNamespace(**{k: v for k, v in bound.arguments.items() if k != 'self'})
            return wrapper
        ''',
    'diffusers/loaders/__init__.py': '',
    'diffusers/loaders/single_file_model.py': 'class FromOriginalModelMixin:\n    pass\n',
    'diffusers/models/__init__.py': '',
    'diffusers/models/autoencoders/__init__.py': '',
    'diffusers/models/autoencoders/vae.py': '''
        import torch
        class DecoderOutput:  # diffusers' BaseOutput: attribute or tuple index
            def __init__(self, sample):
                self.sample = sample
            def __getitem__(self, i):
                return (self.sample,)[i]
        class DiagonalGaussianDistribution:
            def __init__(self, parameters, deterministic=False):
                self.parameters = parameters
                self.mean, self.logvar = torch.chunk(parameters, 2, dim=1)
                self.logvar = torch.clamp(self.logvar, -30.0, 20.0)
            def mode(self):
                return self.mean
        ''',
    'diffusers/models/modeling_outputs.py': '''
        class AutoencoderKLOutput:  # diffusers' BaseOutput: attribute or tuple index
            def __init__(self, latent_dist):
                self.latent_dist = latent_dist
            def __getitem__(self, i):
                return (self.latent_dist,)[i]
        ''',
    'diffusers/models/modeling_utils.py': 'import torch\nclass ModelMixin(torch.nn.Module):\n    pass\n',
    'diffusers/utils/__init__.py': '',
    'diffusers/utils/accelerate_utils.py': 'def apply_forward_hook(f):\n    return f\n',
    'einops/__init__.py': '''
        def rearrange(x, pattern, **axes):
            p = ' '.join(pattern.split())
            if p == 'b c t h w -> (b t) c h w':
                b, c, t, h, w = x.shape
                return x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
            if p in ('(b t) c h w -> b c t h w', '(b t) c h w-> b c t h w'):
                t = axes['t']
                bt, c, h, w = x.shape
                return x.reshape(bt // t, t, c, h, w).permute(0, 2, 1, 3, 4)
            raise NotImplementedError('einops stub: ' + pattern)
        ''',
}


def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
    assert attn_mask is None and dropout_p == 0.0 and not is_causal
    scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    return torch.matmul(torch.softmax(scores, dim=-1), v)


def import_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def install_stubs():
    tmp = tempfile.mkdtemp(prefix='vae_ref_stubs_')
    for rel, text in STUBS.items():
        path = os.path.join(tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text))
    sys.path.insert(0, tmp)
    if not hasattr(F, 'scaled_dot_product_attention'):
        F.scaled_dot_product_attention = sdpa


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if name.endswith('gamma'):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith('bias'):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                gain = 0.8 if name.startswith('decoder.head') else 1.0
                p.copy_(gain * torch.randn(p.shape, generator=g) / math.sqrt(fan_in))


class Recorder:
    """Wraps encoder/decoder forward: after each call, a snapshot of the feat_cache list."""

    def __init__(self, module):
        self.snapshots = []
        inner = module.forward

        def forward(x, feat_cache=None, feat_idx=[0]):
            out = inner(x, feat_cache=feat_cache, feat_idx=feat_idx)
            used = feat_idx[0]
            self.snapshots.append([c if isinstance(c, str) else c.clone() for c in feat_cache[:used]])
            return out
        module.forward = forward


def explicit(snapshots):
    """The recorded caches as fixed-depth tensors: list (per call) of lists (per slot)."""
    n = len(snapshots[-1])
    assert all(len(s) == n for s in snapshots), [len(s) for s in snapshots]
    shapes, depth = [], []
    for i in range(n):
        ts = [s[i] for s in snapshots if not isinstance(s[i], str)]
        depth.append(max(t.shape[2] for t in ts))
        shapes.append(ts[-1].shape)
    out = []
    for s in snapshots:
        row = []
        for i, c in enumerate(s):
            shape = list(shapes[i])
            shape[2] = depth[i]
            if isinstance(c, str):
                assert c == 'Rep'
                row.append(torch.zeros(shape))
            else:
                pad = depth[i] - c.shape[2]
                row.append(torch.cat([torch.zeros(shape[:2] + [pad] + shape[3:]), c], 2) if pad else c)
        out.append(row)
    return out, depth


class Cases:
    def __init__(self, out):
        self.out = out
        self.lines = []

    def tensor(self, fname, t):
        a = np.ascontiguousarray(t.detach().numpy().astype('<f4'))
        a.tofile(os.path.join(self.out, fname))
        return f"float32 {','.join(str(d) for d in a.shape)} {fname}"

    def case(self, graph, ins, outs):
        self.lines.append(f'case {graph}')
        for name, (fname, t) in ins:
            self.lines.append(f'in {name} ' + self.tensor(fname, t))
        for name, (fname, t) in outs:
            self.lines.append(f'out {name} ' + self.tensor(fname, t))

    def write(self):
        with open(os.path.join(self.out, 'cases.txt'), 'w') as f:
            f.write('\n'.join(self.lines) + '\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('ref')
    ap.add_argument('out')
    ap.add_argument('--dim', type=int, default=4)
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--wan21', default=None)
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    install_stubs()
    ref = import_file('stableavatar_wan_vae', os.path.join(a.ref, 'wan', 'models', 'wan_vae.py'))
    os.makedirs(a.out, exist_ok=True)

    # full-size key shapes (dim 96, the published checkpoint's): for the cache-list test
    full = ref._video_vae(z_dim=16)
    with open(os.path.join(a.out, 'real_shapes.json'), 'w') as f:
        json.dump({k: list(v.shape) for k, v in full.state_dict().items()}, f, indent=0, sort_keys=True)
    del full

    make = ref._video_vae
    ref._video_vae = lambda z_dim=None, **kw: make(z_dim=z_dim, dim=a.dim, **kw)
    vae = ref.AutoencoderKLWan().eval()
    randomise(vae.model, a.seed)
    sd = vae.model.state_dict()
    torch.save(sd, os.path.join(a.out, 'Wan2.1_VAE.pth'))

    g = torch.Generator().manual_seed(a.seed + 1)
    cases = Cases(a.out)

    # whole-clip encode, 9 frames at 16x40
    video = torch.rand(1, 3, 9, 16, 40, generator=g) * 2 - 1
    lat = vae.encode(video)[0].mode()
    cases.case('vae_encoder.onnx', [('video', ('enc_video.bin', video))], [('latent', ('enc_latent.bin', lat))])
    # a single frame (an image): the encoder's temporal down-sampling has nothing to convolve
    video = torch.rand(1, 3, 1, 16, 24, generator=g) * 2 - 1
    lat = vae.encode(video)[0].mode()
    cases.case('vae_encoder.onnx', [('video', ('enc1_video.bin', video))], [('latent', ('enc1_latent.bin', lat))])

    # chunked encode at 16x16 with the caches recorded after each chunk
    video = torch.rand(1, 3, 9, 16, 16, generator=g) * 2 - 1
    rec = Recorder(vae.model.encoder)
    lat_s = vae.encode(video)[0].mode()
    caches, depth = explicit(rec.snapshots)
    print('encoder caches:', len(depth), 'depths', depth)
    chunks = [video[:, :, :1], video[:, :, 1:5], video[:, :, 5:9]]
    for i, chunk in enumerate(chunks):
        ins = [('video', (f'encs{i}_video.bin', chunk))]
        outs = [('latent', (f'encs{i}_latent.bin', lat_s[:, :, i:i + 1]))]
        if i:
            ins += [(f'cache_in_{j}', (f'encs_cache{i - 1}_{j}.bin', c)) for j, c in enumerate(caches[i - 1])]
        if i < len(chunks) - 1:
            outs += [(f'cache_out_{j}', (f'encs_cache{i}_{j}.bin', c)) for j, c in enumerate(caches[i])]
        cases.case('vae_encoder_first.onnx' if i == 0 else 'vae_encoder_step.onnx', ins, outs)

    # decode of 3 latent frames at 2x3 with the caches recorded after each frame
    z = torch.randn(1, 16, 3, 2, 3, generator=g)
    rec = Recorder(vae.model.decoder)
    frames = vae.decode(z).sample
    caches, depth = explicit(rec.snapshots)
    print('decoder caches:', len(depth), 'depths', depth, 'clamped fraction',
          float((frames.abs() >= 1).float().mean()))
    spans = [(0, 1), (1, 5), (5, 9)]
    for i, (s, e) in enumerate(spans):
        ins = [('latent', (f'dec{i}_latent.bin', z[:, :, i:i + 1]))]
        outs = [('frames', (f'dec{i}_frames.bin', frames[:, :, s:e]))]
        if i:
            ins += [(f'cache_in_{j}', (f'dec_cache{i - 1}_{j}.bin', c)) for j, c in enumerate(caches[i - 1])]
        if i < len(spans) - 1:
            outs += [(f'cache_out_{j}', (f'dec_cache{i}_{j}.bin', c)) for j, c in enumerate(caches[i])]
        cases.case('vae_decoder_first.onnx' if i == 0 else 'vae_decoder.onnx', ins, outs)
    cases.write()

    # a structural variant: 1 residual block per level, temporal down-sampling [True, False, True],
    # base width 2 (attention inside the levels, attn_scales, cannot run in the reference's cached
    # encode/decode: it passes the caches to every block). Only torch goldens (variant/*.bin: whole
    # encode of 5 frames at 8x16, decode of 3 latent frames).
    ref._video_vae = lambda z_dim=None, **kw: make(z_dim=z_dim, dim=2, num_res_blocks=1,
                                                   temperal_downsample=[True, False, True], **kw)
    var = ref.AutoencoderKLWan().eval()
    randomise(var.model, a.seed + 7)
    vdir = os.path.join(a.out, 'variant')
    os.makedirs(vdir, exist_ok=True)
    torch.save(var.model.state_dict(), os.path.join(vdir, 'Wan2.1_VAE.pth'))
    vcases = Cases(vdir)
    vvideo = torch.rand(1, 3, 5, 8, 16, generator=g) * 2 - 1
    vcases.tensor('video.bin', vvideo)
    vcases.tensor('latent.bin', var.encode(vvideo)[0].mode())
    vz = torch.randn(1, 16, 3, 1, 2, generator=g)
    vcases.tensor('latents.bin', vz)
    vcases.tensor('frames.bin', var.decode(vz).sample)

    # Wan2.1's own module on the same weights must agree (same network; Wan2.1 returns mu only)
    wan21 = a.wan21 or os.path.join(os.path.dirname(os.path.abspath(a.ref)), 'Wan2.1')
    path = os.path.join(wan21, 'wan', 'modules', 'vae.py')
    if os.path.exists(path):
        w = import_file('wan21_vae', path)
        m = w.WanVAE_(dim=a.dim, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                      temperal_downsample=[False, True, True]).eval()
        m.load_state_dict(sd)
        d1 = (m.encode(video, vae.scale) - lat_s).abs().max().item()
        d2 = (m.decode(z, vae.scale).clamp(-1, 1) - frames).abs().max().item()
        print(f'Wan2.1 WanVAE_ vs StableAvatar AutoencoderKLWan: encode {d1:.2e}, decode {d2:.2e}')
        assert d1 < 1e-5 and d2 < 1e-5
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(a.out) for f in fs)
    print(f'wrote {a.out}: {total / 1e6:.2f} MB')


if __name__ == '__main__':
    main()
