#!/usr/bin/python3
"""Full-size rehearsal of the LongCat-Video-Avatar 1.5 DiT export (issue 19): random weights in the
REAL shapes (hidden 4096, 32 heads, 48 blocks, text 4096, adaLN 512, audio 5 x 1280 -> 512 -> 32 x 768:
15.85 G parameters), generated tensor by tensor when the exporter reads them (nothing is written as a
checkpoint), through the streamed export of a4jexport.longcat.streamed: the six graphs (segment 0 and
continuation for P = 1, 2, 3) sharing one data file.

    longcat_dit.py OUT_DIR [--blocks N] [--precision fp16|fp32] [--persons 1,2,3] [--keep] [--resume]

``--blocks N`` exports the first N blocks only (a shorter rehearsal whose figures scale per block).
Prints and writes OUT_DIR/rehearsal.json: wall time per graph, peak RSS (``ru_maxrss``), data size;
rewritten after every graph (``"complete": false`` until all are done), so a run stopped early keeps
the figures of the graphs it finished.
The bundle files are deleted at the end unless --keep.
"""
import argparse
import json
import os
import resource
import shutil
import sys
import time
import zlib

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from a4jexport.longcat import dit, streamed  # noqa: E402

REAL = dict(in_channels=16, out_channels=16, hidden_size=4096, depth=48, num_heads=32, caption_channels=4096,
            mlp_ratio=4, adaln_tembed_dim=512, frequency_embedding_size=256, patch_size=[1, 2, 2], audio_window=5,
            audio_block=5, audio_channel=1280, intermediate_dim=512, output_dim=768, context_tokens=32, vae_scale=4,
            audio_prenorm=False, class_range=24, class_interval=4)


class RandomWeights:
    """Seeded random tensors by key, made when read (N(0, 1/fan_in) matrices, norms 1 +- 0.1)."""

    def __init__(self, shapes):
        self.shapes = shapes
        self.reads = 0

    def __getitem__(self, key):
        shape = self.shapes[key]
        g = torch.Generator().manual_seed(zlib.crc32(key.encode()))
        self.reads += 1
        if len(shape) >= 2:
            fan = 1
            for d in shape[1:]:
                fan *= d
            return torch.randn(shape, generator=g) / fan ** 0.5
        if "norm" in key and key.endswith("weight"):
            return 1 + 0.1 * torch.randn(shape, generator=g)
        return 0.01 * torch.randn(shape, generator=g)


def _layout(key):
    """(layout, persons) of a DiT graph key (``dit-p2-continuation`` -> ("continuation", 2))."""
    p = int(key[len("dit-p")])
    return ("continuation" if key.endswith("-continuation") else "first"), p


def write_report(out, report):
    with open(os.path.join(out, "rehearsal.json"), "w") as f:
        json.dump(report, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--blocks", type=int, default=REAL["depth"])
    ap.add_argument("--precision", choices=("fp16", "fp32"), default="fp16")
    ap.add_argument("--persons", default="1,2,3")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--resume", action="store_true",
                    help="add the --persons graphs to the graphs and data file already in OUT_DIR (a run stopped "
                         "part-way), reusing their weights; the figures join those of OUT_DIR/rehearsal.json")
    a = ap.parse_args()
    config = dict(REAL, depth=a.blocks)
    shapes = dit.checkpoint_shapes(config)
    params = sum(int(torch.Size(s).numel()) for s in shapes.values())
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(2)
    t0 = time.time()
    times, earlier, resume_from = {}, {}, []
    if a.resume:
        resume_from = sorted(f for f in os.listdir(a.out) if f.startswith("dit_p") and f.endswith(".onnx"))
        with open(os.path.join(a.out, "rehearsal.json")) as f:
            earlier = json.load(f)
        if earlier.get("blocks") != a.blocks or earlier.get("precision") != a.precision:
            sys.exit(f"{a.out}: the earlier run had {earlier.get('blocks')} blocks in {earlier.get('precision')}")
        times.update(earlier.get("graph_seconds", {}))
    last = [t0]

    def peak():
        return max(round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2), earlier.get("peak_rss_gb", 0))

    def progress(key):
        now = time.time()
        times[key] = round(now - last[0], 1)
        last[0] = now
        print(f"{key}: {times[key]} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB",
              flush=True)
        # the graphs done so far, so that a run stopped early still leaves its figures
        write_report(a.out, {"blocks": a.blocks, "parameters": params, "precision": a.precision,
                             "seconds": round(now - t0 + earlier.get("seconds", 0), 1), "graph_seconds": dict(times),
                             "complete": False, "peak_rss_gb": peak(), "resumed": a.resume,
                             "graph_bytes": {k: os.path.getsize(os.path.join(a.out, dit.graph_file(*_layout(k))))
                                             for k in times}})

    weights = RandomWeights(shapes)
    entries, shared, clamped = streamed.export_dit(shapes, config, weights, a.out,
                                                   persons=tuple(int(p) for p in a.persons.split(",")),
                                                   weights=a.precision, progress=progress, resume_from=resume_from)
    report = {"blocks": a.blocks, "parameters": params, "precision": a.precision,
              "seconds": round(time.time() - t0 + earlier.get("seconds", 0), 1), "graph_seconds": times,
              "peak_rss_gb": peak(), "data_bytes": shared["size"],
              "graph_bytes": {k: os.path.getsize(os.path.join(a.out, dit.graph_file(*_layout(k)))) for k in times},
              "weights_read": weights.reads, "clamped": clamped, "complete": True, "resumed": a.resume}
    print(json.dumps(report, indent=2))
    write_report(a.out, report)
    if not a.keep:
        for e in entries.values():
            os.remove(os.path.join(a.out, e["file"]))
        os.remove(os.path.join(a.out, shared["file"]))


if __name__ == "__main__":
    main()
