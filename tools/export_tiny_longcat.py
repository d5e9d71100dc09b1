#!/usr/bin/python3
"""Export `models/longcat-avatar-tiny` with the real exporter from a reduced real-architecture checkpoint.

The checkpoints folder is the one tools/export/tests/test_longcat_cli.py builds, deterministically, from the
committed reduced fixtures in the README's layout: Whisper-large-v3 (tools/export/tests/fixtures/
longcat_whisper, reference-made, 32 layers at width 8), LongCat's AutoencoderKLWan (fixtures/longcat_vae),
umT5 under transformers' names with its sentencepiece model (fixtures/enc), and a seeded random DiT in the
reference's key names (hidden 32, 2 blocks), sharded, with a distillation LoRA in the reference's names.
This script runs the documented command on it, as a user runs it on the published checkpoints:

    tools/export/longcat-avatar --checkpoints .../ckpts --out models/longcat-avatar-tiny
        --precision fp32 --size 64x64 --name longcat-avatar-tiny

so the SDK's tests run exactly the graphs a real export produces (Whisper encoder with LongCat's hidden
state grouping, the Wan VAE encoder and the streamed first-frame + step decoder pair with its causal caches,
the six DiT graphs sharing one external weight file). Only the precision (fp32, so that the parity goldens
of tools/reference_run_longcat.py hold tightly) and the default size (64x64, fast tests) differ from the
exporter's defaults.

Usage:
  /usr/bin/python3 tools/export_tiny_longcat.py            # (re)writes models/longcat-avatar-tiny
  /usr/bin/python3 tools/export_tiny_longcat.py --check    # exports to a temp folder; exit 1 unless
                                                           # byte-identical to the committed bundle
"""
import os
import sys
import tempfile

import tiny_bundle

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUNDLE = os.path.join(ROOT, "models", "longcat-avatar-tiny")
TESTS = os.path.join(HERE, "export", "tests")
EXPORTER = os.path.join(HERE, "export", "longcat-avatar")
SIZE = "64x64"


def checkpoints(root):
    """Builds the reduced checkpoints folder under root (the exporter's own end-to-end test's builder)."""
    sys.path.insert(0, TESTS)
    import test_longcat_cli  # noqa: E402
    test_longcat_cli.make_checkpoints(root)


def reference_models(ckpts):
    """The PyTorch modules the exporter builds from the checkpoints folder ``ckpts`` (made by
    :func:`checkpoints`), for tools/reference_run_longcat.py: ``audio-encoder`` (Whisper with LongCat's
    groups), ``vae`` (the Wan VAE: its reference ``encode``/``decode``), ``dit`` (segment 0's one-person
    DiT with the LoRA merged; ``lcdit.variant`` gives the others) and ``text`` (default, negative) ``[L, Dt]``."""
    sys.path.insert(0, os.path.join(HERE, "export"))
    import torch
    from a4jexport.checkpoint import open_checkpoint
    from a4jexport.longcat import cli, dit, lora, text, vae, whisper
    base, avatar = cli.locate(ckpts)
    bm = os.path.join(avatar, "base_model")
    base_sd = cli._weights(bm, "diffusion_pytorch_model")
    merged = lora.LoraMerged(base_sd, open_checkpoint(os.path.join(avatar, "lora", "dmd_lora.safetensors")),
                             multiplier=cli.LORA_MULTIPLIER, rank=cli.LORA_RANK, alpha=cli.LORA_ALPHA)
    dit_model = dit.build({k: merged[k] for k in base_sd.keys()}, cli._json(os.path.join(bm, "config.json")))
    wdir = os.path.join(avatar, "whisper-large-v3")
    wmodel = whisper.build(cli._weights(wdir, "model"), cli._json(os.path.join(wdir, "config.json")))
    vdir = os.path.join(base, "vae")
    vmodel = vae.build(cli._weights(vdir, "diffusion_pytorch_model"), cli._json(os.path.join(vdir, "config.json")))
    tmodel = text.build(cli._weights(os.path.join(base, "text_encoder"), "model"), storage_dtype=torch.bfloat16)
    tok = text.umt5.Tokenizer(os.path.join(base, "tokenizer", "spiece.model"))
    prompts = (cli.DEFAULT_PROMPT, cli.NEGATIVE_PROMPT)
    return {"audio-encoder": wmodel, "vae": vmodel, "dit": dit_model,
            "text": tuple(text.embeddings(tmodel, tok, p) for p in prompts)}


def command(ckpts, out):
    return [sys.executable, EXPORTER, "--checkpoints", ckpts, "--out", out, "--precision", "fp32",
            "--size", SIZE, "--name", "longcat-avatar-tiny", "-q"]


def export(out):
    with tempfile.TemporaryDirectory(prefix="lc-ckpt-") as ckpts:
        checkpoints(ckpts)
        tiny_bundle.run_exporter(command(ckpts, out))


def main():
    return tiny_bundle.main(__doc__, BUNDLE, export, "the reduced checkpoints",
                            "re-run /usr/bin/python3 tools/export_tiny_longcat.py and tools/reference_run_longcat.py")


if __name__ == "__main__":
    sys.exit(main())
