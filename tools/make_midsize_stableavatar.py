#!/usr/bin/python3
"""Build a mid-size synthetic `stableavatar` bundle for benchmarks (issue #7, BENCHMARKS.md).

Same graphs, signatures, manifest and seeds as tools/make_tiny_stableavatar.py (it imports that
script's modules), but with a wider and deeper DiT so that one guided DiT call (3 branches, one
21-latent window at 256x256) costs a realistic fraction of a second on a 2-core CPU. The SDK
overhead and memory ratios of BENCHMARKS.md are only meaningful when the graphs dominate, which
the tiny bundle (DiT width 32) does not do. The encoders and the VAE stay tiny: the DiT is where a
real StableAvatar spends > 95 % of its time.

The bundle is generated (a few seconds, ~20-80 MB), never committed: `bench/run` writes it to
target/bench-bundles/ when it is missing. Weights are random with fixed seeds; the outputs mean
nothing visually beyond the identity path the tiny script hand-sets.

Run: /usr/bin/python3 tools/make_midsize_stableavatar.py --out DIR [--dim 256] [--ffn 1024]
                                                         [--blocks 2] [--heads 4]
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tiny_stableavatar as mt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dim", type=int, default=256, help="DiT width (tiny: 32, Wan 1.3B: 1536)")
    ap.add_argument("--ffn", type=int, default=1024, help="DiT feed-forward width (tiny: 64)")
    ap.add_argument("--blocks", type=int, default=2, help="DiT blocks (tiny: 2, Wan 1.3B: 30)")
    ap.add_argument("--heads", type=int, default=4, help="attention heads (tiny: 4)")
    ap.add_argument("--name", default="stableavatar-mid")
    args = ap.parse_args()
    assert args.dim % args.heads == 0
    mt.D, mt.FFN, mt.DIT_BLOCKS, mt.HEADS = args.dim, args.ffn, args.blocks, args.heads
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    gen = torch.Generator().manual_seed(mt.SEED + 2000)

    def rnd(*shape, std=1.0):
        return torch.randn(shape, generator=gen) * std

    F, I = mt.FLOAT, mt.INT64
    graphs = {}
    with torch.no_grad():
        m = mt.export(mt.build_model("audio-encoder"), (rnd(1, 51840),), os.path.join(out, "audio_encoder.onnx"),
                      [("input_values", F, [1, "N"])], [("last_hidden_state", F, [1, "L", mt.DA])],
                      "audio-encoder")
        graphs["audio-encoder"] = "audio_encoder.onnx"
        mt.export(mt.build_model("image-encoder"), (rnd(1, 3, 224, 224),), os.path.join(out, "image_encoder.onnx"),
                  [("pixel_values", F, [1, 3, 224, 224])], [("image_embeds", F, [1, 257, mt.DC])], "image-encoder")
        graphs["image-encoder"] = "image_encoder.onnx"

        text = mt.build_model("text-encoder")

        def encode(s):
            ids = mt.tokenize(s)
            n = len(ids)
            input_ids = torch.zeros(1, mt.MAX_TOKENS, dtype=torch.int64)
            mask = torch.zeros(1, mt.MAX_TOKENS, dtype=torch.int64)
            input_ids[0, :n] = torch.tensor(ids, dtype=torch.int64)
            mask[0, :n] = 1
            return text(input_ids, mask)[0, :n], input_ids, mask

        neg, _, _ = encode(mt.NEGATIVE_PROMPT)
        pos, ids, mask = encode(mt.DEFAULT_PROMPT)
        mt.export(text, (ids, mask), os.path.join(out, "text_encoder.onnx"),
                  [("input_ids", I, [1, "Lt"]), ("attention_mask", I, [1, "Lt"])],
                  [("last_hidden_state", F, [1, "Lt", mt.DT])], "text-encoder")
        graphs["text-encoder"] = "text_encoder.onnx"
        mt.write_safetensors(os.path.join(out, "text_negative.safetensors"), neg.numpy())
        mt.write_safetensors(os.path.join(out, "text_default.safetensors"), pos.numpy())

        mt.export(mt.build_model("vae-encoder"), (torch.zeros(1, 3, 13, 32, 48),),
                  os.path.join(out, "vae_encoder.onnx"), [("video", F, [1, 3, "Fp", "H", "W"])],
                  [("latent", F, [1, mt.Z, "T", "h", "w"])], "vae-encoder")
        graphs["vae-encoder"] = "vae_encoder.onnx"

        dit = mt.build_model("dit")
        Z = mt.Z

        def dit_inputs(b, k, h, w, lt, L):
            return (rnd(b, Z, k, h, w), torch.tensor([999.0, 500.0, 24.4][:b]), rnd(b, lt, mt.DT),
                    rnd(b, 257, mt.DC), rnd(b, 20, k, h, w), rnd(1, L, mt.DA),
                    torch.from_numpy(mt.audio_index_table(L)), torch.tensor([0.0, 1.0, 1.0][:b]))

        full = dit_inputs(3, 21, 32, 32, 107, 167)
        o = dit(*full)
        mt.finite_o1("dit", o, bound=1e4)
        t0 = time.perf_counter()
        dit(*full)
        dit_s = time.perf_counter() - t0
        mt.export(dit, dit_inputs(3, 21, 16, 16, 107, 167), os.path.join(out, "dit.onnx"),
                  [("x", F, ["B", Z, "k", "h", "w"]), ("t", F, ["B"]),
                   ("context", F, ["B", "Lt", mt.DT]), ("clip", F, ["B", 257, mt.DC]),
                   ("y", F, ["B", 20, "k", "h", "w"]), ("audio_tokens", F, [1, "L", mt.DA]),
                   ("audio_index", I, [mt.F_LAT, "W"]), ("audio_gate", F, ["B"])],
                  [("velocity", F, ["B", Z, "k", "h", "w"])], "dit")
        graphs["dit"] = "dit.onnx"

        vdec = mt.build_model("vae-decoder")
        caches = [torch.ones(1, c, 2, s * 16, s * 16) for c, s in zip(mt.DEC_C, mt.DEC_SCALES)]
        cin = [f"cache_in_{i}" for i in range(len(mt.DEC_C))]
        cout = [f"cache_out_{i}" for i in range(len(mt.DEC_C))]
        mt.export(vdec, (rnd(1, Z, 1, 16, 16), torch.tensor([0], dtype=torch.int64), *caches),
                  os.path.join(out, "vae_decoder.onnx"),
                  [("latent", F, [1, Z, 1, "h", "w"]), ("first", I, [1])]
                  + [(n, F, [1, c, 2, mt.sdim("h", s), mt.sdim("w", s)]) for n, c, s in zip(cin, mt.DEC_C, mt.DEC_SCALES)],
                  [("frames", F, [1, 3, "n", "H", "W"])]
                  + [(n, F, [1, c, 2, mt.sdim("h", s), mt.sdim("w", s)]) for n, c, s in zip(cout, mt.DEC_C, mt.DEC_SCALES)],
                  "vae-decoder")
        graphs["vae-decoder"] = "vae_decoder.onnx"

    manifest = json.loads(json.dumps(mt.MANIFEST_BASE))
    manifest["name"] = args.name
    manifest["license"] = "Apache-2.0 (random weights generated by tools/make_midsize_stableavatar.py)"
    manifest["graphs"] = {}
    for key in ("audio-encoder", "image-encoder", "text-encoder", "vae-encoder", "dit", "vae-decoder"):
        f = graphs[key]
        entry = {"file": f, "sha256": mt.sha256(os.path.join(out, f))}
        if key == "vae-decoder":
            entry["caches"] = [{"name": n, "scale": s} for n, s in zip(cin, mt.DEC_SCALES)]
        manifest["graphs"][key] = entry
    manifest["tensors"] = {
        "text-negative": {"file": "text_negative.safetensors",
                          "sha256": mt.sha256(os.path.join(out, "text_negative.safetensors"))},
        "text-default": {"file": "text_default.safetensors",
                         "sha256": mt.sha256(os.path.join(out, "text_default.safetensors"))},
    }
    manifest["benchmark"] = {"ditWidth": args.dim, "ditFfn": args.ffn, "ditBlocks": args.blocks,
                             "heads": args.heads, "ctxSummary": mt.CTX_SUMMARY}
    with open(os.path.join(out, "avatar-bundle.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out, g)) for g in graphs.values())
    print(f"bundle {out}: DiT width {args.dim}, ffn {args.ffn}, blocks {args.blocks}, heads {args.heads}; "
          f"graphs {size / 1e6:.1f} MB; PyTorch DiT B=3 k=21 256x256: {dit_s * 1000:.0f} ms "
          f"({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    sys.exit(main())
