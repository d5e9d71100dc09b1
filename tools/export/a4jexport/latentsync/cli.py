"""``tools/export/latentsync``: the published LatentSync 1.5 / 1.6 checkpoints -> an avatar4j bundle
(family ``latentsync``, docs/BUNDLE-FORMAT.md).

Inputs, as LatentSync's README has users download them:
  --checkpoints DIR  ``latentsync_unet.pt`` and ``whisper/tiny.pt`` (``whisper/small.pt`` when the
                     UNet's audio cross-attention is 768 wide), from ByteDance/LatentSync-1.5 or -1.6
  --vae DIR          ``stabilityai/sd-vae-ft-mse``: ``config.json`` + ``diffusion_pytorch_model.safetensors``
                     (or ``.bin``)

Parts, each from a lazy checkpoint and freed before the next: the Whisper encoder
(``audio-encoder``), the VAE (``vae-encoder`` with the posterior mean and std, ``vae-decoder``), the
UNet (``unet`` + its ONNX Runtime variant ``unet_mha.onnx``; with ``--deepcache N``, default 3 as
LatentSync's inference.sh, also its ``cache`` output and the ``unet-shallow`` graph + variant). The face detector (BlazeFace) and its
licence are copied from ``models/preview`` of this repository; the mouth mask is ``--mask`` (LatentSync's
``latentsync/utils/mask.png``) resized to the face resolution, or, without it, a drawn stand-in with
a warning.
"""
import argparse
import gc
import json
import os
import shutil

import torch

from .. import manifest as mf
from ..checkpoint import open_checkpoint
from ..cli import UsageError, run_command
from ..onnxio import DEFAULT_EXTERNAL_THRESHOLD, export_graph, share_external_data
from ..progress import Progress
from . import unet as unet_part
from . import vae as vae_part
from . import whisper as whisper_part

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PREVIEW = os.path.join(ROOT, "models", "preview")
FACE_FILES = ("face_detection_front_128x128_barracuda.onnx", "LICENSE-blazeface.txt")
WHISPER_FILES = {384: "tiny.pt", 768: "small.pt"}
ORT_VARIANT = "onnxruntime"


def check_inputs(args):
    ck = args.checkpoints
    if not os.path.isdir(ck):
        raise UsageError(f"--checkpoints {ck} is not a folder (LatentSync's checkpoints/)")
    files = {"unet": os.path.join(ck, "latentsync_unet.pt")}
    if not os.path.isfile(files["unet"]):
        raise UsageError(f"missing {files['unet']}: the LatentSync UNet (from ByteDance/LatentSync-{args.version})")
    wdir = os.path.join(ck, "whisper")
    if not any(os.path.isfile(os.path.join(wdir, f)) for f in WHISPER_FILES.values()):
        raise UsageError(f"missing {os.path.join(wdir, 'tiny.pt')}: the Whisper audio encoder"
                         f" (from ByteDance/LatentSync-{args.version}, checkpoints/whisper/)")
    if not os.path.isfile(os.path.join(args.vae, "config.json")):
        raise UsageError(f"missing {os.path.join(args.vae, 'config.json')}: the sd-vae-ft-mse config"
                         " (stabilityai/sd-vae-ft-mse)")
    files["vae"] = vae_part.find_weights(args.vae)
    if files["vae"] is None:
        raise UsageError(f"missing {os.path.join(args.vae, vae_part.WEIGHT_FILES[0])}: the sd-vae-ft-mse weights"
                         " (stabilityai/sd-vae-ft-mse)")
    for f in FACE_FILES:
        if not os.path.isfile(os.path.join(PREVIEW, f)):
            raise UsageError(f"missing {os.path.join(PREVIEW, f)}: the BlazeFace detector this repository ships")
    if args.mask is not None and not os.path.isfile(args.mask):
        raise UsageError(f"--mask {args.mask} does not exist (LatentSync's latentsync/utils/mask.png)")
    return files


def whisper_file(args, width):
    """The Whisper checkpoint whose width matches the UNet's audio cross-attention."""
    wdir = os.path.join(args.checkpoints, "whisper")
    want = WHISPER_FILES.get(width)
    if want is not None:
        p = os.path.join(wdir, want)
        if not os.path.isfile(p):
            raise UsageError(f"missing {p}: the UNet's audio cross-attention is {width} wide, which is"
                             f" Whisper {want[:-3]}'s width")
        return p
    # a width no published Whisper has (reduced test checkpoints): the file whose width matches
    for f in WHISPER_FILES.values():
        p = os.path.join(wdir, f)
        if os.path.isfile(p):
            ck = open_checkpoint(p)
            try:
                if ck.shape("encoder.conv1.weight")[0] == width:
                    return p
            finally:
                ck.close()
    raise UsageError(f"no Whisper checkpoint in {wdir} is {width} wide, the width of the UNet's audio"
                     " cross-attention (attn2.to_k)")


def draw_mask(res):
    """A stand-in for LatentSync's mask.png: white (keep) except a black lower-face region."""
    from PIL import Image
    img = Image.new("RGB", (res, res), (255, 255, 255))
    px = img.load()
    for y in range(int(0.37 * res), int(0.95 * res)):
        for x in range(int(0.04 * res), int(0.96 * res)):
            px[x, y] = (0, 0, 0)
    return img


def write_mask(args, bundle, res, progress):
    from PIL import Image
    if args.mask is None:
        progress.warn("no --mask: the bundle gets a drawn lower-face mask; pass LatentSync's"
                      " latentsync/utils/mask.png for the reference's")
        img = draw_mask(res)
    else:
        img = Image.open(args.mask).convert("RGB")
        if img.size != (res, res):
            # load_fixed_mask: cv2.resize(..., INTER_LANCZOS4)
            img = img.resize((res, res), Image.LANCZOS)
    p = os.path.join(bundle, "mask.png")
    img.save(p, format="PNG", optimize=False)
    return "mask.png"


def _export(gs, bundle, entries, progress, args):
    for g in gs:
        if g.key in entries:
            raise RuntimeError(f"two graphs for the manifest key {g.key!r}")
        entries[g.key] = export_graph(g, bundle, external_threshold=args.external_threshold, progress=progress,
                                      weights=args.precision)


def latentsync_manifest(bundle, graphs, tensors, notices, name, license, resolution, width, mels,
                        scaling, shift, steps, guidance, deepcache=0):
    graphs = mf._fold_variants(graphs)
    need = ("audio-encoder", "vae-encoder", "vae-decoder", "unet", "face-detector")
    missing = [k for k in need if k not in graphs]
    if missing:
        raise ValueError(f"a latentsync bundle needs the graphs {', '.join(missing)}")
    m = {
        "format": 1,
        "family": "latentsync",
        "name": name,
        "license": license,
        "video": {"fps": 25, "resolution": resolution, "chunkFrames": 16},
        "audio": {"sampleRate": 16000, "encoder": "whisper", "melBins": mels, "width": width},
        "vae": {"scaling": scaling, "shift": shift},
        "sampler": {"type": "ddim", "defaultSteps": steps},
        "guidance": {"type": "cfg-zero-audio", "scale": guidance},
        "face": {"minScore": 0.5},
        "graphs": {},
    }
    if deepcache:
        if "unet-shallow" not in graphs:
            raise ValueError("sampler.deepCacheInterval needs the unet-shallow graph")
        m["sampler"]["deepCacheInterval"] = deepcache
        need = need[:4] + ("unet-shallow",) + need[4:]
    digests = {}
    for k in need:
        e = mf._entry(bundle, {x: y for x, y in graphs[k].items() if x != "variants"}, digests)
        if "variants" in graphs[k]:
            e["variants"] = {n: mf._entry(bundle, v, digests) for n, v in graphs[k]["variants"].items()}
        m["graphs"][k] = e
    m["tensors"] = {k: mf._entry(bundle, {"file": f}) for k, f in tensors.items()}
    m["notices"] = {k: mf._entry(bundle, {"file": f}) for k, f in notices.items()}
    return m


def run(args, progress=None):
    progress = progress or Progress(quiet=args.quiet)
    resolution = unet_part.VERSIONS[args.version][0]
    files = check_inputs(args)
    bundle = args.out
    if os.path.exists(bundle) and not os.path.isdir(bundle):
        raise UsageError(f"--out {bundle} exists and is not a folder")
    if os.path.isdir(bundle) and os.listdir(bundle) and not args.force:
        raise UsageError(f"--out {bundle} is not empty (use --force to overwrite its files)")
    if args.deepcache < 0 or args.deepcache == 1:
        raise UsageError(f"--deepcache {args.deepcache}: 0 (off) or an interval of at least 2")
    unet_config = None
    if args.unet_config:
        with open(args.unet_config, encoding="utf-8") as f:
            unet_config = json.load(f)
    os.makedirs(bundle, exist_ok=True)
    entries = {}

    # the UNet's audio width picks the Whisper model (read from the pickle: no tensor bytes)
    uck = open_checkpoint(files["unet"])
    try:
        attn2 = sorted(k for k in uck.keys() if k.endswith(".attn2.to_k.weight"))
        if not attn2:
            raise UsageError(f"{files['unet']}: no audio cross-attention (…attn2.to_k.weight): not a LatentSync UNet")
        audio_width = uck.shape(attn2[0])[1]
    finally:
        uck.close()
    files["whisper"] = whisper_file(args, audio_width)

    # 1. Whisper encoder
    progress.stage("audio-encoder", f"reading {files['whisper']}")
    ck = open_checkpoint(files["whisper"])
    try:
        model = whisper_part.build(ck)
    finally:
        ck.close()
    # shapes the SDK's contract fixes but the graph does not need (a reduced test checkpoint): the
    # graphs are still written, for parity checks, with a warning that the SDK will not load the bundle
    if model.layers != 5:
        progress.warn(f"{files['whisper']}: {model.layers - 1} encoder layers; the latentsync contract takes the"
                      " embeddings of 5 (Whisper tiny's 4 blocks + the input): the SDK will not load this bundle")
    if model.ctx != 1500 or model.mels != 80:
        progress.warn(f"{files['whisper']}: {model.mels} mel bins x {model.ctx} positions; the latentsync contract"
                      " takes 80 x 3000 frames (1500 positions): the SDK will not load this bundle")
    if model.width != audio_width:
        raise UsageError(f"the checkpoints do not belong together: {files['whisper']} is {model.width} wide, the"
                         f" UNet's audio cross-attention takes {audio_width}")
    progress.info(f"built ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters, width"
                  f" {model.width}, {model.heads} heads)")
    _export(whisper_part.graphs(model, attention="plain"), bundle, entries, progress, args)
    mels, width = model.mels, model.width
    del model
    gc.collect()

    # 2. VAE
    progress.stage("vae", f"reading {files['vae']}")
    vcfg = vae_part.read_config(args.vae)
    ck = open_checkpoint(files["vae"])
    try:
        vae = vae_part.build(ck, vcfg)
    finally:
        ck.close()
    if vae.factor != 8 or vae.z != 4:
        progress.warn(f"{files['vae']}: the VAE has {vae.z} latent channels and downsamples x{vae.factor};"
                      " the latentsync contract takes 4 channels at x8 (sd-vae-ft-mse): the SDK will not load"
                      " this bundle")
    progress.info(f"built ({sum(p.numel() for p in vae.parameters()) / 1e6:.1f} M parameters)")
    _export(vae_part.graphs(vae), bundle, entries, progress, args)
    scaling, shift, z = vae.scaling, vae.shift, vae.z
    del vae
    gc.collect()

    # 3. UNet
    progress.stage("unet", f"reading {files['unet']}")
    ck = open_checkpoint(files["unet"])
    try:
        unet = unet_part.build(ck, unet_config)
        progress.info(f"built ({sum(p.numel() for p in unet.parameters()) / 1e6:.1f} M parameters,"
                      f" {ck.bytes_read / 2 ** 20:.0f} MiB read)")
        for d in unet.deviations:
            progress.info(f"structure from the tensors: {d}")
        if unet.out_channels != z or unet.in_channels != 1 + 3 * z:
            raise UsageError(f"the checkpoints do not belong together: the VAE has {z} latent channels, the UNet"
                             f" takes {unet.in_channels} = noisy latents + mask + masked-face latents + reference"
                             f" latents and gives {unet.out_channels}")
        if unet.motion_max_len is not None and unet.motion_max_len < 16:
            raise UsageError(f"{files['unet']}: the motion modules' positional encodings cover"
                             f" {unet.motion_max_len} frames, less than the bundle's 16-frame chunks")
        deep = args.deepcache > 0
        _export(unet_part.graphs(unet, attention="plain", deepcache=deep), bundle, entries, progress, args)
        if args.unet_variants == "both":
            mha = unet_part.graphs(unet, attention="mha", deepcache=deep)
            for g in mha:
                g.key = f"{g.key}@{ORT_VARIANT}"
            _export(mha, bundle, entries, progress, args)
            for g in mha:
                base = g.key.split("@")[0]
                entries[g.key] = share_external_data(bundle, entries[g.key], entries[base], progress)
    finally:
        ck.close()
    del unet
    gc.collect()

    # 4. assets
    progress.stage("assets")
    for f in FACE_FILES:
        shutil.copyfile(os.path.join(PREVIEW, f), os.path.join(bundle, f))
    entries["face-detector"] = {"file": FACE_FILES[0]}
    mask = write_mask(args, bundle, resolution, progress)
    progress.stage("manifest")
    license = args.license
    m = latentsync_manifest(bundle, entries, {"mouth-mask": mask}, {"blazeface-license": FACE_FILES[1]},
                            args.name or f"latentsync-{args.version}", license, resolution, width, mels,
                            scaling, shift, args.steps, args.guidance, args.deepcache)
    p = mf.write_manifest(bundle, m)
    progress.info(f"wrote {p}")
    return m


def parser():
    p = argparse.ArgumentParser(
        prog="tools/export/latentsync",
        description="Export the published LatentSync 1.5 / 1.6 checkpoints (UNet + Whisper) and"
                    " stabilityai/sd-vae-ft-mse to an avatar4j dubbing bundle (family latentsync).")
    p.add_argument("--checkpoints", required=True, metavar="DIR",
                   help="LatentSync's checkpoints/ folder: latentsync_unet.pt, whisper/tiny.pt")
    p.add_argument("--vae", required=True, metavar="DIR",
                   help="stabilityai/sd-vae-ft-mse: config.json + diffusion_pytorch_model.safetensors")
    p.add_argument("--out", required=True, metavar="BUNDLE", help="bundle folder to write")
    p.add_argument("--version", choices=sorted(unet_part.VERSIONS), default="1.5",
                   help="1.5 (256 px faces, configs/unet/stage2.yaml) or 1.6 (512 px, stage2_512.yaml)")
    p.add_argument("--precision", choices=("fp32", "fp16"), default="fp32",
                   help="stored weights: fp16 halves the bundle (float16 initializers + Cast nodes)")
    p.add_argument("--mask", default=None, metavar="PNG",
                   help="the mouth mask: LatentSync's latentsync/utils/mask.png (resized to the face"
                        " resolution); without it a drawn lower-face mask, with a warning")
    p.add_argument("--unet-variants", choices=("both", "plain"), default="both",
                   help="both (default): unet.onnx (plain attention, TensorRT) and unet_mha.onnx"
                        " (com.microsoft::MultiHeadAttention, ONNX Runtime) sharing one weights file;"
                        " plain: unet.onnx only")
    p.add_argument("--deepcache", type=int, default=3, metavar="N",
                   help="DeepCache as LatentSync's inference.sh enables it (DeepCacheSDHelper, cache_branch_id 0):"
                        " a full UNet step every N DDIM steps, the shallow unet-shallow graph in between"
                        " (default 3, the reference's; 0: no DeepCache, every step full)")
    p.add_argument("--steps", type=int, default=20, help="sampler.defaultSteps (inference.sh: 20)")
    p.add_argument("--guidance", type=float, default=1.5, help="guidance.scale (inference.sh: 1.5)")
    p.add_argument("--name", default=None, help="manifest name (default latentsync-VERSION)")
    p.add_argument("--license", default="Apache-2.0 (LatentSync); MIT (Whisper); MIT (sd-vae-ft-mse);"
                                        " see the model cards", help="manifest license text")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out folder")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--unet-config", default=None, metavar="JSON",
                   help="a JSON object overriding values of the UNet's yaml model section that the tensors cannot"
                        " show (norm_num_groups, attention_head_dim, norm_eps, motion_module_kwargs ...), for"
                        " checkpoints trained with another config")
    p.add_argument("--external-threshold", type=int, default=DEFAULT_EXTERNAL_THRESHOLD, help=argparse.SUPPRESS)
    return p


def main(argv=None):
    return run_command("tools/export/latentsync", run, parser().parse_args(argv))
