"""Wan2.1 VAE (``Wan2.1_VAE.pth``) in plain PyTorch, with its causal caches made explicit.

Reference: StableAvatar ``wan/models/wan_vae.py`` (``AutoencoderKLWan``, used with ``.mode()`` for
encoding and ``.decode(...).clamp_(-1, 1)`` for decoding) and Wan2.1 ``wan/modules/vae.py``; both
share the network and the checkpoint's key names (``encoder.*``, ``conv1.*``, ``conv2.*``,
``decoder.*``; StableAvatar's wrapper adds a ``model.`` prefix when it loads, which is accepted too).

Every dimension is read from the tensor shapes: the base width (``encoder.conv1``), ``z_dim``
(``conv2``), the order and kind of the blocks under ``encoder.downsamples.*`` /
``decoder.upsamples.*`` (residual block, attention block, 2-D or 3-D resample: a resample with a
``time_conv`` is temporal), so a reduced checkpoint with the real key names builds a reduced model.

How the reference's ``feat_cache`` maps to fixed-depth explicit caches
------------------------------------------------------------------------
The reference runs the decoder one latent frame at a time (the encoder on chunks of 1, 4, 4, ...
frames) and keeps, per causal convolution, the last ``CACHE_T = 2`` input frames of the previous
call (``feat_cache``):

* ``CausalConv3d(x, cache)`` pads the time axis in front with ``2 - len(cache)`` zero frames and
  prepends the cache. So a cache with fewer than 2 frames (the first call stores only the 1 frame it
  saw) is the same as that cache left-padded with zero frames to depth 2, and no cache is a depth-2
  zero cache. Here every conv cache is ``[1, C, 2, s*h, s*w]`` and the conv input is always
  ``cat(cache, x)`` (the first call uses zeros).
* The new cache is ``x[-2:]``, or, when ``x`` has one frame, ``cat(old_cache[-1], x)``: in both cases
  the last 2 frames of ``cat(cache, x)`` with the depth-2 cache, which is what is stored here.
* ``Resample('upsample3d')`` (the decoder's temporal x2): on the first latent frame it stores
  ``'Rep'`` and skips ``time_conv`` (frame 0 yields 1 pixel frame). On the next call ``'Rep'`` means
  ``time_conv`` with its own zero padding (2 zero frames) and the stored cache becomes
  ``cat(zeros, x)``; afterwards it behaves like any conv cache. ``'Rep'`` is therefore a depth-2
  zero cache, and the first-frame graph outputs zeros for these caches. The first latent frame is a
  different graph (no temporal upsampling), every later frame the same step graph.
* ``Resample('downsample3d')`` (the encoder's temporal /2, stride 2, no padding) passes the first
  chunk through, storing it, and later convolves ``cat(cache[-1:], x)``: a depth-1 cache.

The whole-clip encoder (``vae-encoder``) computes the same thing in one pass: causal convs with 2
zero frames in front, ``downsample3d`` = ``cat(x[:1], time_conv(x))`` (frame 0 passed through, then
windows starting at frames 0, 2, 4, ... exactly as the chunked form sees them). The streamed
encoder (``vae-encoder-first`` + ``vae-encoder-step``) is the reference's chunking with the caches
as graph inputs/outputs.

Graphs (float32, opset 17, h = H/8, w = W/8; latents are the normalised ones,
``(mu - mean) / std``)::

  vae-encoder        vae_encoder.onnx        video [1,3,Fp,H,W] (Fp = 4n+1) -> latent [1,16,n+1,h,w]
  vae-encoder-first  vae_encoder_first.onnx  video [1,3,1,H,W]  -> latent [1,16,1,h,w], cache_out_i
  vae-encoder-step   vae_encoder_step.onnx   video [1,3,4,H,W], cache_in_i -> latent [1,16,1,h,w], cache_out_i
  vae-decoder-first  vae_decoder_first.onnx  latent [1,16,1,h,w] -> frames [1,3,1,H,W], cache_out_i
  vae-decoder        vae_decoder.onnx        latent [1,16,1,h,w], cache_in_i -> frames [1,3,4,H,W], cache_out_i

Frames are clamped to [-1, 1] as the reference's ``decode`` does. Each cache graph's manifest entry
carries ``caches``: ``[{"name": "cache_in_i", "output": "cache_out_i", "channels": C, "frames": T,
"scale": s}]`` in graph order, the cache being ``[1, C, T, s*h, s*w]``. The first-frame graphs
output the same caches (their ``name`` is the step graph's input). The caller starts with the
first-frame graph and feeds every ``cache_out_i`` back as the next call's ``cache_in_i``; the
reference restarts (fresh caches) for every decode / encode call, i.e. for every window.

At the published size (dim 96, z 16): 32 decoder caches, all 2 frames deep (1x16 ch at 1x the
latent size, 11x384 @1x, 1x192 @2x, 6x384 @2x, 6x192 @4x, 7x96 @8x; 11 and 18 belong to the two
temporal up-sampling convs and are zeros after the first frame); 24 encoder caches (3 @8x, 4x96
@8x, 96 @4x, 3x192 @4x, 192 @2x depth 1, 192 @2x, 3x384 @2x, 384 @1x depth 1, 9x384 @1x).

Memory per call at 480x832 (fp32; weights: encoder 214 MB, decoder 293 MB). Caches per direction:
decoder 3.78 GB, encoder 2.24 GB. Peak of an ONNX Runtime 1.29 CPU process (no arena; VmHWM
measured at 1/16 and 1/4 of the area, extrapolated linearly): decoder step ~15 GB (3.78 GB in,
3.78 GB out, ~7 GB transient), decoder first frame ~7 GB, encoder step ~9 GB. The
whole-clip encoder at 81 frames holds several [1, 96, 81, 480, 832] tensors (12.4 GB each): about
60 GB, so a real-size bundle should encode with the streamed pair. Keep the VAE in float32 (its
RMS norms reduce over up to 384 channels; the reference runs it in float32 too).
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..graph import GraphExport

# The latent normalisation of Wan2.1's VAE (WanVAE / AutoencoderKLWan: scale = [mean, 1/std]).
LATENT_MEAN = [
    -0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
    0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921,
]
LATENT_STD = [
    2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
    3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160,
]
CACHE_T = 2
OPSET = 17


class _Caches:
    """The explicit caches of one call: ``inputs`` (None on a first call) read in order, outputs collected."""

    def __init__(self, inputs: Optional[Sequence[torch.Tensor]] = None):
        self.inputs = inputs
        self.outputs: List[torch.Tensor] = []
        self.index = 0

    def take(self) -> Optional[torch.Tensor]:
        if self.inputs is None:
            return None
        c = self.inputs[self.index]
        self.index += 1
        return c

    def put(self, c: torch.Tensor):
        self.outputs.append(c)


class CausalConv3d(nn.Conv3d):
    """Wan's causal 3-D conv: ``kt - 1`` frames of zeros (or the cache) in front, symmetric spatial padding."""

    def __init__(self, cin, cout, kernel, stride=1):
        kt, kh, kw = kernel
        super().__init__(cin, cout, kernel, stride=stride, padding=(0, kh // 2, kw // 2))
        self.depth = kt - 1

    def forward(self, x, io: Optional[_Caches] = None):
        if self.depth == 0:
            return super().forward(x)
        if io is None:  # whole clip: the reference's zero padding
            return super().forward(_zero_frames(x, self.depth, front=True))
        cache = io.take()
        full = _zero_frames(x, self.depth, front=True) if cache is None else torch.cat([cache, x], 2)
        io.put(full[:, :, -self.depth:].clone())  # a copy: the slice must not keep `full` alive
        return super().forward(full)


class RMSNorm(nn.Module):
    """``F.normalize`` over channels times ``sqrt(dim) * gamma`` (Wan's RMS_norm, no bias)."""

    def __init__(self, dim, images):
        super().__init__()
        self.scale = dim ** 0.5
        self.gamma = nn.Parameter(torch.ones((dim, 1, 1) if images else (dim, 1, 1, 1)))

    def forward(self, x):
        # F.normalize(x, dim=1) written out: its expand_as would make the graph's sizes unknown
        return x / x.norm(p=2, dim=1, keepdim=True).clamp_min(1e-12) * self.scale * self.gamma


def _zero_frames(x, n, front):
    """``x`` with ``n`` zero frames in front or at the end (not F.pad: its ONNX form computes the pads at
    run time, so every dimension after it, batch and channels included, would be unknown in the graph)."""
    zeros = [torch.zeros_like(x[:, :, :1])] * n
    return torch.cat(zeros + [x] if front else [x] + zeros, 2)


# Shapes: batch, channels and (except in the whole-clip encoder) frames are Python ints while tracing,
# so that they are constants in the graph and every output but H/W has a static size; H and W stay
# traced (dynamic axes). ``int()`` of a traced size is that constant.

def _frames_to_batch(x):
    b, c = int(x.shape[0]), int(x.shape[1])
    return x.transpose(1, 2).reshape(-1, c, x.shape[3], x.shape[4]), b


def _batch_to_frames(x, b):
    return x.reshape(b, -1, int(x.shape[1]), x.shape[2], x.shape[3]).transpose(1, 2)


def upsample2x(x):
    """Nearest x2 upsampling of ``[N, C, H, W]`` (``nearest-exact`` at scale 2: each pixel repeated 2x2)."""
    n, c, h, w = int(x.shape[0]), int(x.shape[1]), x.shape[2], x.shape[3]
    return x[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, h * 2, w * 2)


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.residual = nn.Sequential(
            RMSNorm(cin, images=False), nn.SiLU(), CausalConv3d(cin, cout, (3, 3, 3)),
            RMSNorm(cout, images=False), nn.SiLU(), nn.Identity(), CausalConv3d(cout, cout, (3, 3, 3)))
        self.shortcut = CausalConv3d(cin, cout, (1, 1, 1)) if cin != cout else nn.Identity()

    def forward(self, x, io):
        h = self.shortcut(x)
        r = self.residual
        x = r[2](F.silu(r[0](x)), io)
        x = r[6](F.silu(r[3](x)), io)
        return x + h

    def cache_specs(self, scale):
        r = self.residual
        return [(r[2].in_channels, CACHE_T, scale), (r[6].in_channels, CACHE_T, scale)]


class AttentionBlock(nn.Module):
    """Single-head self-attention over the pixels of each frame."""

    def __init__(self, dim):
        super().__init__()
        self.norm = RMSNorm(dim, images=True)
        self.to_qkv = nn.Conv2d(dim, dim * 3, 1)
        self.proj = nn.Conv2d(dim, dim, 1)

    def forward(self, x, io=None):
        identity = x
        x, b = _frames_to_batch(x)
        c, h, w = int(x.shape[1]), x.shape[2], x.shape[3]
        qkv = self.to_qkv(self.norm(x)).flatten(2).transpose(1, 2)
        q, k, v = qkv[:, :, :c], qkv[:, :, c:2 * c], qkv[:, :, 2 * c:]
        attn = torch.softmax(torch.matmul(q, k.transpose(1, 2)) * (1.0 / math.sqrt(c)), dim=-1)
        x = torch.matmul(attn, v).transpose(1, 2).reshape(-1, c, h, w)
        return _batch_to_frames(self.proj(x), b) + identity

    def cache_specs(self, scale):
        return []


class Resample(nn.Module):
    """Spatial /2 (encoder) or x2 (decoder), optionally temporal (``time_conv``)."""

    def __init__(self, dim, up, temporal):
        super().__init__()
        self.up = up
        self.temporal = temporal
        if up:
            self.resample = nn.Sequential(nn.Identity(), nn.Conv2d(dim, dim // 2, 3, padding=1))
            if temporal:
                self.time_conv = CausalConv3d(dim, dim * 2, (3, 1, 1))
        else:
            self.resample = nn.Sequential(nn.Identity(), nn.Conv2d(dim, dim, 3, stride=2))
            if temporal:
                self.time_conv = nn.Conv3d(dim, dim, (3, 1, 1), stride=(2, 1, 1))

    def forward(self, x, io: Optional[_Caches]):
        if self.up and self.temporal:
            if io is None:
                raise ValueError('the decoder runs per latent frame, with caches')
            cache = io.take()
            if cache is None:  # first latent frame: the reference stores 'Rep' and skips time_conv
                io.put(torch.cat([torch.zeros_like(x)] * CACHE_T, 2))
            else:
                b, c, t = (int(d) for d in x.shape[:3])
                h, w = x.shape[3], x.shape[4]
                full = torch.cat([cache, x], 2)
                io.put(full[:, :, -CACHE_T:].clone())
                x = nn.Conv3d.forward(self.time_conv, full)
                # [b, 2c, t] -> [b, c, 2t]: frame j of half 0 then frame j of half 1
                x = x.reshape(b, 2, c, t, h, w).permute(0, 2, 3, 1, 4, 5).reshape(b, c, t * 2, h, w)
        y, b = _frames_to_batch(x)
        if self.up:
            y = self.resample[1](upsample2x(y))
        else:
            y = torch.cat([y, torch.zeros_like(y[:, :, :, :1])], 3)  # ZeroPad2d((0, 1, 0, 1))
            y = self.resample[1](torch.cat([y, torch.zeros_like(y[:, :, :1])], 2))
        x = _batch_to_frames(y, b)
        if not self.up and self.temporal:
            if io is None:  # whole clip: frame 0 passes, then windows at 0, 2, 4, ... (2 zero frames
                t = x.shape[2]  # at the end so that a 1-frame clip still has a valid conv input)
                y = self.time_conv(_zero_frames(x, 2, front=False))[:, :, :(t - 1) // 2]
                x = torch.cat([x[:, :, :1], y], 2)
            else:
                cache = io.take()
                io.put(x[:, :, -1:])
                if cache is not None:
                    x = self.time_conv(torch.cat([cache, x], 2))
        return x

    def cache_specs(self, scale):
        if not self.temporal:
            return []
        c = self.resample[1].in_channels
        if self.up:
            return [(c, CACHE_T, scale)]
        return [(c, 1, scale // 2)]  # stored after the spatial /2


def _norm_silu_conv(head, x, io):
    return head[2](F.silu(head[0](x)), io)


class Encoder3d(nn.Module):
    def __init__(self, conv1, downsamples, middle, head):
        super().__init__()
        self.conv1 = conv1
        self.downsamples = nn.Sequential(*downsamples)
        self.middle = nn.Sequential(*middle)
        self.head = head

    def forward(self, x, io=None):
        x = self.conv1(x, io)
        for layer in self.downsamples:
            x = layer(x, io)
        for layer in self.middle:
            x = layer(x, io)
        return _norm_silu_conv(self.head, x, io)

    def cache_specs(self, stride):
        specs = [(self.conv1.in_channels, CACHE_T, stride)]
        for layer in self.downsamples:
            specs += layer.cache_specs(stride)
            if isinstance(layer, Resample):
                stride //= 2
        for layer in self.middle:
            specs += layer.cache_specs(stride)
        return specs + [(self.head[2].in_channels, CACHE_T, stride)]


class Decoder3d(nn.Module):
    def __init__(self, conv1, middle, upsamples, head):
        super().__init__()
        self.conv1 = conv1
        self.middle = nn.Sequential(*middle)
        self.upsamples = nn.Sequential(*upsamples)
        self.head = head

    def forward(self, x, io):
        x = self.conv1(x, io)
        for layer in self.middle:
            x = layer(x, io)
        for layer in self.upsamples:
            x = layer(x, io)
        return _norm_silu_conv(self.head, x, io)

    def cache_specs(self):
        scale = 1
        specs = [(self.conv1.in_channels, CACHE_T, scale)]
        for layer in self.middle:
            specs += layer.cache_specs(scale)
        for layer in self.upsamples:
            specs += layer.cache_specs(scale)
            if isinstance(layer, Resample):
                scale *= 2
        return specs + [(self.head[2].in_channels, CACHE_T, scale)]


class WanVAE(nn.Module):
    """The Wan2.1 VAE with the reference's parameter names; see the module docstring for the graphs."""

    def __init__(self, encoder, decoder, z_dim):
        super().__init__()
        self.encoder = encoder
        self.conv1 = CausalConv3d(z_dim * 2, z_dim * 2, (1, 1, 1))
        self.conv2 = CausalConv3d(z_dim, z_dim, (1, 1, 1))
        self.decoder = decoder
        self.z_dim = z_dim
        if z_dim != len(LATENT_MEAN):
            raise ValueError(f'the VAE has {z_dim} latent channels; its normalisation constants have {len(LATENT_MEAN)}')
        mean = torch.tensor(LATENT_MEAN, dtype=torch.float32).view(1, z_dim, 1, 1, 1)
        inv_std = (1.0 / torch.tensor(LATENT_STD, dtype=torch.float32)).view(1, z_dim, 1, 1, 1)
        self.register_buffer('mean', mean, persistent=False)
        self.register_buffer('inv_std', inv_std, persistent=False)

    # -- geometry -------------------------------------------------------------------------------
    @property
    def spatial_stride(self):
        return 2 ** sum(isinstance(m, Resample) for m in self.encoder.downsamples)

    @property
    def temporal_stride(self):
        return 2 ** sum(isinstance(m, Resample) and m.temporal for m in self.encoder.downsamples)

    def encoder_caches(self) -> List[Dict[str, int]]:
        return _spec_dicts(self.encoder.cache_specs(self.spatial_stride))

    def decoder_caches(self) -> List[Dict[str, int]]:
        return _spec_dicts(self.decoder.cache_specs())

    def config(self) -> Dict[str, object]:
        """What the checkpoint's shapes say (for progress output and tests)."""
        enc = self.encoder
        res_per_level, temporal, blocks = [], [], 0
        for m in enc.downsamples:
            if isinstance(m, ResidualBlock):
                blocks += 1
            elif isinstance(m, Resample):
                res_per_level.append(blocks)
                temporal.append(m.temporal)
                blocks = 0
        res_per_level.append(blocks)
        dim = enc.conv1.out_channels
        return {'dim': dim, 'z_dim': self.z_dim,
                'dim_mult': [enc.downsamples[i].residual[6].out_channels // dim for i in _level_last_blocks(enc)],
                'num_res_blocks': res_per_level, 'temporal_downsample': temporal,
                'spatial_stride': self.spatial_stride, 'temporal_stride': self.temporal_stride,
                'decoder_res_blocks': sum(isinstance(m, ResidualBlock) for m in self.decoder.upsamples)}

    # -- computations ---------------------------------------------------------------------------
    def normalise(self, mu):
        return (mu - self.mean) * self.inv_std

    def denormalise(self, z):
        return z / self.inv_std + self.mean

    def encode_whole(self, video):
        """``video [1,3,Fp,H,W]`` -> normalised posterior mode ``[1, z, (Fp-1)/4+1, h, w]``."""
        return self.normalise(self.conv1(self.encoder(video))[:, :self.z_dim])

    def encode_chunk(self, video, caches=None):
        """One chunk of the reference's chunked encode (1 frame with ``caches=None``, else 4)."""
        io = _Caches(caches)
        out = self.normalise(self.conv1(self.encoder(video, io))[:, :self.z_dim])
        return out, io.outputs

    def decode_frame(self, latent, caches=None):
        """One normalised latent frame -> 1 pixel frame (``caches=None``) or 4, and the new caches."""
        io = _Caches(caches)
        x = self.decoder(self.conv2(self.denormalise(latent)), io)
        return x.clamp(-1.0, 1.0), io.outputs

    def encode(self, video):
        """The reference's chunked encode, through the streamed path (for tests)."""
        out, caches = self.encode_chunk(video[:, :, :1])
        outs = [out]
        for i in range(1, 1 + (video.shape[2] - 1) // 4):
            out, caches = self.encode_chunk(video[:, :, 1 + 4 * (i - 1):1 + 4 * i], caches)
            outs.append(out)
        return torch.cat(outs, 2)

    def decode(self, latents):
        """The reference's decode of ``[1, z, F, h, w]`` normalised latents, frame by frame (for tests)."""
        frames, caches = self.decode_frame(latents[:, :, :1])
        outs = [frames]
        for i in range(1, latents.shape[2]):
            frames, caches = self.decode_frame(latents[:, :, i:i + 1], caches)
            outs.append(frames)
        return torch.cat(outs, 2)


def _level_last_blocks(enc):
    idx, last = [], None
    for i, m in enumerate(enc.downsamples):
        if isinstance(m, ResidualBlock):
            last = i
        elif isinstance(m, Resample):
            idx.append(last)
    idx.append(last)
    return idx


def _spec_dicts(specs):
    return [{'name': f'cache_in_{i}', 'output': f'cache_out_{i}', 'channels': c, 'frames': t, 'scale': s}
            for i, (c, t, s) in enumerate(specs)]


# ---------------------------------------------------------------------------------------------
# building from a state dict
# ---------------------------------------------------------------------------------------------

class _Source:
    def __init__(self, sd, prefix, name):
        self.sd, self.prefix, self.name = sd, prefix, name

    def has(self, key):
        return (self.prefix + key) in self.sd

    def shape(self, key):
        if not self.has(key):
            raise KeyError(f'{self.prefix + key} is missing from {self.name}')
        return tuple(self.sd[self.prefix + key].shape)

    def indices(self, prefix):
        p = self.prefix + prefix
        return sorted({int(k[len(p):].split('.', 1)[0]) for k in self.sd.keys()
                       if k.startswith(p) and k[len(p):].split('.', 1)[0].isdigit()})


def _blocks(src, prefix, up):
    blocks = []
    indices = src.indices(prefix)
    if indices != list(range(len(indices))):
        raise KeyError(f'{src.name}: {src.prefix + prefix}N blocks are not numbered 0..{len(indices) - 1}: {indices}')
    for i in indices:
        p = f'{prefix}{i}.'
        if src.has(p + 'residual.0.gamma'):
            cout, cin = src.shape(p + 'residual.2.weight')[:2]
            blocks.append(ResidualBlock(cin, cout))
        elif src.has(p + 'to_qkv.weight'):
            blocks.append(AttentionBlock(src.shape(p + 'proj.weight')[0]))
        elif src.has(p + 'resample.1.weight'):
            blocks.append(Resample(src.shape(p + 'resample.1.weight')[1], up, src.has(p + 'time_conv.weight')))
        else:
            raise KeyError(f'{src.name}: {src.prefix + p}* is neither a residual, an attention nor a resample block')
    return blocks


def _head(cin, cout):
    return nn.Sequential(RMSNorm(cin, images=False), nn.SiLU(), CausalConv3d(cin, cout, (3, 3, 3)))


def build(sd, config=None, source='Wan2.1_VAE.pth', **opts) -> WanVAE:
    """The VAE of a ``Wan2.1_VAE.pth`` state dict (a mapping of the reference's key names to tensors).

    ``config`` is unused (the VAE has no config file: every size comes from the shapes). ``source``
    names the file in error messages.
    """
    prefix = 'model.' if 'model.encoder.conv1.weight' in sd and 'encoder.conv1.weight' not in sd else ''
    src = _Source(sd, prefix, source)
    z_dim = src.shape('conv2.weight')[0]
    dim_in = src.shape('encoder.conv1.weight')
    encoder = Encoder3d(
        CausalConv3d(dim_in[1], dim_in[0], tuple(dim_in[2:])),
        _blocks(src, 'encoder.downsamples.', up=False),
        _blocks(src, 'encoder.middle.', up=False),
        _head(*reversed(src.shape('encoder.head.2.weight')[:2])))
    dec_in = src.shape('decoder.conv1.weight')
    decoder = Decoder3d(
        CausalConv3d(dec_in[1], dec_in[0], tuple(dec_in[2:])),
        _blocks(src, 'decoder.middle.', up=True),
        _blocks(src, 'decoder.upsamples.', up=True),
        _head(*reversed(src.shape('decoder.head.2.weight')[:2])))
    model = WanVAE(encoder, decoder, z_dim)
    own = model.state_dict()
    theirs = {k[len(prefix):] for k in sd.keys() if k.startswith(prefix)}
    unexpected = sorted(theirs - set(own))
    if unexpected:
        raise KeyError(f'{source}: keys this VAE does not have: {unexpected[:8]}'
                       + (' ...' if len(unexpected) > 8 else ''))
    with torch.no_grad():
        for k, p in own.items():
            t = sd[prefix + k] if (prefix + k) in sd else None
            if t is None:
                raise KeyError(f'{prefix + k} is missing from {source}')
            if tuple(t.shape) != tuple(p.shape):
                raise ValueError(f'{source}: {prefix + k} has shape {tuple(t.shape)}, expected {tuple(p.shape)}')
            if p.is_meta or t.is_meta:
                continue
            p.copy_(t.to(torch.float32))
    if any(sd[prefix + k].is_meta for k in own):
        model = model.to('meta')  # shapes only: cache lists, memory estimates
    return model.eval()


# ---------------------------------------------------------------------------------------------
# graphs
# ---------------------------------------------------------------------------------------------

class _EncoderWhole(nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, video):
        return self.vae.encode_whole(video)


class _EncoderChunk(nn.Module):
    def __init__(self, vae, first):
        super().__init__()
        self.vae, self.first = vae, first

    def forward(self, video, *caches):
        out, new = self.vae.encode_chunk(video, None if self.first else list(caches))
        return (out, *new)


class _DecoderFrame(nn.Module):
    def __init__(self, vae, first):
        super().__init__()
        self.vae, self.first = vae, first

    def forward(self, latent, *caches):
        out, new = self.vae.decode_frame(latent, None if self.first else list(caches))
        return (out, *new)


def _cache_axes(name, spec):
    s = spec['scale']
    return {name: {3: 'h' if s == 1 else f'h*{s}', 4: 'w' if s == 1 else f'w*{s}'}}


def _zeros(spec, h, w):
    return torch.zeros(1, spec['channels'], spec['frames'], spec['scale'] * h, spec['scale'] * w)


def graphs(model: WanVAE, height=None, width=None, frames=5, encoders=('whole', 'streamed'),
           trace_size=(4, 6), **shape_opts) -> List[GraphExport]:
    """The VAE's graphs.

    Heights, widths and the whole encoder's frame count are dynamic axes, so the graphs are traced
    at a small size, ``trace_size`` latent pixels (h, w; non-square so that a swapped axis cannot
    trace correctly), whatever the bundle's size: tracing at 480x832 would run a full-size forward
    (minutes and ~15 GB on a CPU). ``height``/``width`` (the bundle's default size) are only checked
    to be multiples of the VAE's stride.

    ``encoders``: ``whole`` (``vae-encoder``: the clip in one call, traced with ``frames`` pixel
    frames), ``streamed`` (``vae-encoder-first`` + ``vae-encoder-step``). The decoder is always the
    pair ``vae-decoder-first`` + ``vae-decoder``.
    """
    s = model.spatial_stride
    ts = model.temporal_stride
    if (height and height % s) or (width and width % s):
        raise ValueError(f'{height}x{width} is not a multiple of the VAE stride {s}')
    if (frames - 1) % ts:
        raise ValueError(f'{frames} frames is not {ts}n+1')
    height, width = trace_size[0] * s, trace_size[1] * s
    h, w = height // s, width // s
    z = model.z_dim
    out = []
    pix = {3: 'H', 4: 'W'}
    lat = {3: 'h', 4: 'w'}
    if 'whole' in encoders:
        out.append(GraphExport(
            key='vae-encoder', file='vae_encoder.onnx', module=_EncoderWhole(model),
            args=(torch.zeros(1, 3, frames, height, width),), input_names=['video'], output_names=['latent'],
            dynamic_axes={'video': {2: 'Fp', **pix}, 'latent': {2: 'f', **lat}}))
    if 'streamed' in encoders:
        out += _first_and_step(('vae-encoder-first', 'vae-encoder-step'),
                               (_EncoderChunk(model, True), _EncoderChunk(model, False)),
                               ('video', pix), ('latent', lat), torch.zeros(1, 3, 1, height, width),
                               torch.zeros(1, 3, ts, height, width), model.encoder_caches(), h, w)
    out += _first_and_step(('vae-decoder-first', 'vae-decoder'),
                           (_DecoderFrame(model, True), _DecoderFrame(model, False)),
                           ('latent', lat), ('frames', pix), torch.zeros(1, z, 1, h, w),
                           torch.zeros(1, z, 1, h, w), model.decoder_caches(), h, w)
    return out


def _first_and_step(keys, modules, x, y, x_first, x_step, caches, h, w):
    """A first-chunk graph (no cache inputs; it produces the caches) and the step graph that takes and
    returns them, both listing ``caches`` in the manifest. ``x``/``y``: (name, dynamic axes) of the
    data input and output."""
    ins = [c['name'] for c in caches]
    outs = [c['output'] for c in caches]
    axes = {x[0]: x[1], y[0]: y[1]}
    for c in caches:
        axes.update(_cache_axes(c['name'], c))
        axes.update(_cache_axes(c['output'], c))
    files = [k.replace('-', '_') + '.onnx' for k in keys]
    first = GraphExport(
        key=keys[0], file=files[0], module=modules[0], args=(x_first,), input_names=[x[0]],
        output_names=[y[0]] + outs, dynamic_axes={k: v for k, v in axes.items() if k not in ins},
        manifest={'caches': caches})
    step = GraphExport(
        key=keys[1], file=files[1], module=modules[1], args=(x_step, *[_zeros(c, h, w) for c in caches]),
        input_names=[x[0]] + ins, output_names=[y[0]] + outs, dynamic_axes=axes, manifest={'caches': caches})
    return [first, step]
