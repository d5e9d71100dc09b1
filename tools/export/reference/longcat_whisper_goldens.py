#!/usr/bin/python3
"""Goldens for the Whisper-large-v3 audio encoder of LongCat-Video-Avatar 1.5, made by openai-whisper's
``AudioEncoder`` (transformers is not installed here; the two encoders are the same network) at
reduced width, with the grouping of LongCat's ``get_audio_embedding_whisper``.

    longcat_whisper_goldens.py WHISPER_CHECKOUT OUT_DIR

WHISPER_CHECKOUT: an openai/whisper checkout (c0d2f62); ``whisper/model.py`` is copied into a temporary
package whose ``decoding``/``transcribe`` modules are empty stand-ins (the encoder needs neither).
Built by its own constructor: 128 mels, 1500 positions, width 8, 2 heads, 32 layers (the grouping
needs 33 states), seeded random weights. The hidden states transformers returns with
``output_hidden_states=True`` are the inputs of the 32 blocks and ``ln_post`` of the last output:
forward hooks record them; the golden is ``[mean 0-7, mean 8-15, mean 16-23, mean 24-31, state 32]``.

Written: ``model.safetensors`` (transformers' ``WhisperModel`` key names, ``model.encoder.*``, mapped
from openai's: query/key/value/out -> q/k/v/out_proj, attn_ln -> self_attn_layer_norm, mlp.0/2 ->
fc1/fc2, mlp_ln -> final_layer_norm, ln_post -> layer_norm, positional_embedding ->
embed_positions.weight), ``config.json`` (d_model, encoder_layers, encoder_attention_heads,
num_mel_bins) and ``golden.bin`` (hidden_groups [1,1500,5,8]); the input is ``mel(seed)`` below,
made again by the test (1.5 MB is not worth committing).
"""
import json
import os
import shutil
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from a4jexport.checkpoint import write_safetensors  # noqa: E402

WIDTH, HEADS, LAYERS, MELS = 8, 2, 32, 128


def mel(seed=5):
    """The test input: a log-mel-like chunk [1, 128, 3000] in Whisper's range."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(1, MELS, 3000, generator=g) * 2 - 1) * 0.8


def hf_name(k):
    k = k.replace("positional_embedding", "embed_positions.weight").replace("ln_post.", "layer_norm.")
    k = k.replace("blocks.", "layers.").replace(".attn_ln.", ".self_attn_layer_norm.")
    k = k.replace(".mlp_ln.", ".final_layer_norm.").replace(".mlp.0.", ".fc1.").replace(".mlp.2.", ".fc2.")
    for a, b in (("query", "q_proj"), ("key", "k_proj"), ("value", "v_proj"), ("out", "out_proj")):
        k = k.replace(f".attn.{a}.", f".self_attn.{b}.")
    return "model.encoder." + k


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    checkout, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="whisper-ref-") as tmp:
        pkg = os.path.join(tmp, "whisper")
        os.makedirs(pkg)
        shutil.copyfile(os.path.join(checkout, "whisper", "model.py"), os.path.join(pkg, "model.py"))
        open(os.path.join(pkg, "__init__.py"), "w").close()
        for stub in ("decoding", "transcribe"):
            with open(os.path.join(pkg, stub + ".py"), "w") as f:
                f.write("def decode(*a, **k):\n    raise RuntimeError\n\n\ndef detect_language(*a, **k):\n"
                        "    raise RuntimeError\n\n\ndef transcribe(*a, **k):\n    raise RuntimeError\n")
        sys.path.insert(0, tmp)
        import importlib
        wm = importlib.import_module("whisper.model")
        enc = wm.AudioEncoder(MELS, 1500, WIDTH, HEADS, LAYERS).eval()
        g = torch.Generator().manual_seed(41)
        with torch.no_grad():
            for name, p in enc.named_parameters():
                if p.dim() >= 2:
                    p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
                elif name.endswith("weight"):
                    p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
        states = []
        for blk in enc.blocks:
            blk.register_forward_hook(lambda m, inp, outp: None)
            blk.register_forward_pre_hook(lambda m, inp: states.append(inp[0].clone()))
        with torch.no_grad():
            final = enc(mel())
        assert len(states) == LAYERS
        states.append(final)
        groups = [torch.stack(states[a:b]).mean(0) for a, b in ((0, 8), (8, 16), (16, 24), (24, 32))]
        golden = torch.stack(groups + [states[32]], dim=2)
        sd = {hf_name(k): v for k, v in enc.state_dict().items()}
        write_safetensors(os.path.join(out, "model.safetensors"), sd)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump({"d_model": WIDTH, "encoder_layers": LAYERS, "encoder_attention_heads": HEADS,
                       "num_mel_bins": MELS, "max_source_positions": 1500}, f, indent=2)
        golden.numpy().astype("<f4").tofile(os.path.join(out, "golden.bin"))
        print("hidden_groups", tuple(golden.shape), float(golden.abs().max()))


if __name__ == "__main__":
    main()
