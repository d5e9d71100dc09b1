"""End to end for tools/export/longcat-avatar: a checkpoints folder in the README's layout, built from the
reduced real-format fixtures (the reference-made VAE and Whisper encoder, the umT5 fixture under
transformers' names, a random DiT in the reference's key names, sharded, with a LoRA in the reference's
names), exported with the documented command into $A4J_EXPORT_OUT/longcat_e2e/; tools/export/test then
renders an MP4 from it with the SDK (one, two and three persons)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT = os.path.dirname(HERE)
sys.path.insert(0, EXPORT)

from a4jexport.checkpoint import open_checkpoint, write_safetensors  # noqa: E402
from a4jexport.longcat import dit, lora, text  # noqa: E402
import exportutil  # noqa: E402

FIX = os.path.join(HERE, "fixtures")
DIT = dict(in_channels=16, out_channels=16, hidden_size=32, depth=2, num_heads=2, caption_channels=32, mlp_ratio=4,
           adaln_tembed_dim=32, frequency_embedding_size=32, patch_size=[1, 2, 2], audio_window=5, audio_block=5,
           audio_channel=8, intermediate_dim=24, output_dim=16, context_tokens=4, vae_scale=4, audio_prenorm=True,
           class_range=24, class_interval=4)


def make_checkpoints(root):
    base = os.path.join(root, "LongCat-Video")
    avatar = os.path.join(root, "LongCat-Video-Avatar-1.5")
    # DiT, sharded as diffusers writes it
    bm = os.path.join(avatar, "base_model")
    os.makedirs(bm)
    sd = dit.random_checkpoint(DIT, 5)
    keys = sorted(sd)
    shards = {"diffusion_pytorch_model-00001-of-00002.safetensors": keys[: len(keys) // 2],
              "diffusion_pytorch_model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
    weight_map = {}
    for name, ks in shards.items():
        write_safetensors(os.path.join(bm, name), {k: sd[k] for k in ks})
        weight_map.update({k: name for k in ks})
    with open(os.path.join(bm, "diffusion_pytorch_model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    with open(os.path.join(bm, "config.json"), "w") as f:
        json.dump(dict(DIT, _class_name="LongCatVideoAvatarTransformer3DModel"), f)
    # the distillation LoRA in the reference's names: a split qkv and a plain layer
    g = torch.Generator().manual_seed(3)
    lo = {}
    for module, n in (("blocks.0.attn.qkv", 3), ("blocks.1.ffn.w1", 1)):
        name = "lora___lorahyphen___" + module.replace(".", "___lorahyphen___")
        w = sd[module + ".weight"]
        lo[name + ".lora_down.weight"] = torch.randn(n * 4, w.shape[1], generator=g) * 0.1
        for i in range(n):
            key = f"{name}.lora_up.blocks.{i}.weight" if n > 1 else name + ".lora_up.weight"
            lo[key] = torch.randn(w.shape[0] // n, 4, generator=g) * 0.1
        lo[name + ".alpha_scale"] = torch.tensor(0.5)
    os.makedirs(os.path.join(avatar, "lora"))
    write_safetensors(os.path.join(avatar, "lora", "dmd_lora.safetensors"), lo)
    # Whisper-large-v3 (openai-made fixture under transformers' names)
    shutil.copytree(os.path.join(FIX, "longcat_whisper"), os.path.join(avatar, "whisper-large-v3"))
    # the VAE (LongCat's own AutoencoderKLWan fixture)
    os.makedirs(os.path.join(base, "vae"))
    for f in ("config.json", "diffusion_pytorch_model.safetensors"):
        shutil.copyfile(os.path.join(FIX, "longcat_vae", f), os.path.join(base, "vae", f))
    # umT5 under transformers' UMT5EncoderModel names, and its tokenizer
    wan = open_checkpoint(os.path.join(FIX, "enc", "models_t5_umt5-xxl-enc-bf16.pth"))
    names = text.wan_names(_hf_keys(wan.keys()))
    os.makedirs(os.path.join(base, "text_encoder"))
    write_safetensors(os.path.join(base, "text_encoder", "model.safetensors"),
                      {hf: wan.get_tensor(w, None) for w, hf in names.items()})
    os.makedirs(os.path.join(base, "tokenizer"))
    shutil.copyfile(os.path.join(FIX, "enc", "google", "umt5-xxl", "spiece.model"),
                    os.path.join(base, "tokenizer", "spiece.model"))
    return sd, lo


def _hf_keys(wan_keys):
    """transformers' names for Wan's umT5 keys (the inverse of text.wan_names, for the fixture)."""
    out = []
    for k in wan_keys:
        if k == "token_embedding.weight":
            out.append("shared.weight")
        elif k == "norm.weight":
            out.append("encoder.final_layer_norm.weight")
        else:
            i, rest = k.split(".", 2)[1], k.split(".", 2)[2]
            hf = {"norm1.weight": "0.layer_norm.weight", "attn.q.weight": "0.SelfAttention.q.weight",
                  "attn.k.weight": "0.SelfAttention.k.weight", "attn.v.weight": "0.SelfAttention.v.weight",
                  "attn.o.weight": "0.SelfAttention.o.weight",
                  "pos_embedding.embedding.weight": "0.SelfAttention.relative_attention_bias.weight",
                  "norm2.weight": "1.layer_norm.weight", "ffn.gate.0.weight": "1.DenseReluDense.wi_0.weight",
                  "ffn.fc1.weight": "1.DenseReluDense.wi_1.weight", "ffn.fc2.weight": "1.DenseReluDense.wo.weight"}[rest]
            out.append(f"encoder.block.{i}.layer.{hf}")
    return out


class LongCatCliTest(unittest.TestCase):
    def test_documented_command_writes_a_complete_bundle(self):
        with tempfile.TemporaryDirectory(prefix="longcat-ckpt-") as root:
            sd, lo = make_checkpoints(root)
            out = exportutil.out_dir("longcat_e2e")
            cmd = [sys.executable, os.path.join(EXPORT, "longcat-avatar"), "--checkpoints", root, "--out", out,
                   "--precision", "fp32", "--size", "64x64", "-q"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        with open(os.path.join(out, "avatar-bundle.json")) as f:
            m = json.load(f)
        self.assertEqual(m["family"], "longcat-avatar")
        expected = {dit.graph_key(l, p) for l in ("first", "continuation") for p in (1, 2, 3)}
        expected |= {"audio-encoder", "vae-encoder", "vae-decoder-first", "vae-decoder"}
        self.assertEqual(set(m["graphs"]), expected)
        self.assertEqual(m["video"]["spatialStride"], 8)
        self.assertEqual(m["audio"]["melBins"], 128)
        self.assertEqual(m["sampler"]["shift"], 7.0)
        data = {e["externalData"][0]["file"] for k, e in m["graphs"].items() if k.startswith("dit")}
        self.assertEqual(data, {"dit.onnx.data"})
        emb = open_checkpoint(os.path.join(out, "text_default.safetensors"))["embeddings"]
        self.assertEqual(emb.shape[1], 32)
        self.assertEqual(set(m["tensors"]), {"text-default", "text-negative"})
        neg = open_checkpoint(os.path.join(out, "text_negative.safetensors"))["embeddings"]
        self.assertEqual(neg.shape[1], 32)
        self.assertNotEqual(neg.shape[0], emb.shape[0])  # the negative prompt is the longer one
        # the LoRA is merged: the stored qkv of block 0 is base + 0.5 * U @ D per block
        merged = lora.LoraMerged(sd, lo)
        self.assertGreater((merged["blocks.0.attn.qkv.weight"] - sd["blocks.0.attn.qkv.weight"]).abs().max(), 1e-3)
        model = onnx.load(os.path.join(out, "dit_p1.onnx"))  # external data read back
        qkv = next(t for t in model.graph.initializer if t.name == "blocks.0.attn.qkv.weight")
        got = torch.from_numpy(onnx.numpy_helper.to_array(qkv).copy())
        self.assertLess((got - merged["blocks.0.attn.qkv.weight"]).abs().max().item(), 1e-6)

    def test_missing_lora_is_a_usage_error(self):
        with tempfile.TemporaryDirectory(prefix="longcat-ckpt-") as root:
            make_checkpoints(root)
            os.remove(os.path.join(root, "LongCat-Video-Avatar-1.5", "lora", "dmd_lora.safetensors"))
            r = subprocess.run([sys.executable, os.path.join(EXPORT, "longcat-avatar"), "--checkpoints", root,
                                "--out", os.path.join(root, "b")], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2)
            self.assertIn("dmd_lora.safetensors", r.stderr)


if __name__ == "__main__":
    unittest.main()
