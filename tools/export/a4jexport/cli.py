"""``tools/export/stableavatar``: the published StableAvatar checkpoints -> an avatar4j bundle.

Inputs, laid out as StableAvatar's README / inference.sh have users download them:
  --pretrained-model DIR  Wan2.1-Fun(-V1.1)-1.3B-InP: config.json, diffusion_pytorch_model.safetensors
                          (or its .index.json), Wan2.1_VAE.pth,
                          models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth,
                          models_t5_umt5-xxl-enc-bf16.pth, google/umt5-xxl/spiece.model
  --transformer FILE      StableAvatar-1.3B/transformer3d-square.pt (or -rec-vec.pt)
  --wav2vec DIR           wav2vec2-base-960h: config.json + model.safetensors or pytorch_model.bin

Every part is built and exported one after the other (wav2vec2, CLIP, VAE, umT5 prompts, DiT), each
from a lazy checkpoint, and freed before the next, so the peak memory is one part's. The parts are
the modules ``a4jexport.stableavatar.{wav2vec2,clip,vae,umt5,dit}`` with the ``build`` / ``graphs`` API
of EXPORT-PLAN.md; a part that is missing from the checkout is a clear error.
"""
import argparse
import gc
import importlib
import inspect
import json
import os
import shutil
import sys

import torch

from . import manifest as mf
from . import trtprofiles
from .checkpoint import open_checkpoint
from .onnxio import DEFAULT_EXTERNAL_THRESHOLD, export_graph, share_external_data
from .progress import Progress

PRETRAINED_FILES = [
    ("config.json", "the Wan2.1-Fun transformer's config"),
    (("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.safetensors.index.json"),
     "the Wan2.1-Fun 1.3B transformer weights"),
    ("Wan2.1_VAE.pth", "the Wan2.1 VAE"),
    ("models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth", "the CLIP image encoder"),
    ("models_t5_umt5-xxl-enc-bf16.pth", "the umT5-XXL text encoder"),
    ("google/umt5-xxl/spiece.model", "umT5's sentencepiece tokenizer"),
]
DEFAULT_PROMPT = "The protagonist is singing"  # inference.py's --validation_prompts default
CLIP_TOKENS = 257  # the reference DiT's cross-attention takes context[:, :257] as the image tokens
ORT_VARIANT = "onnxruntime"  # the manifest variant name ONNX Runtime loads (docs/BUNDLE-FORMAT.md)


class UsageError(Exception):
    """An input problem the user can fix (missing file, bad option); printed without a traceback."""


def _first_existing(base, names):
    for n in names:
        if os.path.isfile(os.path.join(base, n)):
            return os.path.join(base, n)
    return None


def check_inputs(args):
    """Resolves every input file; raises UsageError naming the first missing one and what it is."""
    files = {}
    pm = args.pretrained_model
    if not os.path.isdir(pm):
        raise UsageError(f"--pretrained-model {pm} is not a folder (Wan2.1-Fun-V1.1-1.3B-InP)")
    for names, what in PRETRAINED_FILES:
        names = (names,) if isinstance(names, str) else names
        p = _first_existing(pm, names)
        if p is None:
            raise UsageError(f"missing {os.path.join(pm, names[0])}: {what} (from Wan2.1-Fun-V1.1-1.3B-InP)")
        files[names[0]] = p
    if not os.path.isfile(args.transformer):
        raise UsageError(f"missing --transformer {args.transformer}: StableAvatar's transformer3d-square.pt"
                         " (or -rec-vec.pt) from StableAvatar-1.3B")
    files["transformer"] = args.transformer
    wv = args.wav2vec
    if not os.path.isfile(os.path.join(wv, "config.json")):
        raise UsageError(f"missing {os.path.join(wv, 'config.json')}: the wav2vec2-base-960h config")
    from .stableavatar.wav2vec2 import WEIGHT_FILES
    p = _first_existing(wv, WEIGHT_FILES)
    if p is None:
        raise UsageError(f"missing {os.path.join(wv, 'model.safetensors')} (or pytorch_model.bin):"
                         " the wav2vec2-base-960h weights")
    files["wav2vec"] = p
    return files


def load_part(name, required=("build", "graphs")):
    """``a4jexport.stableavatar.<name>``, or UsageError when the checkout does not have it."""
    mod_name = f"{__package__}.stableavatar.{name}"
    try:
        mod = importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        if e.name and (e.name == mod_name or mod_name.startswith(e.name + ".")):
            raise UsageError(f"the exporter part {mod_name} is missing from this checkout"
                             f" (tools/export/a4jexport/stableavatar/{name}.py)") from None
        raise
    for fn in required:
        if not callable(getattr(mod, fn, None)):
            raise UsageError(f"the exporter part {mod_name} has no {fn}() function")
    return mod


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _export_all(gs, bundle, entries, progress, threshold, weights):
    for g in gs:
        if g.key in entries:
            raise RuntimeError(f"two graphs for the manifest key {g.key!r}")
        entries[g.key] = export_graph(g, bundle, external_threshold=threshold, progress=progress,
                                      weights=weights)


def _static_dims(bundle, entry, name):
    """The dims of graph input/output ``name`` of a written graph (0 where symbolic), or None."""
    import onnx
    g = onnx.load(os.path.join(bundle, entry["file"]), load_external_data=False).graph
    for v in list(g.input) + list(g.output):
        if v.name == name:
            return [d.dim_value for d in v.type.tensor_type.shape.dim]
    return None


def check_consistency(bundle, entries, tensors, dit):
    """The DiT's input widths against what the other parts produce (before its long export).

    The parts come from different files (Wan2.1-Fun's, StableAvatar's, wav2vec2's); a mixed set (e.g.
    a 14B Wan-Fun folder, wav2vec2-large) would otherwise give a bundle that fails at its first
    window. Raises UsageError naming both sides; only dimensions both sides fix are compared.
    """
    import struct as _struct
    want = {"audio": dit.adapter.proj.wshape[1], "text": dit.text0.wshape[1], "clip": dit.img1.wshape[1],
            "latent": dit.out_dim, "condition": dit.in_dim - dit.out_dim}
    have = []  # (what, value, source)
    if "audio-encoder" in entries:
        d = _static_dims(bundle, entries["audio-encoder"], "last_hidden_state")
        if d and len(d) == 3:
            have.append(("audio", d[2], "wav2vec2's hidden size (last_hidden_state)"))
    if "image-encoder" in entries:
        d = _static_dims(bundle, entries["image-encoder"], "image_embeds")
        if d and len(d) == 3:
            have.append(("clip", d[2], "the CLIP ViT width (image_embeds)"))
            if d[1] and d[1] != CLIP_TOKENS:
                raise UsageError(f"the CLIP image encoder gives {d[1]} tokens; the DiT takes the first {CLIP_TOKENS}"
                                 " context tokens as the image's (224 px at patch 14 gives 257)")
    if "vae-encoder" in entries:
        d = _static_dims(bundle, entries["vae-encoder"], "latent")
        if d and len(d) == 5:
            have.append(("latent", d[1], "the VAE's latent channels (z_dim)"))
            have.append(("condition", d[1] + 4, "the VAE's latent channels + 4 mask channels"))
    lengths = []
    for key, f in tensors.items():
        with open(os.path.join(bundle, f), "rb") as fh:
            n = _struct.unpack("<Q", fh.read(8))[0]
            shape = json.loads(fh.read(n))["embeddings"]["shape"]
        have.append(("text", shape[1], f"umT5's width ({f})"))
        lengths.append((shape[0], f))
    names = {"audio": "its audio adapter input (vocal_projector)", "text": "its text embedding (text_embedding.0)",
             "clip": "its CLIP projection (img_emb.proj.1)", "latent": "its output channels (head.head)",
             "condition": "its conditioning channels (patch_embedding in_dim - out_dim)"}
    for what, value, source in have:
        if value and value != want[what]:
            raise UsageError(f"the checkpoints do not belong together: {source} is {value}, but the DiT's"
                             f" {names[what]} takes {want[what]}")
    for n, f in lengths:
        if n > dit.text_len:  # the graph's Pad would crop the prompt silently (the reference fails)
            raise UsageError(f"{f}: the prompt has {n} tokens, more than the DiT's text_len {dit.text_len}"
                             " (config.json)")


def run(args, progress=None):
    """Exports the bundle; returns the manifest dict."""
    progress = progress or Progress(quiet=args.quiet)
    try:
        width, height = mf.parse_size(args.size)
    except ValueError as e:
        raise UsageError(f"--size: {e}") from None
    files = check_inputs(args)
    parts = {n: load_part(n) for n in ("wav2vec2", "clip", "vae", "umt5", "dit")}
    if not callable(getattr(parts["umt5"], "precompute", None)) or not hasattr(parts["umt5"], "Tokenizer"):
        raise UsageError("the exporter part umt5 has no precompute()/Tokenizer for the prompt embeddings")
    bundle = args.out
    if os.path.exists(bundle) and not os.path.isdir(bundle):
        raise UsageError(f"--out {bundle} exists and is not a folder")
    if os.path.isdir(bundle) and os.listdir(bundle) and not args.force:
        raise UsageError(f"--out {bundle} is not empty (use --force to overwrite its files)")
    os.makedirs(bundle, exist_ok=True)
    threshold = args.external_threshold
    entries = {}
    pm = args.pretrained_model

    def step(name, checkpoint, build_kwargs, graphs_kwargs):
        progress.stage(name, f"reading {checkpoint}")
        sd = open_checkpoint(checkpoint)
        try:
            model = parts[name].build(sd, **build_kwargs)
            progress.info(f"built ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters,"
                          f" {sd.bytes_read / 2 ** 20:.0f} MiB read)")
            _export_all(parts[name].graphs(model, **graphs_kwargs), bundle, entries, progress, threshold,
                        args.precision)
        finally:
            sd.close()
        del model
        gc.collect()

    with open(os.path.join(os.path.dirname(files["wav2vec"]), "config.json"), encoding="utf-8") as f:
        w2v_config = json.load(f)
    step("wav2vec2", files["wav2vec"], {"config": w2v_config}, {})
    step("clip", files["models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"],
         {"source": "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"}, {})
    step("vae", files["Wan2.1_VAE.pth"], {"source": "Wan2.1_VAE.pth"}, {})

    # umT5: the prompt embeddings (and the text-encoder graph only when asked: 22.7 GB of fp32 weights)
    progress.stage("umt5", f"reading {files['models_t5_umt5-xxl-enc-bf16.pth']}")
    umt5 = parts["umt5"]
    sd = open_checkpoint(files["models_t5_umt5-xxl-enc-bf16.pth"])
    try:
        kw = {"source": "models_t5_umt5-xxl-enc-bf16.pth"}
        if not args.text_encoder and _accepts(umt5.build, "storage_dtype"):
            kw["storage_dtype"] = torch.bfloat16  # the file is bf16: lossless, half the memory
        model = umt5.build(sd, **kw)
    finally:
        sd.close()
    tok = umt5.Tokenizer(files["google/umt5-xxl/spiece.model"])
    progress.info("encoding the default and negative prompts")
    pkw = {"prompt": args.prompt} if args.prompt is not None else {"prompt": DEFAULT_PROMPT}
    if args.negative_prompt is not None:
        pkw["negative"] = args.negative_prompt
    tensors = umt5.precompute(model, tok, bundle, **pkw)
    if args.text_encoder:
        _export_all(umt5.graphs(model), bundle, entries, progress, threshold,
                        args.precision)
    del model
    gc.collect()

    # DiT: Wan-Fun's weights with StableAvatar's transformer file over them
    progress.stage("dit", f"reading {files['diffusion_pytorch_model.safetensors']} and {files['transformer']}")
    base = open_checkpoint(files["diffusion_pytorch_model.safetensors"])
    tr = open_checkpoint(files["transformer"])
    try:
        model = parts["dit"].build(base, config=files["config.json"], transformer=tr)
        progress.info(f"built ({sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters)")
        text_len = int(getattr(model, "text_len", 512))
        if all(hasattr(model, a) for a in ("adapter", "text0", "img1", "out_dim", "in_dim", "text_len")):
            check_consistency(bundle, entries, tensors, model)
        _export_all(parts["dit"].graphs(model), bundle, entries, progress, threshold,
                        args.precision)
        if args.dit_variants == "both":
            # ONNX Runtime's variant: fused com.microsoft::MultiHeadAttention (TensorRT loads the plain
            # graph); same initializers, so it shares dit.onnx.data (docs/BUNDLE-FORMAT.md "Graph variants")
            mha = parts["dit"].graphs(model, attention="mha")
            for g in mha:
                g.key = f"{g.key}@{ORT_VARIANT}"
            _export_all(mha, bundle, entries, progress, threshold, args.precision)
            for g in mha:
                entries[g.key] = share_external_data(bundle, entries[g.key], entries[g.key.split("@")[0]],
                                                     progress)
    finally:
        base.close()
        tr.close()
    del model
    gc.collect()

    # text: the tokenizer model ships with the bundle, and maxTokens is the DiT's text_len (config.json):
    # the SDK pads every prompt to maxTokens rows and refuses longer ones (docs/BUNDLE-FORMAT.md); the
    # reference cannot run a prompt longer than text_len either
    text = umt5.text_manifest(tok) if callable(getattr(umt5, "text_manifest", None)) else None
    if text is not None:
        shutil.copyfile(files["google/umt5-xxl/spiece.model"], os.path.join(bundle, text["model"]["file"]))
        text["maxTokens"] = min(text["maxTokens"], text_len)

    progress.stage("manifest")
    m = mf.stableavatar_manifest(bundle, entries, tensors, name=args.name, license=args.license,
                                 width=width, height=height, default_steps=args.steps, text=text)
    p = mf.write_manifest(bundle, m)
    progress.info(f"wrote {p}")
    try:  # the shapes a TensorRT engine accepts, read from the graphs just written
        p = trtprofiles.write(bundle, m, w2v_config)
    except ValueError as e:
        raise UsageError(str(e)) from None
    progress.info(f"wrote {p}")
    return m


def parser():
    p = argparse.ArgumentParser(
        prog="tools/export/stableavatar",
        description="Export the published StableAvatar checkpoints (Wan2.1-Fun 1.3B + StableAvatar-1.3B +"
                    " wav2vec2-base-960h) to an avatar4j model bundle.")
    p.add_argument("--pretrained-model", required=True, metavar="DIR",
                   help="Wan2.1-Fun-V1.1-1.3B-InP folder (config.json, diffusion_pytorch_model.safetensors,"
                        " Wan2.1_VAE.pth, models_clip_*.pth, models_t5_umt5-xxl-enc-bf16.pth, google/umt5-xxl/)")
    p.add_argument("--transformer", required=True, metavar="FILE",
                   help="StableAvatar-1.3B/transformer3d-square.pt or transformer3d-rec-vec.pt")
    p.add_argument("--wav2vec", required=True, metavar="DIR", help="wav2vec2-base-960h folder")
    p.add_argument("--out", required=True, metavar="BUNDLE", help="bundle folder to write")
    p.add_argument("--size", default="512x512",
                   help="default output size WIDTHxHEIGHT written to the manifest: 512x512 (square model),"
                        " 480x832 or 832x480 (rec-vec model); the graphs take any multiple of 16")
    p.add_argument("--precision", choices=("fp32", "fp16"), default="fp32",
                   help="stored weights: fp16 halves the bundle (float16 initializers + Cast nodes; graph"
                        " inputs, outputs and arithmetic stay float32)")
    p.add_argument("--prompt", default=None, help=f"default prompt, precomputed (default {DEFAULT_PROMPT!r})")
    p.add_argument("--negative-prompt", default=None,
                   help="negative prompt, precomputed (default: the reference's Chinese negative prompt)")
    p.add_argument("--text-encoder", action="store_true",
                   help="also export the umT5 text-encoder graph (custom prompts; ~23 GB fp32)")
    p.add_argument("--dit-variants", choices=("both", "plain"), default="both",
                   help="both (default): dit.onnx with plain MatMul-Softmax-MatMul attention (TensorRT fuses it)"
                        " and its ONNX Runtime variant dit_mha.onnx (com.microsoft::MultiHeadAttention), sharing"
                        " one weights file; plain: dit.onnx only (half the DiT export time)")
    p.add_argument("--steps", type=int, default=50, help="sampler.defaultSteps (inference.sh: 50)")
    p.add_argument("--name", default="stableavatar-1.3b", help="manifest name")
    p.add_argument("--license", default="Apache-2.0 (StableAvatar, Wan2.1); see the model cards",
                   help="manifest license text")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out folder")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--external-threshold", type=int, default=DEFAULT_EXTERNAL_THRESHOLD,
                   help=argparse.SUPPRESS)
    return p


def run_command(tool, run_fn, args):
    """Runs an exporter command and returns its exit status: 2 for a UsageError, 1 when a checkpoint
    does not fit (missing key, wrong shape, bad file: the message names it), 0 after printing the
    bundle folder."""
    try:
        run_fn(args)
    except UsageError as e:
        print(f"{tool}: error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, KeyError, ValueError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"{tool}: error: {msg}", file=sys.stderr)
        return 1
    print(args.out)
    return 0


def main(argv=None):
    return run_command("tools/export/stableavatar", run, parser().parse_args(argv))
