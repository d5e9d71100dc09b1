#!/usr/bin/python3
"""One complete, consistent, reduced StableAvatar checkpoint set, made by the REFERENCE modules, and
the reference-forward goldens of every graph a bundle exported from it holds.

    make_reduced_checkpoints.py REF_CHECKOUT OUT_DIR [--transformers WHEEL_OR_CHECKOUT]

REF_CHECKOUT: a StableAvatar checkout (46c0492); ``--transformers``: what reference/wav2vec2_goldens.py
takes (default: /opt/pypi-more/files/transformers-4.57.6-py3-none-any.whl). Each part is made by its
golden script's own builder (dit_goldens.make, enc_goldens.clip_goldens / t5_goldens, vae_goldens,
wav2vec2_goldens.main), each in its own process: the scripts install different stub packages
(diffusers, einops, transformers) under the same names. Nothing of the reference is written.

The dimensions are consistent across parts, as the published ones are: DiT text width = umT5
width (32), DiT CLIP width = CLIP ViT width (32, with the published 16 heads), DiT audio width =
wav2vec2 hidden size (32), VAE z_dim 16. The CLIP image is 32 px at patch 2: 257 tokens like the
published 224 px at patch 14 (the reference DiT takes the first 257 context tokens as the image's,
so the count is not free). The DiT's ``text_len`` (128) holds the reference's negative prompt in
the reduced tokenizer (121 tokens). Total: about 2.6 MB with the goldens.

OUT_DIR, laid out as StableAvatar's README / inference.sh have users download the checkpoints:

    Wan2.1-Fun-V1.1-1.3B-InP/config.json, diffusion_pytorch_model.safetensors, Wan2.1_VAE.pth,
        models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth, models_t5_umt5-xxl-enc-bf16.pth,
        google/umt5-xxl/{spiece.model, special_tokens_map.json, tokenizer_config.json, tokenizer.json}
    StableAvatar-1.3B/transformer3d-square.pt
    wav2vec2-base-960h/config.json, pytorch_model.bin, preprocessor_config.json

plus the goldens (reference forward, seeded inputs, at shapes that are NOT the exporter's tracing
shapes): ``cases.txt`` (tools/OrtCheck.java's format, one file for the whole bundle: audio_encoder,
image_encoder, text_encoder, vae_encoder, vae_encoder_first/step, vae_decoder_first, vae_decoder,
dit and its ONNX Runtime variant dit_mha) with the tensors under ``goldens/<part>/``, and ``prompts.json``: the default and negative
prompts, their reference token ids and the reference umT5 embeddings the bundle's
``text_default`` / ``text_negative`` tensors must hold.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSFORMERS_WHEEL = "/opt/pypi-more/files/transformers-4.57.6-py3-none-any.whl"
WAN = "Wan2.1-Fun-V1.1-1.3B-InP"
STABLE = "StableAvatar-1.3B"
W2V = "wav2vec2-base-960h"
DEFAULT_PROMPT = "The protagonist is singing"   # inference.py's --validation_prompts default

DIT_SIZE = dict(DIM=32, HEADS=2, LAYERS=2, FFN=64, FREQ=32, TEXT_DIM=32, TEXT_LEN=128, CLIP_DIM=32, AUDIO_DIM=32)
CLIP_CFG = dict(image_size=32, patch_size=2, vision_dim=32, vision_layers=3, embed_dim=16, text_dim=16,
                vocab_size=32, max_text_len=8)
VAE_DIM = 2
W2V_CASES = (4800, 9137)   # the exporter traces at 16000 samples
# name, B, F, k, H, W, Lt, L (the exporter traces B=3, F=k=3, 4x4, Lt=7, L=9)
DIT_CASES = [("a", 3, 4, 4, 4, 6, 11, 20), ("b", 3, 5, 3, 6, 4, 128, 21), ("c", 1, 3, 2, 2, 6, 5, 14)]


def reference_negative_prompt(checkout):
    """The negative prompt StableAvatar's inference.py passes to the pipeline."""
    path = os.path.join(checkout, "inference.py")
    with open(path, encoding="utf-8") as f:
        m = re.search(r'negative_prompt="([^"]+)"', f.read())
    if not m:
        sys.exit(f"{path}: no negative_prompt=\"...\" found")
    return m.group(1)


# ---------------------------------------------------------------------------------------------------
# one part per process (python3 make_reduced_checkpoints.py --part NAME REF WORK [TRANSFORMERS])

def part_wav2vec2(ref, work, transformers):
    import wav2vec2_goldens
    wav2vec2_goldens.main(transformers, work, cases=W2V_CASES)


def part_enc(ref, work, transformers):
    import tempfile as tf
    import torch
    import enc_goldens
    torch.set_num_threads(1)
    with tf.TemporaryDirectory() as stubs:
        clipmod, t5mod = enc_goldens.import_reference(ref, stubs)
        w, pre = enc_goldens.Writer(work), enc_goldens.Writer(work)
        enc_goldens.clip_goldens(clipmod, work, w, pre, **CLIP_CFG)
        enc_goldens.t5_goldens(t5mod, work, w, prompts={"default": DEFAULT_PROMPT,
                                                        "negative": reference_negative_prompt(ref)})
    with open(os.path.join(work, "cases.txt"), "w") as f:
        f.write("\n".join(w.lines) + "\n")


def part_vae(ref, work, transformers):
    subprocess.run([sys.executable, os.path.join(HERE, "vae_goldens.py"), ref, work, "--dim", str(VAE_DIM)],
                   check=True)
    shutil.rmtree(os.path.join(work, "variant"))
    os.remove(os.path.join(work, "real_shapes.json"))


def part_dit(ref, work, transformers):
    import dit_goldens
    dit_goldens.make(ref, work, DIT_SIZE, DIT_CASES, clip_tokens=257, mha=False)


PARTS = {"wav2vec2": part_wav2vec2, "enc": part_enc, "vae": part_vae, "dit": part_dit}


# ---------------------------------------------------------------------------------------------------

def _move(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.move(src, dst)


def _tokenizer_files(spiece_dir):
    """The files Hugging Face's google/umt5-xxl folder holds next to spiece.model, for this model."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    proto = pb.ModelProto()
    with open(os.path.join(spiece_dir, "spiece.model"), "rb") as f:
        proto.ParseFromString(f.read())
    specials = {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    with open(os.path.join(spiece_dir, "special_tokens_map.json"), "w") as f:
        json.dump(specials, f, indent=2)
        f.write("\n")
    with open(os.path.join(spiece_dir, "tokenizer_config.json"), "w") as f:
        json.dump(dict(specials, additional_special_tokens=[], extra_ids=0, model_max_length=1000000000000000019884624838656,
                       sp_model_kwargs={}, tokenizer_class="T5Tokenizer"), f, indent=2)
        f.write("\n")
    vocab = [[p.piece, p.score] for p in proto.pieces]
    added = [{"id": i, "content": vocab[i][0], "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i in range(3)]
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 0}},
                                    {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                           "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab, "byte_fallback": False},
    }
    with open(os.path.join(spiece_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)


def _cases(work, part):
    """The part's cases.txt lines with the tensor files moved under goldens/<part>/."""
    out = []
    with open(os.path.join(work, "cases.txt")) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] in ("in", "out"):
                p[4] = f"goldens/{part}/{p[4]}"
            out.append(" ".join(p))
    return out


def assemble(work, out):
    wan, stable, w2v = (os.path.join(out, d) for d in (WAN, STABLE, W2V))
    # checkpoints, in the published layout
    _move(os.path.join(work["dit"], "config.json"), os.path.join(wan, "config.json"))
    _move(os.path.join(work["dit"], "diffusion_pytorch_model.safetensors"),
          os.path.join(wan, "diffusion_pytorch_model.safetensors"))
    _move(os.path.join(work["dit"], "transformer3d-square.pt"), os.path.join(stable, "transformer3d-square.pt"))
    _move(os.path.join(work["vae"], "Wan2.1_VAE.pth"), os.path.join(wan, "Wan2.1_VAE.pth"))
    for n in ("models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth", "models_t5_umt5-xxl-enc-bf16.pth"):
        _move(os.path.join(work["enc"], n), os.path.join(wan, n))
    _move(os.path.join(work["enc"], "google", "umt5-xxl", "spiece.model"),
          os.path.join(wan, "google", "umt5-xxl", "spiece.model"))
    _tokenizer_files(os.path.join(wan, "google", "umt5-xxl"))
    for n in ("config.json", "pytorch_model.bin"):
        _move(os.path.join(work["wav2vec2"], n), os.path.join(w2v, n))
    with open(os.path.join(w2v, "preprocessor_config.json"), "w") as f:
        json.dump({"do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
                   "padding_side": "right", "padding_value": 0.0, "return_attention_mask": False,
                   "sampling_rate": 16000}, f, indent=2)
        f.write("\n")

    # goldens: one cases.txt for the whole bundle, tensors under goldens/<part>/
    lines = []
    for part in ("wav2vec2", "enc", "vae", "dit"):
        lines += _cases(work[part], part)
        if part == "dit":  # ONNX Runtime's variant (fused attention) answers the same cases
            lines += [("case dit_mha.onnx" if ln == "case dit.onnx" else ln) for ln in _cases(work[part], part)]
        d = os.path.join(out, "goldens", part)
        os.makedirs(d, exist_ok=True)
        for n in sorted(os.listdir(work[part])):
            if n.endswith(".bin"):
                _move(os.path.join(work[part], n), os.path.join(d, n))
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(work["enc"], "tokens.json"), encoding="utf-8") as f:
        tokens = json.load(f)
    prompts = {}
    for key, name in (("text-default", "default"), ("text-negative", "negative")):
        t = tokens["prompts"][name]
        prompts[key] = {"text": t["text"], "ids": t["ids"], "shape": t["shape"],
                        "file": f"goldens/enc/{t['embeddings']}"}
    with open(os.path.join(out, "prompts.json"), "w", encoding="utf-8") as f:
        json.dump(prompts, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--part":
        name, ref, work, transformers = sys.argv[2:6]
        sys.path.insert(0, HERE)
        PARTS[name](ref, work, transformers)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ref", metavar="REF_CHECKOUT")
    ap.add_argument("out", metavar="OUT_DIR")
    ap.add_argument("--transformers", default=TRANSFORMERS_WHEEL, metavar="WHEEL_OR_CHECKOUT")
    a = ap.parse_args()
    for f in ("inference.py", "wan/models/wan_fantasy_transformer3d_1B.py", "wan/models/wan_vae.py"):
        if not os.path.isfile(os.path.join(a.ref, f)):
            sys.exit(f"{a.ref}: no {f} (REF_CHECKOUT must be a StableAvatar checkout)")
    if not os.path.exists(a.transformers):
        sys.exit(f"--transformers {a.transformers} does not exist (a transformers wheel or checkout)")
    if os.path.exists(a.out) and os.listdir(a.out):
        sys.exit(f"{a.out} is not empty")
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="reduced-ck-")
    try:
        work = {}
        for name in PARTS:
            work[name] = os.path.join(tmp, name)
            os.makedirs(work[name])
            print(f"== {name}", flush=True)
            subprocess.run([sys.executable, os.path.abspath(__file__), "--part", name, os.path.abspath(a.ref),
                            work[name], os.path.abspath(a.transformers)], check=True)
        assemble(work, a.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(a.out) for f in fs)
    print(f"wrote {a.out}: {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
