"""LongCat-Video's VAE (``LongCat-Video/vae``: diffusers ``AutoencoderKLWan``, the Wan2.1 network, with
the pipeline's ``normalize_latents``) exported through the StableAvatar Wan VAE module
(a4jexport.stableavatar.vae: the same graphs and causal-cache contract, docs/BUNDLE-FORMAT.md).

Reference: LongCat-Video 6b3f4b8 ``longcat_video/modules/autoencoder_kl_wan.py`` (encode: first frame,
then chunks of 4, posterior mode via ``retrieve_latents(..., sample_mode="argmax")``; decode: frame
by frame, clamped to [-1, 1]) and ``pipeline_longcat_video_avatar.py`` (``normalize_latents``:
``(mu - latents_mean) / latents_std`` from the VAE's ``config.json``).

Only the key names differ from ``Wan2.1_VAE.pth``: :func:`wan_keys` maps diffusers' names
(``conv_in``/``conv_out``/``norm_out``, ``down_blocks.N`` resnets ``norm1/conv1/norm2/conv2/
conv_shortcut``, ``mid_block.resnets/attentions``, ``up_blocks.i.resnets.j`` + ``upsamplers.0``
flattened in order, ``quant_conv``/``post_quant_conv``) to the Wan names. The latent normalisation
must be Wan2.1's (the module's constants); a config with other values is refused, as is Wan2.2's
patchified variant.
"""
import re

from ..checkpoint import Renamed
from ..stableavatar import vae as wan_vae

_RESNET = {"norm1.gamma": "residual.0.gamma", "conv1.weight": "residual.2.weight", "conv1.bias": "residual.2.bias",
           "norm2.gamma": "residual.3.gamma", "conv2.weight": "residual.6.weight", "conv2.bias": "residual.6.bias",
           "conv_shortcut.weight": "shortcut.weight", "conv_shortcut.bias": "shortcut.bias"}


def _resnet(rest):
    return _RESNET.get(rest, rest)


def wan_keys(keys):
    """{Wan2.1 key: diffusers key} for every key of a diffusers ``AutoencoderKLWan`` state dict."""
    keys = list(keys)
    out = {}
    # the decoder's up blocks flattened: resnets in order, then the block's upsampler
    ups = []
    for k in keys:
        m = re.match(r"decoder\.up_blocks\.(\d+)\.(resnets|upsamplers)\.(\d+)\.", k)
        if m:
            mod = (int(m.group(1)), 0 if m.group(2) == "resnets" else 1, int(m.group(3)))
            if mod not in ups:
                ups.append(mod)
    ups.sort()
    flat = {mod: i for i, mod in enumerate(ups)}
    for k in keys:
        for side in ("encoder", "decoder"):
            if k.startswith(side + ".conv_in."):
                out[k.replace(".conv_in.", ".conv1.")] = k
            elif k.startswith(side + ".conv_out."):
                out[k.replace(".conv_out.", ".head.2.")] = k
            elif k.startswith(side + ".norm_out."):
                out[k.replace(".norm_out.", ".head.0.")] = k
        if k.startswith("quant_conv."):
            out["conv1." + k[len("quant_conv."):]] = k
        elif k.startswith("post_quant_conv."):
            out["conv2." + k[len("post_quant_conv."):]] = k
        m = re.match(r"encoder\.down_blocks\.(\d+)\.(.*)", k)
        if m:
            out[f"encoder.downsamples.{m.group(1)}.{_resnet(m.group(2))}"] = k
        m = re.match(r"(encoder|decoder)\.mid_block\.(resnets|attentions)\.(\d+)\.(.*)", k)
        if m:
            idx = 1 if m.group(2) == "attentions" else 2 * int(m.group(3))
            rest = m.group(4) if m.group(2) == "attentions" else _resnet(m.group(4))
            out[f"{m.group(1)}.middle.{idx}.{rest}"] = k
        m = re.match(r"decoder\.up_blocks\.(\d+)\.(resnets|upsamplers)\.(\d+)\.(.*)", k)
        if m:
            i = flat[(int(m.group(1)), 0 if m.group(2) == "resnets" else 1, int(m.group(3)))]
            rest = _resnet(m.group(4)) if m.group(2) == "resnets" else m.group(4)
            out[f"decoder.upsamples.{i}.{rest}"] = k
    missing = [k for k in keys if k not in set(out.values())]
    if missing:
        raise KeyError(f"LongCat VAE: keys with no Wan2.1 counterpart (a Wan2.2 or other VAE?): {missing[:6]}")
    return out


def wan_named(sd):
    """A diffusers-named VAE state dict seen under the Wan2.1 names."""
    return Renamed(sd, wan_keys(sd.keys()))


def build(sd, config=None, source="vae/diffusion_pytorch_model.safetensors", **opts):
    """The Wan VAE module of LongCat-Video's ``vae`` folder (``sd``: its tensors, ``config``: its
    ``config.json``)."""
    config = dict(config or {})
    if config.get("patch_size") not in (None, 1, [1, 1, 1]):
        raise ValueError(f"{source}: a patchified VAE (patch_size {config['patch_size']}) is not Wan2.1's")
    for name, ours in (("latents_mean", wan_vae.LATENT_MEAN), ("latents_std", wan_vae.LATENT_STD)):
        theirs = config.get(name)
        if theirs is not None and [round(float(v), 6) for v in theirs] != [round(float(v), 6) for v in ours]:
            raise ValueError(f"{source}: config {name} differs from Wan2.1's normalisation the graphs use")
    return wan_vae.build(wan_named(sd), source=source, **opts)


def graphs(model, **opts):
    return wan_vae.graphs(model, **opts)
