"""``tools/export/longcat-avatar``: LongCat-Video-Avatar 1.5 checkpoints -> an avatar4j bundle of family
``longcat-avatar`` (docs/BUNDLE-FORMAT.md).

    longcat-avatar --checkpoints DIR --out BUNDLE [--precision fp16|fp32] [--persons 1,2,3]
                   [--prompt TEXT] [--negative-prompt TEXT] [--size WxH] [--name NAME] [-q]

DIR is the ``weights`` folder of the LongCat-Video README's downloads::

    DIR/LongCat-Video/                 vae/, text_encoder/, tokenizer/ (spiece.model), [scheduler/]
    DIR/LongCat-Video-Avatar-1.5/      base_model/ (config.json + diffusion_pytorch_model*.safetensors),
                                       lora/dmd_lora.safetensors, whisper-large-v3/, [scheduler/]

Parts, each read tensor by tensor from its (possibly sharded) safetensors:
- DiT (``base_model`` with ``dmd_lora`` merged on access, multiplier 1.0 as the demo loads it; the LoRA
  file's ``alpha_scale``): the six graphs ``dit-pP`` / ``dit-pP-continuation`` (P from ``--persons``)
  through the weights-as-inputs trace, one shared ``dit.onnx.data`` (a4jexport.longcat.streamed);
- ``audio-encoder``: Whisper-large-v3's encoder with LongCat's layer groups (a4jexport.longcat.whisper);
- ``vae-encoder`` + ``vae-decoder-first``/``vae-decoder``: the Wan VAE module (a4jexport.longcat.vae);
- ``text-default``: the umT5 encoder's embeddings of ``--prompt`` (the bundle has no text-encoder
  graph, so other prompts need another export), valid tokens only; ``text-negative``: those of
  ``--negative-prompt`` (default: the reference demo's), for the non-distilled schedule's guidance.
``--precision fp16`` stores the weights as float16 (the graphs compute in float32).
The manifest: 25 fps, 93-frame segments with 13 context frames, the distilled 8-step schedule with the
scheduler config's ``shift`` (7.0 when no scheduler config is present), refImageIndex 10 and
maskFrameRange 3 (the demo's defaults), the Whisper front end at -23 LUFS.
"""
import argparse
import json
import os
import sys

from .. import onnxio
from ..checkpoint import open_checkpoint
from ..manifest import parse_size, write_embeddings, write_manifest
from ..progress import Progress
from . import dit, lora, streamed, text, vae, whisper

SEGMENT_FRAMES, CONTEXT_FRAMES, FPS = 93, 13, 25
REF_IMAGE_INDEX, MASK_FRAME_RANGE = 10, 3
DEFAULT_PROMPT = "A person is talking to the camera, natural expressions and lip movements."
#: The negative prompt of the reference's run_demo_avatar_single_audio_to_video.py (used when not distilled).
NEGATIVE_PROMPT = ("Close-up, Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, "
                   "images, static, overall gray, worst quality, low quality, JPEG compression residue, ugly, "
                   "incomplete, extra fingers, poorly drawn hands, poorly drawn faces, deformed, disfigured, "
                   "misshapen limbs, fused fingers, still picture, messy background, three legs, many people in the "
                   "background, walking backwards")
LORA_MULTIPLIER, LORA_RANK, LORA_ALPHA = 1.0, 128, 64.0


class UsageError(Exception):
    pass


def _weights(folder, stem):
    """The (sharded) safetensors of ``folder/stem``: ``stem.safetensors.index.json`` or ``stem.safetensors``."""
    for name in (stem + ".safetensors.index.json", stem + ".safetensors"):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return open_checkpoint(p)
    raise UsageError(f"{folder}: no {stem}.safetensors(.index.json)")


def _json(path, required=True):
    if not os.path.isfile(path):
        if required:
            raise UsageError(f"{path} not found")
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def locate(root):
    base = os.path.join(root, "LongCat-Video")
    avatar = os.path.join(root, "LongCat-Video-Avatar-1.5")
    for d in (base, avatar):
        if not os.path.isdir(d):
            raise UsageError(f"{d} not found: --checkpoints is the folder holding LongCat-Video and "
                             f"LongCat-Video-Avatar-1.5 (the README's weights/)")
    return base, avatar


def shift_of(base, avatar):
    for d in (avatar, base):
        cfg = _json(os.path.join(d, "scheduler", "scheduler_config.json"), required=False)
        if cfg and "shift" in cfg:
            return float(cfg["shift"])
    return 7.0


def run(args, progress=None):
    progress = progress or Progress(quiet=args.quiet)
    base, avatar = locate(args.checkpoints)
    persons = tuple(sorted({int(p) for p in args.persons.split(",")}))
    if not persons or persons[0] != 1 or any(p not in (1, 2, 3) for p in persons):
        raise UsageError("--persons must include 1 and be drawn from 1,2,3")
    width, height = parse_size(args.size)
    out = args.out
    if os.path.exists(out) and os.listdir(out):
        raise UsageError(f"{out} exists and is not empty")
    os.makedirs(out, exist_ok=True)
    graphs = {}

    # DiT with the distillation LoRA merged
    progress.stage("dit", f"{os.path.join(avatar, 'base_model')} + lora/dmd_lora.safetensors")
    dit_cfg = _json(os.path.join(avatar, "base_model", "config.json"))
    base_sd = _weights(os.path.join(avatar, "base_model"), "diffusion_pytorch_model")
    lora_path = os.path.join(avatar, "lora", "dmd_lora.safetensors")
    if not os.path.isfile(lora_path):
        raise UsageError(f"{lora_path} not found (v1.5 runs distilled: the LoRA is part of the model)")
    merged = lora.LoraMerged(base_sd, open_checkpoint(lora_path), multiplier=LORA_MULTIPLIER, rank=LORA_RANK,
                             alpha=LORA_ALPHA)
    progress.info(f"LoRA merged into {len(merged.merged_keys())} weights")
    shapes = {k: base_sd.shape(k) for k in base_sd.keys()}
    entries, _, clamped = streamed.export_dit(
        shapes, dit_cfg, merged, out, persons=persons, weights=args.precision,
        segment_latents=(SEGMENT_FRAMES - 1) // 4 + 1, context_latents=(CONTEXT_FRAMES - 1) // 4 + 1,
        ref_index=REF_IMAGE_INDEX, mask_range=MASK_FRAME_RANGE, progress=lambda k: progress.info(f"wrote {k}"))
    if clamped:
        progress.info(f"{clamped} weights beyond the float16 range were clamped")
    graphs.update(entries)
    audio_channels = shapes["audio_proj.proj1_vf.weight"][1] // (8 * 5)
    caption = shapes["y_embedder.y_proj.0.weight"][1]

    # Whisper-large-v3 encoder
    wdir = os.path.join(avatar, "whisper-large-v3")
    progress.stage("audio-encoder", wdir)
    wcfg = _json(os.path.join(wdir, "config.json"))
    wmodel = whisper.build(_weights(wdir, "model"), wcfg)
    mel = wmodel.p("conv1.weight").shape[1]
    if wmodel.p("conv1.weight").shape[0] != audio_channels:
        raise UsageError(f"whisper width {wmodel.p('conv1.weight').shape[0]} is not the DiT's audio width "
                         f"{audio_channels}")
    for g in whisper.graphs(wmodel):
        graphs[g.key] = onnxio.export_graph(g, out, progress=progress, weights=args.precision)
    del wmodel

    # VAE
    vdir = os.path.join(base, "vae")
    progress.stage("vae", vdir)
    vmodel = vae.build(_weights(vdir, "diffusion_pytorch_model"), _json(os.path.join(vdir, "config.json")))
    for g in vae.graphs(vmodel, height=height, width=width, encoders=("whole",)):
        graphs[g.key] = onnxio.export_graph(g, out, progress=progress, weights=args.precision)
    stride = vmodel.spatial_stride
    z = vmodel.z_dim
    del vmodel

    # the prompt's embeddings
    progress.stage("text", os.path.join(base, "text_encoder"))
    import torch
    tmodel = text.build(_weights(os.path.join(base, "text_encoder"), "model"), storage_dtype=torch.bfloat16)
    spiece = os.path.join(base, "tokenizer", "spiece.model")
    if not os.path.isfile(spiece):
        raise UsageError(f"{spiece} not found (umT5's sentencepiece model; a tokenizer.json alone is not read)")
    tok = text.umt5.Tokenizer(spiece)
    emb = text.embeddings(tmodel, tok, args.prompt)
    if emb.shape[1] != caption:
        raise UsageError(f"text width {emb.shape[1]} is not the DiT's caption width {caption}")
    write_embeddings(os.path.join(out, "text_default.safetensors"), emb)
    # the negative prompt's, for the non-distilled schedule's text-audio guidance
    write_embeddings(os.path.join(out, "text_negative.safetensors"), text.embeddings(tmodel, tok, args.negative_prompt))
    del tmodel

    manifest = {
        "format": 1, "family": "longcat-avatar", "name": args.name,
        "license": "LongCat-Video (MIT), Whisper (Apache-2.0), umT5 (Apache-2.0): see the model cards",
        "video": {"fps": FPS, "width": width, "height": height, "segmentFrames": SEGMENT_FRAMES,
                  "contextFrames": CONTEXT_FRAMES, "temporalStride": 4, "spatialStride": stride,
                  "latentChannels": z, "patch": list(dit_cfg.get("patch_size", [1, 2, 2]))},
        "audio": {"sampleRate": 16000, "encoder": "whisper", "melBins": mel, "loudness": -23.0, "stride": 1},
        "sampler": {"type": "flow-match-euler", "schedule": "distilled", "distilledSteps": 8,
                    "shift": shift_of(base, avatar), "defaultSteps": 8},
        "guidance": {"type": "text-audio", "text": 4.0, "audio": 4.0},
        "continuation": {"refImageIndex": REF_IMAGE_INDEX, "maskFrameRange": MASK_FRAME_RANGE},
        "graphs": graphs,
        "tensors": {k: {"file": f, "sha256": onnxio.sha256_file(os.path.join(out, f))}
                    for k, f in (("text-default", "text_default.safetensors"),
                                 ("text-negative", "text_negative.safetensors"))},
    }
    write_manifest(out, manifest)
    progress.stage("done", out)
    return manifest


def parser():
    ap = argparse.ArgumentParser(prog="longcat-avatar", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", required=True, help="the folder holding LongCat-Video and LongCat-Video-Avatar-1.5")
    ap.add_argument("--out", required=True, help="the bundle folder to write (new or empty)")
    ap.add_argument("--precision", choices=("fp16", "fp32"), default="fp16")
    ap.add_argument("--persons", default="1,2,3", help="person counts to export DiT graphs for (default 1,2,3)")
    ap.add_argument("--prompt", default=DEFAULT_PROMPT, help="the prompt whose embeddings the bundle ships")
    ap.add_argument("--negative-prompt", default=NEGATIVE_PROMPT,
                    help="the negative prompt whose embeddings the bundle ships (default: the reference demo's)")
    ap.add_argument("--size", default="480x832", help="the bundle's default WIDTHxHEIGHT (default 480x832)")
    ap.add_argument("--name", default="longcat-avatar-1.5")
    ap.add_argument("-q", "--quiet", action="store_true")
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        run(args)
    except UsageError as e:
        print(f"longcat-avatar: {e}", file=sys.stderr)
        return 2
    return 0
