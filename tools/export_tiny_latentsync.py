#!/usr/bin/python3
"""Export `models/latentsync-tiny` with the real exporter from a reduced real-architecture checkpoint.

The checkpoint is `tools/export/tests/fixtures/latentsync`: the reduced LatentSync 1.5 set that
`tools/export/reference/latentsync_goldens.py` makes, seeded, from the REFERENCE modules (LatentSync's
UNet3DConditionModel with its motion modules and audio cross-attention, Whisper tiny's encoder,
diffusers' AutoencoderKL as in sd-vae-ft-mse: real module structure, key names and file formats; small
widths and depths, random weights; the exporter's tests check every graph of its export against the
reference forward). This script runs the documented command on it, as a user runs it on the published
checkpoints:

    tools/export/latentsync --checkpoints .../LatentSync-1.5/checkpoints --vae .../sd-vae-ft-mse
        --out models/latentsync-tiny --name latentsync-tiny --license ...

so the SDK's dubbing tests run exactly the graphs a real export produces (256 px faces, the UNet with
its ONNX Runtime variant `unet_mha.onnx`, DeepCache's shallow UNet every 3 steps, the VAE encoder's
`latent` + `std`, the drawn mouth mask, BlazeFace). Only the name and license differ from the
exporter's defaults.

Usage:
  /usr/bin/python3 tools/export_tiny_latentsync.py            # (re)writes models/latentsync-tiny
  /usr/bin/python3 tools/export_tiny_latentsync.py --check    # exports to a temp folder; exit 1 unless
                                                              # byte-identical to the committed bundle
The export is deterministic (PyTorch 1.13.1, onnx 1.12 on Debian 12): the same files on every run.
"""
import os
import sys

import tiny_bundle

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUNDLE = os.path.join(ROOT, "models", "latentsync-tiny")
FIXTURE = os.path.join(HERE, "export", "tests", "fixtures", "latentsync")
EXPORTER = os.path.join(HERE, "export", "latentsync")
LICENSE = ("Apache-2.0 (random weights: the reduced real-architecture checkpoint"
           " tools/export/tests/fixtures/latentsync, exported by tools/export_tiny_latentsync.py;"
           " BlazeFace: LICENSE-blazeface.txt)")


def command(out):
    return [EXPORTER,
            "--checkpoints", os.path.join(FIXTURE, "checkpoints"),
            "--vae", os.path.join(FIXTURE, "sd-vae-ft-mse"),
            "--out", out, "--name", "latentsync-tiny", "--license", LICENSE, "--quiet"]


def export(out):
    tiny_bundle.run_exporter(command(out))


def main():
    return tiny_bundle.main(__doc__, BUNDLE, export, FIXTURE, "re-run /usr/bin/python3 tools/export_tiny_latentsync.py"
                            " and tools/reference_run_latentsync.py")


if __name__ == "__main__":
    sys.exit(main())
