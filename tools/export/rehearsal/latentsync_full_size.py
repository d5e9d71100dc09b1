#!/usr/bin/python3
"""Full-size rehearsal of the LatentSync export (issue #18 item 4): random weights with the REAL 1.5
shapes, exported with the documented command under ``/usr/bin/time -v``, then a dub through the SDK.

    latentsync_full_size.py LATENTSYNC DIFFUSERS OUT_DIR [--keep] [--skip-write] [--skip-dub]

LATENTSYNC / DIFFUSERS: checkouts of bytedance/LatentSync (a229c39) and huggingface/diffusers, used as
``reference/latentsync_goldens.py`` uses them (copied / extracted at run time, nothing committed).

1. Checkpoints, in the layout LatentSync's README has users download, made by the REFERENCE modules:
   - ``checkpoints/latentsync_unet.pt``: ``{"state_dict": ...}`` of ``UNet3DConditionModel`` built
     from stage2.yaml's model section (the tool's CONFIG, which latentsync_goldens checks against the
     yaml): 1.27 G parameters, float32 as published (5.1 GB);
   - ``checkpoints/whisper/tiny.pt``: openai-whisper ``tiny`` dimensions (n_audio_state 384, 6 heads,
     4 layers, 1500 positions, the 51865-token decoder), float16 as published;
   - ``sd-vae-ft-mse/``: ``AutoencoderKL`` with sd-vae-ft-mse's config (128/256/512/512, 2 layers per
     block, 32 norm groups) under the deprecated attention key names the published file uses.
   Weights: N(0, 1/fan_in) matrices, norm weights near 1, small biases (latentsync_goldens.randomize).
2. ``/usr/bin/time -v tools/export/latentsync --checkpoints ... --vae ... --version 1.5 --out
   OUT_DIR/bundle`` with the process tree's RSS sampled every 0.5 s: wall time and peak per run.
3. Unless --skip-dub: ``bin/avatar4j dub`` of 16 frames (0.64 s; one chunk) of the portrait at
   320x240 with 0.64 s of speech, 1 step, RSS sampled the same way.
Figures are printed and written to OUT_DIR/rehearsal.json; the checkpoints are deleted at the end
unless --keep.
"""
import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(EXPORT))
sys.path.insert(0, EXPORT)
sys.path.insert(0, os.path.join(EXPORT, "reference"))

import latentsync_goldens as lg  # noqa: E402
from a4jexport.checkpoint import write_safetensors  # noqa: E402
from a4jexport.latentsync.unet import CONFIG  # noqa: E402

SD_VAE_FT_MSE = {"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
                 "down_block_types": ["DownEncoderBlock2D"] * 4, "in_channels": 3, "latent_channels": 4,
                 "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3, "sample_size": 256,
                 "up_block_types": ["UpDecoderBlock2D"] * 4}
WHISPER_TINY = dict(n_mels=80, n_audio_ctx=1500, n_audio_state=384, n_audio_head=6, n_audio_layer=4,
                    n_vocab=51865, n_text_ctx=448, n_text_state=384, n_text_head=6, n_text_layer=4)


def log(msg, t0=[time.time()]):
    print(f"[{time.time() - t0[0]:8.1f}s] {msg}", flush=True)


def write_checkpoints(latentsync, diffusers, out):
    torch.set_grad_enabled(False)
    ns = lg.diffusers_namespace(diffusers)
    tmp = tempfile.mkdtemp(prefix="lsref-")
    try:
        lg.stub_packages(tmp, latentsync, ns)
        from latentsync.models.unet import UNet3DConditionModel
        import lswhisper.model as wm
        ck = os.path.join(out, "checkpoints")
        os.makedirs(os.path.join(ck, "whisper"), exist_ok=True)
        unet = UNet3DConditionModel.from_config(dict(CONFIG)).eval()
        n = sum(p.numel() for p in unet.parameters())
        log(f"UNet3DConditionModel at the real shapes: {n / 1e9:.3f} G parameters")
        lg.randomize(unet, lg.SEED, fp16=False)
        torch.save({"state_dict": unet.state_dict(), "global_step": 0}, os.path.join(ck, "latentsync_unet.pt"))
        del unet
        log(f"wrote latentsync_unet.pt ({os.path.getsize(os.path.join(ck, 'latentsync_unet.pt')) / 1e9:.2f} GB)")
        dims = wm.ModelDimensions(**WHISPER_TINY)
        w = wm.Whisper(dims).eval()
        lg.randomize(w, lg.SEED + 3)
        torch.save({"dims": dataclasses.asdict(dims), "model_state_dict": {k: v.half() for k, v in w.state_dict().items()}},
                   os.path.join(ck, "whisper", "tiny.pt"))
        del w
        log("wrote whisper/tiny.pt")
        vae = ns["AutoencoderKL"](**{k: v for k, v in SD_VAE_FT_MSE.items() if not k.startswith("_")}).eval()
        lg.randomize(vae, lg.SEED + 2, fp16=False)
        vsd = {}
        for k, v in vae.state_dict().items():   # the published file has the deprecated attention names
            for new, old in ((".to_q.", ".query."), (".to_k.", ".key."), (".to_v.", ".value."),
                             (".to_out.0.", ".proj_attn.")):
                if ".attentions." in k:
                    k = k.replace(new, old)
            vsd[k] = v.contiguous()
        vdir = os.path.join(out, "sd-vae-ft-mse")
        os.makedirs(vdir, exist_ok=True)
        write_safetensors(os.path.join(vdir, "diffusion_pytorch_model.safetensors"), vsd)
        with open(os.path.join(vdir, "config.json"), "w", encoding="utf-8") as fh:
            json.dump(SD_VAE_FT_MSE, fh, indent=2)
        log(f"wrote sd-vae-ft-mse ({sum(v.numel() for v in vsd.values()) / 1e6:.1f} M parameters)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def tree_rss(pid):
    """Resident bytes of ``pid`` and its descendants (what /usr/bin/time's child and its children hold)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return total


def timed(argv, logfile):
    """Runs argv under /usr/bin/time -v; (rc, wall seconds, peak tree RSS bytes, time's max RSS KiB)."""
    t0 = time.time()
    with open(logfile, "w") as lf:
        p = subprocess.Popen(["/usr/bin/time", "-v"] + argv, stdout=lf, stderr=subprocess.STDOUT, cwd=ROOT)
        peak = [0]

        def sample():
            while p.poll() is None:
                peak[0] = max(peak[0], tree_rss(p.pid))
                time.sleep(0.5)
        th = threading.Thread(target=sample, daemon=True)
        th.start()
        rc = p.wait()
        th.join()
    wall = time.time() - t0
    maxrss = None
    with open(logfile) as lf:
        for line in lf:
            if "Maximum resident set size" in line:
                maxrss = int(line.rsplit(":", 1)[1])
    return rc, wall, peak[0], maxrss


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("latentsync")
    ap.add_argument("diffusers")
    ap.add_argument("out")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--skip-write", action="store_true", help="the checkpoints are already in OUT_DIR")
    ap.add_argument("--skip-dub", action="store_true")
    a = ap.parse_args(argv)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    report = {}
    if not a.skip_write:
        t = time.time()
        write_checkpoints(os.path.abspath(a.latentsync), os.path.abspath(a.diffusers), out)
        report["write_s"] = time.time() - t
    bundle = os.path.join(out, "bundle")
    shutil.rmtree(bundle, ignore_errors=True)
    log("exporting with tools/export/latentsync")
    rc, wall, peak, maxrss = timed([sys.executable, os.path.join(EXPORT, "latentsync"),
                                    "--checkpoints", os.path.join(out, "checkpoints"),
                                    "--vae", os.path.join(out, "sd-vae-ft-mse"), "--version", "1.5",
                                    "--out", bundle], os.path.join(out, "export.log"))
    report["export"] = {"rc": rc, "wall_s": wall, "peak_rss_gb": peak / 1e9, "time_max_rss_kib": maxrss}
    size = sum(os.path.getsize(os.path.join(bundle, f)) for f in os.listdir(bundle)) if os.path.isdir(bundle) else 0
    report["bundle_gb"] = size / 1e9
    log(f"export rc {rc}: {wall:.1f} s, peak RSS {peak / 1e9:.2f} GB (time -v {maxrss} KiB), bundle {size / 1e9:.2f} GB")
    if rc == 0 and not a.skip_dub:
        clip = os.path.join(out, "clip.mp4")
        speech = os.path.join(out, "speech.wav")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-loop", "1", "-i",
                        os.path.join(ROOT, "examples", "media", "portrait.png"), "-frames:v", "16", "-r", "25",
                        "-vf", "crop=320:240:20:0,format=yuv420p", "-c:v", "libx264", clip], check=True)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", os.path.join(ROOT, "examples", "media", "hello.wav"),
                        "-t", "0.64", "-ar", "16000", "-ac", "1", speech], check=True)
        dubbed = os.path.join(out, "dubbed.mp4")
        log("dubbing 16 frames with bin/avatar4j dub --steps 1")
        rc, wall, peak, maxrss = timed([os.path.join(ROOT, "bin", "avatar4j"), "dub", "-v", "--model", bundle,
                                        "--video", clip, "--audio", speech, "--steps", "1", "--seed", "1",
                                        "--out", dubbed], os.path.join(out, "dub.log"))
        report["dub"] = {"rc": rc, "wall_s": wall, "peak_rss_gb": peak / 1e9, "time_max_rss_kib": maxrss}
        log(f"dub rc {rc}: {wall:.1f} s, peak RSS {peak / 1e9:.2f} GB (time -v {maxrss} KiB)")
    with open(os.path.join(out, "rehearsal.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    print(json.dumps(report, indent=1))
    if not a.keep:
        for d in ("checkpoints", "sd-vae-ft-mse"):
            shutil.rmtree(os.path.join(out, d), ignore_errors=True)
    return 0 if report["export"]["rc"] == 0 and report.get("dub", {"rc": 0})["rc"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
