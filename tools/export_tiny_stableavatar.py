#!/usr/bin/python3
"""Export `models/stableavatar-tiny` with the real exporter from a reduced real-architecture checkpoint.

The checkpoint is `tools/export/tests/fixtures/e2e`: the complete reduced StableAvatar set that
`tools/export/reference/make_reduced_checkpoints.py` makes, seeded, from the REFERENCE modules (real
module structure, key names and file formats; small widths and depths, random weights; the exporter's
own end-to-end test checks every graph of its export against the reference forward). This script runs
the documented command on it, as a user runs it on the published checkpoints:

    tools/export/stableavatar --pretrained-model .../Wan2.1-Fun-V1.1-1.3B-InP
        --transformer .../StableAvatar-1.3B/transformer3d-square.pt --wav2vec .../wav2vec2-base-960h
        --out models/stableavatar-tiny --size 128x128 --steps 4 --name stableavatar-tiny --license ...

so the SDK's tests and demo run exactly the graphs a real export produces (streamed VAE encoder
pair, first-frame + step decoder with Wan's 32 causal caches, Wan's full self-attention in the DiT
with its ONNX Runtime variant `dit_mha.onnx`, precomputed umT5 prompts, the sentencepiece `text`
section with `maxTokens` = the DiT's text_len 128). Only the manifest's default size (128x128, so that
the SDK's tests stay fast: the DiT attends over all 21 x h/2 x w/2 tokens) and steps differ from the
exporter's defaults.

Usage:
  /usr/bin/python3 tools/export_tiny_stableavatar.py            # (re)writes models/stableavatar-tiny
  /usr/bin/python3 tools/export_tiny_stableavatar.py --check    # exports to a temp folder; exit 1 unless
                                                                # byte-identical to the committed bundle
The export is deterministic (PyTorch 1.13.1, onnx 1.12 on Debian 12): the same files on every run.
"""
import os
import sys

import tiny_bundle

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUNDLE = os.path.join(ROOT, "models", "stableavatar-tiny")
E2E = os.path.join(HERE, "export", "tests", "fixtures", "e2e")
EXPORTER = os.path.join(HERE, "export", "stableavatar")
SIZE = "128x128"
STEPS = 4
LICENSE = ("Apache-2.0 (random weights: the reduced real-architecture checkpoint tools/export/tests/fixtures/e2e,"
           " exported by tools/export_tiny_stableavatar.py)")


def command(out):
    return [EXPORTER,
            "--pretrained-model", os.path.join(E2E, "Wan2.1-Fun-V1.1-1.3B-InP"),
            "--transformer", os.path.join(E2E, "StableAvatar-1.3B", "transformer3d-square.pt"),
            "--wav2vec", os.path.join(E2E, "wav2vec2-base-960h"),
            "--out", out, "--size", SIZE, "--steps", str(STEPS), "--name", "stableavatar-tiny",
            "--license", LICENSE, "--quiet"]


def export(out):
    tiny_bundle.run_exporter(command(out))


def main():
    return tiny_bundle.main(__doc__, BUNDLE, export, E2E, "re-run /usr/bin/python3 tools/export_tiny_stableavatar.py"
                            " and tools/reference_run_stableavatar.py")


if __name__ == "__main__":
    sys.exit(main())
