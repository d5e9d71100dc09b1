#!/usr/bin/python3
"""Goldens for the LongCat-Video-Avatar DiT export, made by the REFERENCE modules at reduced size.

    longcat_dit_goldens.py REF_CHECKOUT OUT_DIR

REF_CHECKOUT is a meituan-longcat/LongCat-Video checkout (6b3f4b8). The reference's
``LongCatVideoAvatarTransformer3DModel`` is imported through longcat_stubs.py (copies of the reference
files in a temporary package next to stand-ins for what this machine lacks; see there) and built
through its own constructor at reduced size (hidden 32, 2 heads of 16, 2 blocks, caption 24, adaLN 32,
frequency 32, audio 8 channels x 5 groups -> 24 -> 4 tokens x 16, audio pre-norm on,
``cp_split_hw = [1, 1]``), weights seeded random and scaled so activations stay O(1).

Cases run the reference's ``forward`` as its pipeline calls it (full sequence, no KV cache: the
reference's KV-cache path gives the same result, since condition tokens attend only to condition
tokens and get no cross-attention):
  - ``first``: ``generate_ai2v``: ``num_cond_latents = 1``, timestep 0 on latent 0, k = 24 latents;
  - ``continuation``: ``generate_avc``: ``[reference ; 4 context ; 20 noisy]``,
    ``num_cond_latents = 5``, ``num_ref_latents = 1``, ``ref_img_index = 10``,
    ``mask_frame_range = 3``, timestep 0 on the 5 condition latents;
  each with P = 1 (one audio track, no ``ref_target_masks``; B = 1 with a text mask whose last two
  tokens are padding, so only the valid tokens are keys), P = 2 (two tracks, masks
  [person 1, person 2, background]) and P = 3 (two speakers + the silent track, masks
  [person 1, person 2, background, other]), at a 4 x 6 latent (2 x 3 tokens per latent).

LoRA cases (``lora_*``): the same model with a reduced distillation-style LoRA loaded and enabled
by the reference (``load_lora(path, "dmd", multiplier=1.0, lora_network_dim=4, lora_network_alpha=2)``,
``enable_loras(["dmd"])``), on five Linear layers including a split qkv (``lora_up.blocks.0..2``)
and a split audio kv (2 blocks), ``alpha_scale`` buffers 0.5 as the file carries them: P = 1 segment 0
and P = 2 continuation. The exporter merges the LoRA into the weights; the graphs are the same files.

Written to OUT_DIR (the real files' layout): ``config.json`` (the reference's config keys),
``diffusion_pytorch_model.safetensors`` (the reference's state-dict key names),
``lora/dmd_lora.safetensors`` (the reference's LoRA key names) and ``cases.txt`` in
tools/OrtCheck.java's format with the bundle's graph inputs: ``x, t, context`` (valid tokens only),
``audio_latter [1,P,23,8,5,Da]`` (the reference's per-latent window union of latents 1..23:
frame 4l-3 positions 0..2, frames 4l-2 and 4l-1 position 2, frame 4l positions 2..4) and, for P >= 2,
``person_mask [M,h/2,w/2]``; output ``velocity``.
"""
import json
import os
import struct
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import longcat_stubs  # noqa: E402
from a4jexport.checkpoint import write_safetensors  # noqa: E402

CONFIG = dict(in_channels=16, out_channels=16, hidden_size=32, depth=2, num_heads=2, caption_channels=24,
              mlp_ratio=4, adaln_tembed_dim=32, frequency_embedding_size=32, patch_size=[1, 2, 2],
              audio_window=5, audio_block=5, audio_channel=8, intermediate_dim=24, output_dim=16,
              context_tokens=4, vae_scale=4, audio_prenorm=True, class_range=24, class_interval=4,
              text_tokens_zero_pad=False)
SEG_LAT, CTX, REF_INDEX, MASK_RANGE = 24, 4, 10, 3
LH, LW = 4, 6
TEXT_LEN, TEXT_VALID = 7, 5


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "adaLN_modulation" in name:
                p.copy_(torch.randn(p.shape, generator=g) * (0.3 / p.shape[-1] ** 0.5 if p.dim() == 2 else 0.3))
            elif p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


LORA_RANK, LORA_ALPHA = 4, 2.0
LORA_TARGETS = [("blocks.0.attn.qkv", 3), ("blocks.1.attn.proj", 1), ("blocks.0.cross_attn.q_linear", 1),
                ("blocks.1.ffn.w1", 1), ("blocks.0.audio_cross_attn.kv_linear", 2)]


def make_lora(model, g):
    """A LoRA state dict in the reference's key names (what ``LoRANetwork.state_dict()`` saves)."""
    sd = {}
    for module, n in LORA_TARGETS:
        lin = model
        for part in module.split("."):
            lin = getattr(lin, part)
        name = "lora___lorahyphen___" + module.replace(".", "___lorahyphen___")
        sd[name + ".lora_down.weight"] = torch.randn(n * LORA_RANK, lin.in_features, generator=g) / lin.in_features ** 0.5
        if n == 1:
            sd[name + ".lora_up.weight"] = 0.5 * torch.randn(lin.out_features, LORA_RANK, generator=g)
        else:
            for i in range(n):
                sd[f"{name}.lora_up.blocks.{i}.weight"] = 0.5 * torch.randn(lin.out_features // n, LORA_RANK,
                                                                            generator=g)
        sd[name + ".alpha_scale"] = torch.tensor(LORA_ALPHA / LORA_RANK)
    return sd


def audio_union(audio_embs):
    """[Pa, 1+4(L-1), 5, S, C] -> the graph's audio_latter [1, Pa, L-1, 8, S, C] (the reference's slicing)."""
    lat = audio_embs[:, 1:].reshape(audio_embs.shape[0], -1, 4, *audio_embs.shape[2:])
    u = torch.cat([lat[:, :, 0, :3], lat[:, :, 1:3, 2], lat[:, :, 3, 2:]], dim=2)
    return u[None]


def write_case(out, lines, tag, graph, inputs, outputs):
    lines.append(f"case {graph}")
    for kind, tensors in (("in", inputs), ("out", outputs)):
        for name, t in tensors.items():
            a = t.detach().contiguous().float().numpy()
            fname = f"{tag}_{kind}_{name}.bin"
            with open(os.path.join(out, fname), "wb") as f:
                f.write(a.astype("<f4").tobytes())
            lines.append(f"{kind} {name} float32 {','.join(str(d) for d in a.shape)} {fname}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    checkout, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="longcat-ref-") as tmp:
        ref = longcat_stubs.import_reference(checkout, tmp)
        cfg = dict(CONFIG, enable_xformers=True, cp_split_hw=[1, 1])
        model = ref.LongCatVideoAvatarTransformer3DModel(**cfg).eval()
        randomize(model, 19)
        sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
        write_safetensors(os.path.join(out, "diffusion_pytorch_model.safetensors"), sd)
        with open(os.path.join(out, "config.json"), "w") as f:
            json.dump(dict(CONFIG, _class_name="LongCatVideoAvatarTransformer3DModel"), f, indent=2)
        g = torch.Generator().manual_seed(7)
        lines = []
        saved = {}
        for layout in ("first", "continuation"):
            k = SEG_LAT if layout == "first" else SEG_LAT + 1
            nc = 1 if layout == "first" else 1 + CTX
            for persons in (1, 2, 3):
                x = torch.randn(1, 16, k, LH, LW, generator=g)
                t = torch.full((1, k), 0.0)
                t[:, nc:] = 612.5
                text = torch.randn(1, 1, TEXT_LEN, CONFIG["caption_channels"], generator=g)
                tmask = torch.zeros(1, TEXT_LEN, dtype=torch.int64)
                tmask[:, :TEXT_VALID] = 1
                frames = 1 + 4 * (SEG_LAT - 1)
                audio = torch.randn(persons, frames, 5, 5, CONFIG["audio_channel"], generator=g)
                if persons == 3:
                    audio[2] = audio[2] * 0.1  # the silent track's features are small, not zero
                kw = {}
                masks = None
                if persons >= 2:
                    th, tw = LH // 2, LW // 2
                    m1 = torch.zeros(th, tw)
                    m1[:, 0] = 1
                    m2 = torch.zeros(th, tw)
                    m2[:, 2] = 1
                    bg = 1 - torch.clamp(m1 + m2, max=1)
                    ms = [m1, m2, bg]
                    if persons == 3:
                        other = torch.zeros(th, tw)
                        other[1, 1] = 1
                        ms.append(other)
                    masks = torch.stack(ms)
                    kw["ref_target_masks"] = masks
                if layout == "continuation":
                    kw.update(num_ref_latents=1, ref_img_index=REF_INDEX, mask_frame_range=MASK_RANGE)
                call = dict(hidden_states=x, timestep=t, encoder_hidden_states=text, encoder_attention_mask=tmask,
                            num_cond_latents=nc, audio_embs=audio, **kw)
                with torch.no_grad():
                    v = model(**call)
                inputs = {"x": x, "t": t, "context": text[0, :, :TEXT_VALID], "audio_latter": audio_union(audio)}
                if masks is not None:
                    inputs["person_mask"] = masks
                tag = f"{layout}_p{persons}"
                graph = f"dit_p{persons}.onnx" if layout == "first" else f"dit_p{persons}_continuation.onnx"
                write_case(out, lines, tag, graph, inputs, {"velocity": v})
                saved[tag] = (inputs, call, graph)
                print(f"{tag}: |velocity| max {v.abs().max():.3f}")
        with open(os.path.join(out, "cases.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        # the LoRA cases (separate file: the base goldens above stay the base model's)
        lora = make_lora(model, torch.Generator().manual_seed(23))
        os.makedirs(os.path.join(out, "lora"), exist_ok=True)
        lora_path = os.path.join(out, "lora", "dmd_lora.safetensors")
        write_safetensors(lora_path, lora)
        model.load_lora(lora_path, "dmd", multiplier=1.0, lora_network_dim=LORA_RANK, lora_network_alpha=LORA_ALPHA)
        model.enable_loras(["dmd"])
        lines = []
        for tag, (ins, kw, graph) in saved.items():
            if tag not in ("first_p1", "continuation_p2"):
                continue
            with torch.no_grad():
                v = model(**kw)
            write_case(out, lines, "lora_" + tag, graph, ins, {"velocity": v})
            print(f"lora_{tag}: |velocity| max {v.abs().max():.3f}")
        with open(os.path.join(out, "lora_cases.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
