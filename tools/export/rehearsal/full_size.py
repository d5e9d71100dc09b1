#!/usr/bin/python3
"""Full-size rehearsal of the exporter (issue #17 item 5, export half): random checkpoints with the
REAL StableAvatar 1.3B shapes, exported with the documented command under ``/usr/bin/time -v``.

    full_size.py OUT_DIR [--ref REF_CHECKOUT] [--transformers WHEEL] [--keep] [--only-write]
                         [--precision fp32|fp16]

1. Shapes: the REFERENCE modules (reference/*_goldens.py's imports and stubs, one process per part)
   are instantiated at the published configurations with ONE block per stack (so that making the shape
   table costs < 1 GB); the block keys are then repeated to the published depths, and the two
   vocabulary tables are given their published row counts (the modules are built with a small
   vocabulary):
   - DiT (Wan2.1-Fun 1.3B + StableAvatar adapter): dim 1536, 12 heads, 30 blocks, FFN 8960, freq 256,
     text 4096 x 512 tokens, CLIP 1280, audio 768 -> 1536 (dit_goldens' REAL): 1.75 G parameters
   - umT5-XXL encoder: vocab 256384, dim 4096, 64 heads, FFN 10240, 24 blocks, 32 buckets, per-layer
     positions (Wan2.1 t5.umt5_xxl): 5.68 G parameters, bf16 as published
   - CLIP XLM-RoBERTa-large + ViT-H/14 (wan_image_encoder.clip_xlm_roberta_vit_h_14): 32 vision
     blocks of 1280, 24 text blocks of 1024, vocab 250002, 514 positions: 1.2 G parameters, fp32
   - Wan2.1 VAE (z_dim 16, dim 96), whole: 127 M parameters
   - wav2vec2-base-960h (Wav2Vec2ForCTC, base config): 94 M parameters
2. Writing: every tensor is generated and written on its own (safetensors: header first, then each
   tensor; torch zip files: written entry by entry with the pickle of the whole dict made from
   placeholders), so writing needs about one tensor of memory (the 1.05 G-row umT5 embedding is written
   in slices). Values: N(0, 1/fan_in) for matrices, 1 +- 0.1 for norm weights, small biases.
3. Export: ``/usr/bin/time -v tools/export/stableavatar --pretrained-model ... --transformer ...
   --wav2vec ... --out OUT_DIR/bundle``; the progress lines are read as they come and the child's RSS
   is sampled every 0.2 s, so each part's (wav2vec2, clip, vae, umt5, dit, manifest) wall time and peak
   RSS are reported, next to time's totals. The figures are printed and written to
   OUT_DIR/rehearsal.json. The checkpoints and the bundle are deleted at the end unless --keep.

Disk: 30.3 GB of checkpoints (DiT 6.3 GB base safetensors + 7.0 GB transformer3d-square.pt, umT5 11.4
GB, CLIP 4.8 GB, VAE 0.5 GB, wav2vec2 0.4 GB), the fp32 bundle (11.1 GB) and the DiT tensors torch stages
during its export (up to 14 GB with the ONNX Runtime variant): about 55 GB at the peak. Measured: 4 min
35 s, 15.8 GB peak RSS (BENCHMARKS.md).
"""
import argparse
import json
import math
import os
import pickle
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT = os.path.dirname(HERE)
REFDIR = os.path.join(EXPORT, "reference")
ROOT = os.path.dirname(os.path.dirname(EXPORT))
WAN = "Wan2.1-Fun-V1.1-1.3B-InP"
CLIP_FILE = "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth"
T5_FILE = "models_t5_umt5-xxl-enc-bf16.pth"
DIT_CONFIG = {"_class_name": "WanModel", "_diffusers_version": "0.30.0", "model_type": "i2v", "text_len": 512,
              "in_dim": 36, "dim": 1536, "ffn_dim": 8960, "freq_dim": 256, "out_dim": 16, "num_heads": 12,
              "num_layers": 30, "eps": 1e-06}
W2V_CONFIG = {"architectures": ["Wav2Vec2ForCTC"], "model_type": "wav2vec2", "hidden_size": 768,
              "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
              "conv_dim": [512] * 7, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
              "conv_bias": False, "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16,
              "feat_extract_norm": "group", "feat_extract_activation": "gelu", "hidden_act": "gelu",
              "do_stable_layer_norm": False, "layer_norm_eps": 1e-5, "vocab_size": 32, "hidden_dropout": 0.1,
              "attention_dropout": 0.1, "activation_dropout": 0.1, "feat_proj_dropout": 0.1,
              "final_dropout": 0.1, "layerdrop": 0.1, "apply_spec_augment": True, "mask_time_prob": 0.05}
SMALL_VOCAB = 7   # the modules are built with it; the tables get their published rows afterwards


# ------------------------------------------------------------------------------------------------
# shape tables from the reference modules (run as: full_size.py --shapes PART REF TRANSFORMERS OUT.json)

def _repeat(shapes, pattern, n):
    """Keys ``<pattern with {}>`` of block 0 repeated for blocks 0..n-1 (order: as the module lists)."""
    rx = re.compile("^" + re.escape(pattern).replace(r"\{\}", r"(\d+)") + r"(\..*)$")
    out = OrderedDict()
    block0 = [(k, v) for k, v in shapes.items() if rx.match(k)]
    done = False
    for k, v in shapes.items():
        if rx.match(k):
            if not done:
                for i in range(n):
                    for k0, v0 in block0:
                        out[pattern.format(i) + rx.match(k0).group(2)] = v0
                done = True
        else:
            out[k] = v
    return out


def shapes_dit(ref, transformers):
    import dit_goldens
    tmp = tempfile.mkdtemp(prefix="dit-shapes-")
    tr, vp, vf = dit_goldens.import_reference(ref, tmp)
    size = dict(dit_goldens.REAL, LAYERS=1)
    kwargs = {k: v for k, v in DIT_CONFIG.items() if not k.startswith("_")}
    kwargs["num_layers"] = 1
    model = tr.WanTransformer3DFantasyModel(text_dim=size["TEXT_DIM"], patch_size=(1, 2, 2), qk_norm=True,
                                            window_size=(-1, -1), cross_attn_norm=True, **kwargs)
    model.img_emb = tr.MLPProj(size["CLIP_DIM"], size["DIM"])
    model.vocal_projector = vp.FantasyTalkingVocalCondition1BModel(
        audio_in_dim=size["AUDIO_DIM"], audio_proj_dim=size["DIM"], dit_dim=size["DIM"])
    shapes = OrderedDict((k, list(v.shape)) for k, v in model.state_dict().items())
    shutil.rmtree(tmp, ignore_errors=True)
    return _repeat(shapes, "blocks.{}", DIT_CONFIG["num_layers"])


def shapes_umt5(ref, transformers):
    import enc_goldens
    tmp = tempfile.mkdtemp(prefix="t5-shapes-")
    clipmod, t5mod = enc_goldens.import_reference(ref, tmp)
    model = t5mod.WanT5EncoderModel(vocab=SMALL_VOCAB, dim=4096, dim_attn=4096, dim_ffn=10240, num_heads=64,
                                    num_layers=1, num_buckets=32, shared_pos=False, dropout=0.0)
    shapes = OrderedDict((k, list(v.shape)) for k, v in model.state_dict().items())
    shapes["token_embedding.weight"] = [256384, 4096]
    return _repeat(shapes, "blocks.{}", 24)


def shapes_clip(ref, transformers):
    import enc_goldens
    tmp = tempfile.mkdtemp(prefix="clip-shapes-")
    clipmod, t5mod = enc_goldens.import_reference(ref, tmp)
    clipmod.torch = enc_goldens._TorchWithDeviceContext()
    cfg = dict(embed_dim=1024, image_size=224, patch_size=14, vision_dim=1280, vision_mlp_ratio=4,
               vision_heads=16, vision_layers=1, vision_pool="token", activation="gelu", vocab_size=SMALL_VOCAB,
               max_text_len=514, type_size=1, pad_id=1, text_dim=1024, text_heads=16, text_layers=1,
               text_post_norm=True, text_dropout=0.1, attn_dropout=0.0, proj_dropout=0.0, embedding_dropout=0.0)
    model = clipmod._clip(pretrained=False, pretrained_name="open-clip-xlm-roberta-large-vit-huge-14",
                          model_cls=clipmod.XLMRobertaCLIP, return_transforms=False, **cfg)
    shapes = OrderedDict((k, list(v.shape)) for k, v in model.state_dict().items())
    vocab = [k for k, v in shapes.items() if v and v[0] == SMALL_VOCAB and k.endswith("token_embedding.weight")]
    assert len(vocab) == 1, vocab
    shapes[vocab[0]] = [250002, 1024]
    shapes = _repeat(shapes, "visual.transformer.{}", 32)
    return _repeat(shapes, "textual.blocks.{}", 24)


def shapes_vae(ref, transformers):
    import vae_goldens
    vae_goldens.install_stubs()
    mod = vae_goldens.import_file("stableavatar_wan_vae", os.path.join(ref, "wan", "models", "wan_vae.py"))
    model = mod._video_vae(z_dim=16)
    return OrderedDict((k, list(v.shape)) for k, v in model.state_dict().items())


def shapes_wav2vec2(ref, transformers):
    import wav2vec2_goldens
    tmp = tempfile.mkdtemp(prefix="w2v-shapes-")
    C, M = wav2vec2_goldens.import_reference(transformers, tmp)
    cfg = {k: v for k, v in W2V_CONFIG.items() if k not in ("architectures", "model_type")}
    model = M.Wav2Vec2ForCTC(C.Wav2Vec2Config(**cfg))
    shapes = OrderedDict((k, list(v.shape)) for k, v in model.state_dict().items())
    shutil.rmtree(tmp, ignore_errors=True)
    return shapes


SHAPES = {"dit": shapes_dit, "umt5": shapes_umt5, "clip": shapes_clip, "vae": shapes_vae,
          "wav2vec2": shapes_wav2vec2}


# ------------------------------------------------------------------------------------------------
# streamed writers

CHUNK = 1 << 24  # elements generated at a time


def _values(key, shape, seed, dtype):
    """Yields the tensor's values in row-major slices: one ``CHUNK`` at a time."""
    import torch
    n = math.prod(shape)
    g = torch.Generator().manual_seed(seed)
    norm = "norm" in key or key.endswith("gamma") or key.endswith("weight_g")
    if len(shape) >= 2 and not norm:
        scale, base = 1.0 / math.sqrt(max(1, math.prod(shape[1:]))), 0.0
    elif norm and (key.endswith("weight") or key.endswith("gamma") or key.endswith("weight_g")):
        scale, base = 0.1, 1.0
    else:
        scale, base = 0.02, 0.0
    done = 0
    while done < n:
        m = min(CHUNK, n - done)
        yield (torch.randn(m, generator=g) * scale + base).to(dtype)
        done += m


def _bytes(t):
    import torch
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, shapes, seed):
    import torch
    header, off = OrderedDict(), 0
    for k, s in shapes.items():
        n = math.prod(s) * 4
        header[k] = {"dtype": "F32", "shape": s, "data_offsets": [off, off + n]}
        off += n
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for i, (k, s) in enumerate(shapes.items()):
            for chunk in _values(k, s, seed + i, torch.float32):
                f.write(_bytes(chunk))


class _Storage:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class _TensorRef:
    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce_ex__(self, proto):
        import torch
        stride, acc = [], 1
        for d in reversed(self.shape):
            stride.insert(0, acc)
            acc *= d
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, 0, tuple(self.shape), tuple(stride), False, OrderedDict()))


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        import torch
        if isinstance(obj, _Storage):
            cls = torch.BFloat16Storage if obj.dtype == torch.bfloat16 else torch.FloatStorage
            return ("storage", cls, obj.key, "cpu", obj.numel)
        return None


def write_torch_zip(path, shapes, seed, dtype_name="float32", wrap=None):
    """A ``torch.save`` zip file of an ordered dict (under ``wrap`` if given), written entry by entry."""
    import io
    import torch
    dtype = torch.bfloat16 if dtype_name == "bfloat16" else torch.float32
    refs = OrderedDict()
    for i, (k, s) in enumerate(shapes.items()):
        refs[k] = _TensorRef(_Storage(str(i), dtype, math.prod(s)), s)
    obj = {wrap: refs} if wrap else refs
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    name = os.path.splitext(os.path.basename(path))[0]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr(f"{name}/data.pkl", buf.getvalue())
        z.writestr(f"{name}/byteorder", "little")
        for i, (k, s) in enumerate(shapes.items()):
            with z.open(f"{name}/data/{i}", "w", force_zip64=True) as f:
                for chunk in _values(k, s, seed + i, dtype):
                    f.write(_bytes(chunk))
        z.writestr(f"{name}/version", "3\n")


def _gb(shapes, width):
    return sum(math.prod(s) for s in shapes.values()) * width / 1e9


def make_checkpoints(out, ref, transformers):
    wan = os.path.join(out, WAN)
    os.makedirs(os.path.join(wan, "google", "umt5-xxl"), exist_ok=True)
    os.makedirs(os.path.join(out, "StableAvatar-1.3B"), exist_ok=True)
    os.makedirs(os.path.join(out, "wav2vec2-base-960h"), exist_ok=True)
    shapes = {}
    for part in SHAPES:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            tmp = f.name
        subprocess.run([sys.executable, os.path.abspath(__file__), "--shapes", part, ref, transformers, tmp],
                       check=True)
        with open(tmp) as f:
            shapes[part] = OrderedDict(json.load(f, object_pairs_hook=OrderedDict))
        os.unlink(tmp)
        n = sum(math.prod(s) for s in shapes[part].values())
        print(f"shapes {part}: {len(shapes[part])} tensors, {n / 1e9:.3f} G parameters", flush=True)
    t0 = time.monotonic()

    def done(what, path):
        print(f"[{time.monotonic() - t0:7.1f}s] wrote {path} ({os.path.getsize(path) / 1e9:.2f} GB)", flush=True)

    with open(os.path.join(wan, "config.json"), "w") as f:
        json.dump(DIT_CONFIG, f, indent=2)
    vocal = {k: v for k, v in shapes["dit"].items()
             if k.startswith("vocal_projector.") or ".k_vocal." in k or ".v_vocal." in k}
    base = OrderedDict((k, v) for k, v in shapes["dit"].items() if k not in vocal)
    p = os.path.join(wan, "diffusion_pytorch_model.safetensors")
    write_safetensors(p, base, 1000)
    done("dit base", p)
    p = os.path.join(out, "StableAvatar-1.3B", "transformer3d-square.pt")
    write_torch_zip(p, shapes["dit"], 2000)
    done("dit", p)
    p = os.path.join(wan, T5_FILE)
    write_torch_zip(p, shapes["umt5"], 3000, "bfloat16")
    done("umt5", p)
    p = os.path.join(wan, CLIP_FILE)
    write_torch_zip(p, shapes["clip"], 4000)
    done("clip", p)
    p = os.path.join(wan, "Wan2.1_VAE.pth")
    write_torch_zip(p, shapes["vae"], 5000)
    done("vae", p)
    w2v = os.path.join(out, "wav2vec2-base-960h")
    write_torch_zip(os.path.join(w2v, "pytorch_model.bin"), shapes["wav2vec2"], 6000)
    with open(os.path.join(w2v, "config.json"), "w") as f:
        json.dump(W2V_CONFIG, f, indent=2)
    done("wav2vec2", os.path.join(w2v, "pytorch_model.bin"))
    # the tokenizer: the reduced fixture's sentencepiece model (its ids fit in the 256384-row table)
    src = os.path.join(EXPORT, "tests", "fixtures", "e2e", WAN, "google", "umt5-xxl")
    for n in os.listdir(src):
        shutil.copyfile(os.path.join(src, n), os.path.join(wan, "google", "umt5-xxl", n))
    return {part: {"tensors": len(s), "parameters": sum(math.prod(v) for v in s.values())}
            for part, s in shapes.items()}


# ------------------------------------------------------------------------------------------------
# the export, measured

def _rss_kb(pid):
    total = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total = int(line.split()[1])
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            for c in f.read().split():
                total += _rss_kb(int(c))
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return total


def run_export(out, precision):
    wan = os.path.join(out, WAN)
    bundle = os.path.join(out, "bundle")
    cmd = ["/usr/bin/time", "-v", os.path.join(EXPORT, "stableavatar"), "--pretrained-model", wan,
           "--transformer", os.path.join(out, "StableAvatar-1.3B", "transformer3d-square.pt"),
           "--wav2vec", os.path.join(out, "wav2vec2-base-960h"), "--out", bundle, "--force",
           "--precision", precision]
    print("$ " + " ".join(cmd), flush=True)
    log = open(os.path.join(out, "export.log"), "w")
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    parts = OrderedDict()
    state = {"part": "start", "t": time.monotonic()}
    parts["start"] = {"peak_rss_gb": 0.0, "seconds": 0.0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            kb = _rss_kb(proc.pid)
            p = parts[state["part"]]
            p["peak_rss_gb"] = max(p["peak_rss_gb"], kb / 1e6 * 1.024)
            stop.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stage = re.compile(r"^\[\s*[\d.]+s\] (wav2vec2|clip|vae|umt5|dit|manifest): ")
    t_start = time.monotonic()
    for line in proc.stderr:
        log.write(line)
        log.flush()
        sys.stderr.write(line)
        m = stage.match(line)
        if m and m.group(1) != state["part"] and m.group(1) not in parts:
            now = time.monotonic()
            parts[state["part"]]["seconds"] = now - state["t"]
            parts[m.group(1)] = {"peak_rss_gb": 0.0, "seconds": 0.0}
            state.update(part=m.group(1), t=now)
    rc = proc.wait()
    stop.set()
    th.join()
    parts[state["part"]]["seconds"] = time.monotonic() - state["t"]
    log.close()
    with open(os.path.join(out, "export.log")) as f:
        text = f.read()
    timev = {}
    for key, rx in (("max_rss_kb", r"Maximum resident set size \(kbytes\): (\d+)"),
                    ("elapsed", r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)"),
                    ("user_s", r"User time \(seconds\): ([\d.]+)"), ("sys_s", r"System time \(seconds\): ([\d.]+)")):
        m = re.search(rx, text)
        if m:
            timev[key] = m.group(1)
    files = {}
    if os.path.isdir(bundle):
        for n in sorted(os.listdir(bundle)):
            files[n] = os.path.getsize(os.path.join(bundle, n))
    return {"rc": rc, "wall_s": time.monotonic() - t_start, "parts": parts, "time_v": timev, "files": files}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--shapes":
        part, ref, transformers, dst = sys.argv[2:6]
        sys.path.insert(0, REFDIR)
        import torch
        torch.set_grad_enabled(False)
        shapes = SHAPES[part](ref, transformers)
        with open(dst, "w") as f:
            json.dump(list(shapes.items()), f)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", metavar="OUT_DIR")
    ap.add_argument("--ref", default="/work/ref/StableAvatar", help="StableAvatar checkout (46c0492)")
    ap.add_argument("--transformers", default="/opt/pypi-more/files/transformers-4.57.6-py3-none-any.whl")
    ap.add_argument("--precision", choices=("fp32", "fp16"), default="fp32")
    ap.add_argument("--keep", action="store_true", help="keep the checkpoints and the bundle")
    ap.add_argument("--only-write", action="store_true", help="write the checkpoints, do not export")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    report = {"machine": {"cpus": os.cpu_count(), "mem_gb": os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e9}}
    t0 = time.monotonic()
    try:
        if not os.path.isfile(os.path.join(a.out, "StableAvatar-1.3B", "transformer3d-square.pt")) or \
                not os.path.isfile(os.path.join(a.out, "wav2vec2-base-960h", "config.json")):
            report["checkpoints"] = make_checkpoints(a.out, a.ref, a.transformers)
        report["write_s"] = time.monotonic() - t0
        sizes = {}
        for d, _, fs in os.walk(a.out):
            for n in fs:
                p = os.path.join(d, n)
                if "bundle" not in os.path.relpath(p, a.out).split(os.sep) and (n.endswith((".pt", ".pth", ".bin", ".safetensors"))):
                    sizes[os.path.relpath(p, a.out)] = os.path.getsize(p)
        report["checkpoint_files"] = sizes
        if not a.only_write:
            report["export"] = run_export(a.out, a.precision)
        with open(os.path.join(a.out, "rehearsal.json"), "w") as f:
            json.dump(report, f, indent=1)
        print(json.dumps(report, indent=1))
    finally:
        if not a.keep:
            for n in (WAN, "StableAvatar-1.3B", "wav2vec2-base-960h", "bundle"):
                shutil.rmtree(os.path.join(a.out, n), ignore_errors=True)
    return 0 if report.get("export", {}).get("rc", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
