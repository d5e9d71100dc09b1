#!/usr/bin/python3
"""Full-size rehearsal of the LongCat-Video-Avatar 1.5 export, the parts other than the DiT (issue 19
item 5), completing the bundle whose six DiT graphs ``longcat_dit.py OUT --keep`` wrote.

    longcat_full_size.py LONGCAT BUNDLE [--weights DIR] [--parts checkpoints,audio-encoder,vae,text] [--keep-weights]

LONGCAT: a LongCat-Video checkout (6b3f4b8), imported through reference/longcat_stubs.py as
reference/longcat_vae_goldens.py does, only to build the REFERENCE ``AutoencoderKLWan`` at its real
configuration (its state dict gives the VAE file's key names and shapes). BUNDLE: the folder where
``longcat_dit.py BUNDLE --keep`` left ``dit_*.onnx`` + ``dit.onnx.data`` and ``rehearsal.json``.

1. Checkpoints in the README's ``weights/`` layout (under ``--weights``, default ``BUNDLE/../weights``),
   random weights in the real shapes, each file written one tensor at a time:
   - ``LongCat-Video-Avatar-1.5/whisper-large-v3``: the encoder of ``openai/whisper-large-v3`` under
     transformers' ``WhisperForConditionalGeneration`` names (d_model 1280, 32 layers, 20 heads, FFN
     5120, 128 mel bins, 1500 positions: 637 M parameters), float16 as published. The decoder's tensors
     are left out: the exporter never reads them (it reads by key).
   - ``LongCat-Video/vae``: the reference ``AutoencoderKLWan`` (base_dim 96, z 16, dim_mult 1,2,4,4,
     2 residual blocks: Wan2.1's VAE, 127 M), float32.
   - ``LongCat-Video/text_encoder``: umT5-XXL's encoder under transformers' ``UMT5EncoderModel`` names
     (vocab 256384, d_model 4096, 64 heads, FFN 10240, 24 blocks, 32 buckets per block: 5.68 G),
     bfloat16 as published, in 5 shards with an index; ``tokenizer/spiece.model`` is the fixture's.
2. The exporter's parts as ``tools/export/longcat-avatar`` runs them (a4jexport.longcat.cli's
   ``export_audio_encoder``, ``export_vae``, ``export_text``, ``bundle_manifest``: fp16, 480x832), each
   in its own child process whose wall time and peak RSS (``wait4``) are recorded; the DiT entries
   are the graphs longcat_dit.py wrote (the exporter's ``streamed.export_dit``), with their digests: the
   complete person pairs of a DiT run that was stopped early (P = 1 at least; the manifest allows that).
3. ``avatar-bundle.json`` written; the figures printed and added to BUNDLE/rehearsal.json under
   ``"parts"``. The checkpoints are deleted at the end unless --keep-weights.
"""
import argparse
import importlib
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT = os.path.dirname(HERE)
sys.path.insert(0, EXPORT)
sys.path.insert(0, os.path.join(EXPORT, "reference"))

from a4jexport import onnxio, trtprofiles  # noqa: E402
from a4jexport.longcat import cli, dit  # noqa: E402
from a4jexport.manifest import write_manifest  # noqa: E402
from a4jexport.progress import Progress  # noqa: E402
import longcat_dit  # noqa: E402

FIXTURES = os.path.join(EXPORT, "tests", "fixtures")
WHISPER = dict(d_model=1280, encoder_layers=32, encoder_attention_heads=20, encoder_ffn_dim=5120, num_mel_bins=128,
               max_source_positions=1500)
UMT5 = dict(vocab=256384, d_model=4096, heads=64, d_ff=10240, layers=24, buckets=32)
WAN_VAE = dict(base_dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
               temperal_downsample=[False, True, True])
SIZE = (480, 832)
_ST = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32"}


def random_tensor(key, shape):
    """Seeded by the key: N(0, 1/fan_in) matrices, norm weights/gammas near 1, small vectors."""
    g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
    if len(shape) >= 2 and not key.endswith("gamma"):
        fan = 1
        for d in shape[1:]:
            fan *= d
        return torch.randn(shape, generator=g) / fan ** 0.5
    if "norm" in key or key.endswith("gamma"):
        return 1 + 0.1 * torch.randn(shape, generator=g)
    return 0.01 * torch.randn(shape, generator=g)


def write_streamed(path, shapes, dtype):
    """A safetensors file of random tensors ``{key: shape}`` in ``dtype``, one tensor in memory at a time."""
    header, off = {}, 0
    size = torch.tensor([], dtype=dtype).element_size()
    for k, s in shapes.items():
        n = size
        for d in s:
            n *= d
        header[k] = {"dtype": _ST[dtype], "shape": list(s), "data_offsets": [off, off + n]}
        off += n
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for k, s in shapes.items():
            t = random_tensor(k, s).to(dtype).contiguous()
            f.write((t.view(torch.int16) if dtype is torch.bfloat16 else t).numpy().tobytes())
    return off


def whisper_shapes(c=WHISPER):
    d, f, p = c["d_model"], c["encoder_ffn_dim"], "model.encoder."
    shapes = {p + "embed_positions.weight": (c["max_source_positions"], d), p + "conv1.weight": (d, c["num_mel_bins"], 3),
              p + "conv1.bias": (d,), p + "conv2.weight": (d, d, 3), p + "conv2.bias": (d,)}
    for i in range(c["encoder_layers"]):
        b = f"{p}layers.{i}."
        for n in ("q", "k", "v", "out"):
            shapes[f"{b}self_attn.{n}_proj.weight"] = (d, d)
            if n != "k":
                shapes[f"{b}self_attn.{n}_proj.bias"] = (d,)
        for n in ("self_attn_layer_norm", "final_layer_norm"):
            shapes[f"{b}{n}.weight"] = (d,)
            shapes[f"{b}{n}.bias"] = (d,)
        shapes.update({b + "fc1.weight": (f, d), b + "fc1.bias": (f,), b + "fc2.weight": (d, f), b + "fc2.bias": (d,)})
    shapes.update({p + "layer_norm.weight": (d,), p + "layer_norm.bias": (d,)})
    return shapes


def umt5_shapes(c=UMT5):
    d, f = c["d_model"], c["d_ff"]
    shapes = {"shared.weight": (c["vocab"], d)}
    for i in range(c["layers"]):
        b = f"encoder.block.{i}.layer."
        for n in "qkvo":
            shapes[f"{b}0.SelfAttention.{n}.weight"] = (d, d)
        shapes[f"{b}0.SelfAttention.relative_attention_bias.weight"] = (c["buckets"], c["heads"])
        shapes[f"{b}0.layer_norm.weight"] = (d,)
        shapes.update({f"{b}1.DenseReluDense.wi_0.weight": (f, d), f"{b}1.DenseReluDense.wi_1.weight": (f, d),
                       f"{b}1.DenseReluDense.wo.weight": (d, f), f"{b}1.layer_norm.weight": (d,)})
    shapes["encoder.final_layer_norm.weight"] = (d,)
    return shapes


def vae_shapes(checkout):
    """{key: shape} of the reference AutoencoderKLWan at Wan2.1's real configuration."""
    import longcat_stubs
    import longcat_vae_goldens as vg
    longcat_stubs.STUBS.update(vg.DIFFUSERS)
    longcat_stubs.COPIED.append("longcat_video/modules/autoencoder_kl_wan.py")
    with tempfile.TemporaryDirectory(prefix="longcat-ref-") as tmp:
        longcat_stubs.import_reference(checkout, tmp)
        ak = importlib.import_module("longcat_video.modules.autoencoder_kl_wan")
        model = ak.AutoencoderKLWan(**dict(vg.CONFIG, **WAN_VAE))  # 0.5 GB: torch 1.13 has no meta context
        return {k: tuple(v.shape) for k, v in model.state_dict().items()}, dict(vg.CONFIG, **WAN_VAE)


def make_weights(root, checkout):
    t0 = time.time()
    base = os.path.join(root, "LongCat-Video")
    avatar = os.path.join(root, "LongCat-Video-Avatar-1.5")
    wdir = os.path.join(avatar, "whisper-large-v3")
    os.makedirs(wdir, exist_ok=True)
    with open(os.path.join(wdir, "config.json"), "w") as f:
        json.dump(dict(WHISPER, _name_or_path="openai/whisper-large-v3", model_type="whisper"), f, indent=2)
    sizes = {"whisper": write_streamed(os.path.join(wdir, "model.safetensors"), whisper_shapes(), torch.float16)}
    vdir = os.path.join(base, "vae")
    os.makedirs(vdir, exist_ok=True)
    vshapes, vcfg = vae_shapes(checkout)
    with open(os.path.join(vdir, "config.json"), "w") as f:
        json.dump(dict(vcfg, _class_name="AutoencoderKLWan"), f, indent=2)
    sizes["vae"] = write_streamed(os.path.join(vdir, "diffusion_pytorch_model.safetensors"), vshapes, torch.float32)
    tdir = os.path.join(base, "text_encoder")
    os.makedirs(tdir, exist_ok=True)
    shapes = umt5_shapes()
    keys = list(shapes)
    shards = [keys[i::5] for i in range(5)]
    weight_map, sizes["text"] = {}, 0
    for i, ks in enumerate(shards):
        name = f"model-{i + 1:05d}-of-00005.safetensors"
        sizes["text"] += write_streamed(os.path.join(tdir, name), {k: shapes[k] for k in ks}, torch.bfloat16)
        weight_map.update({k: name for k in ks})
    with open(os.path.join(tdir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    os.makedirs(os.path.join(base, "tokenizer"), exist_ok=True)
    shutil.copyfile(os.path.join(FIXTURES, "enc", "google", "umt5-xxl", "spiece.model"),
                    os.path.join(base, "tokenizer", "spiece.model"))
    params = {"whisper": sum(_numel(s) for s in whisper_shapes().values()), "vae": sum(_numel(s) for s in vshapes.values()),
              "text": sum(_numel(s) for s in shapes.values())}
    return base, avatar, {"seconds": round(time.time() - t0, 1), "bytes": sizes, "parameters": params}


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def in_child(fn):
    """Runs ``fn()`` in a forked child; returns (its result, wall seconds, peak RSS GB of the child)."""
    r, w = os.pipe()
    t0 = time.time()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = json.dumps({"ok": fn()})
        except BaseException as e:  # reported to the parent
            out = json.dumps({"error": f"{type(e).__name__}: {e}"})
        with os.fdopen(w, "w") as f:
            f.write(out)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    _, status, usage = os.wait4(pid, 0)
    res = json.loads(data) if data else {"error": f"child died (status {status})"}
    if "error" in res:
        raise RuntimeError(res["error"])
    return res["ok"], round(time.time() - t0, 1), round(usage.ru_maxrss / 2 ** 20, 2)


PARTS = ("checkpoints", "audio-encoder", "vae", "text")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("longcat")
    ap.add_argument("bundle")
    ap.add_argument("--weights")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help="the parts to run now (default all; results kept in BUNDLE/parts.json between runs)")
    ap.add_argument("--keep-weights", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    root = a.weights or os.path.join(os.path.dirname(os.path.abspath(a.bundle)), "weights")
    base, avatar = os.path.join(root, "LongCat-Video"), os.path.join(root, "LongCat-Video-Avatar-1.5")
    os.makedirs(a.bundle, exist_ok=True)
    state_path = os.path.join(a.bundle, "parts.json")
    state = {}
    if os.path.isfile(state_path):
        with open(state_path) as f:
            state = json.load(f)
    progress = Progress(quiet=False)
    dit_shapes = {k: list(v) for k, v in dit.checkpoint_shapes(longcat_dit.REAL).items()}
    jobs = {
        "checkpoints": lambda: make_weights(root, a.longcat),
        "audio-encoder": lambda: cli.export_audio_encoder(avatar, a.bundle, "fp16", dit_shapes, progress),
        "vae": lambda: cli.export_vae(base, a.bundle, "fp16", SIZE[0], SIZE[1], progress),
        "text": lambda: cli.export_text(base, a.bundle, cli.DEFAULT_PROMPT, cli.NEGATIVE_PROMPT, dit_shapes,
                                        progress),
    }
    for part in [p for p in a.parts.split(",") if p]:
        if part not in jobs:
            sys.exit(f"unknown part {part!r}: one of {', '.join(PARTS)}")
        result, secs, rss = in_child(jobs[part])
        state[part] = {"result": result, "wall": secs, "peak_rss_gb": rss}
        print(f"{part}: {secs} s, peak RSS {rss} GB", flush=True)
        with open(state_path, "w") as f:
            json.dump(state, f, indent=2)

    report_path = os.path.join(a.bundle, "rehearsal.json")
    missing = [p for p in PARTS if p not in state]
    if missing or not os.path.isfile(report_path):
        print(f"not writing the manifest yet: missing {missing or 'the DiT (longcat_dit.py BUNDLE --keep)'}")
        return
    with open(report_path) as f:
        report = json.load(f)
    if report.get("blocks") != longcat_dit.REAL["depth"]:
        sys.exit(f"{report_path}: the DiT rehearsal ran {report.get('blocks')} blocks, not all "
                 f"{longcat_dit.REAL['depth']}")
    done = set(report["graph_bytes"])
    persons = [p for p in (1, 2, 3) if dit.graph_key("first", p) in done and dit.graph_key("continuation", p) in done]
    if 1 not in persons:
        sys.exit(f"{report_path}: the DiT rehearsal has not finished the one-person pair yet")
    if not report.get("complete", True):
        print(f"the DiT rehearsal stopped early: the bundle gets the DiT pairs for persons {persons}")
    audio, mel = state["audio-encoder"]["result"]
    vae_graphs, stride, z = state["vae"]["result"]
    graphs = dict(audio, **vae_graphs)
    # the DiT graphs longcat_dit.py wrote (the exporter's streamed.export_dit), with their digests
    t0 = time.time()
    data = os.path.join(a.bundle, "dit.onnx.data")
    shared = {"file": "dit.onnx.data", "sha256": onnxio.sha256_file(data), "size": os.path.getsize(data)}
    for p in persons:
        for layout in ("first", "continuation"):
            key, name = dit.graph_key(layout, p), dit.graph_file(layout, p)
            graphs[key] = {"file": name, "sha256": onnxio.sha256_file(os.path.join(a.bundle, name)),
                           "externalData": [dict(shared)]}
    state["dit-digests"] = {"wall": round(time.time() - t0, 1)}
    cfg = dict(longcat_dit.REAL, _class_name="LongCatVideoAvatarTransformer3DModel")
    manifest = cli.bundle_manifest("longcat-avatar-1.5-rehearsal", SIZE[0], SIZE[1], stride, z, mel, cfg, 7.0,
                                   graphs, state["text"]["result"])
    write_manifest(a.bundle, manifest)
    trtprofiles.write(a.bundle, manifest)
    report["parts"] = {k: {n: v for n, v in e.items() if n != "result"} for k, e in state.items()}
    report["parts"]["checkpoints"].update(state["checkpoints"]["result"][2])
    report["graphs"] = sorted(graphs)
    with open(report_path, "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report["parts"], indent=2))
    if not a.keep_weights:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
