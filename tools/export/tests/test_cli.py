"""tools/export/stableavatar: input checks, and bundle assembly with stand-in parts for the modules
other engineers own (the real wav2vec2 part runs on its fixture)."""
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types
import unittest

import onnx
import torch
from onnx import TensorProto

from exportutil import FIXTURES, HERE
from a4jexport import cli
from a4jexport.checkpoint import write_safetensors
from a4jexport.graph import GraphExport
from a4jexport.manifest import write_embeddings
from a4jexport.onnxio import sha256_file

SCRIPT = os.path.join(os.path.dirname(HERE), "stableavatar")


def _layout(root):
    """A checkpoint folder laid out as StableAvatar's README says, with tiny stand-in files."""
    pm = os.path.join(root, "Wan2.1-Fun-V1.1-1.3B-InP")
    os.makedirs(os.path.join(pm, "google", "umt5-xxl"))
    with open(os.path.join(pm, "config.json"), "w") as f:
        json.dump({"num_heads": 2}, f)
    write_safetensors(os.path.join(pm, "diffusion_pytorch_model.safetensors"), {"w": torch.full((2,), 1.0)})
    for n, v in (("Wan2.1_VAE.pth", 2.0), ("models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth", 3.0),
                 ("models_t5_umt5-xxl-enc-bf16.pth", 4.0)):
        torch.save({"w": torch.full((2,), v).to(torch.bfloat16)}, os.path.join(pm, n))
    with open(os.path.join(pm, "google", "umt5-xxl", "spiece.model"), "wb") as f:
        f.write(b"spm")
    tr = os.path.join(root, "StableAvatar-1.3B", "transformer3d-square.pt")
    os.makedirs(os.path.dirname(tr))
    torch.save({"state_dict": {"w": torch.full((2,), 5.0)}}, tr)
    wv = os.path.join(root, "wav2vec2-base-960h")
    shutil.copytree(os.path.join(FIXTURES, "wav2vec2"), wv,
                    ignore=lambda d, names: [n for n in names if n not in ("config.json", "pytorch_model.bin")])
    return pm, tr, wv


class _Scale(torch.nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(w.reshape(1, -1, 1))

    def forward(self, x):
        return x * self.w


def _graph(key, file, w, manifest=None):
    return GraphExport(key=key, file=file, module=_Scale(w), args=(torch.ones(1, 2, 3),), input_names=["x"],
                       output_names=["y"], manifest=manifest or {})


CACHE = {"name": "cache_in_0", "output": "cache_out_0", "channels": 16, "frames": 2, "scale": 1}


def _fake_parts(calls):
    clip = types.ModuleType("clip")
    clip.build = lambda sd, source=None, **k: calls.setdefault("clip", (source, sd["w"])) and _Scale(sd["w"])
    clip.graphs = lambda m, **k: [_graph("image-encoder", "image_encoder.onnx", m.w.reshape(-1))]
    vae = types.ModuleType("vae")
    vae.build = lambda sd, source=None, **k: calls.setdefault("vae", (source, sd["w"])) and _Scale(sd["w"])
    vae.graphs = lambda m, **k: [
        _graph("vae-encoder", "vae_encoder.onnx", m.w.reshape(-1)),
        _graph("vae-decoder-first", "vae_decoder_first.onnx", m.w.reshape(-1)),
        _graph("vae-decoder", "vae_decoder.onnx", m.w.reshape(-1), {"caches": [CACHE]})]
    umt5 = types.ModuleType("umt5")

    def umt5_build(sd, source=None, storage_dtype=torch.float32, **k):
        calls["umt5"] = (source, sd.dtype("w"), storage_dtype)
        return _Scale(sd["w"])
    umt5.build = umt5_build
    umt5.graphs = lambda m, **k: [_graph("text-encoder", "text_encoder.onnx", m.w.reshape(-1))]

    class Tokenizer:
        def __init__(self, path):
            calls["tokenizer"] = path
    umt5.Tokenizer = Tokenizer

    def precompute(model, tok, out, prompt="p", negative="n"):
        calls["prompts"] = (prompt, negative)
        write_embeddings(os.path.join(out, "text_default.safetensors"), torch.ones(3, 4) * len(prompt))
        write_embeddings(os.path.join(out, "text_negative.safetensors"), torch.ones(2, 4))
        return {"text-default": "text_default.safetensors", "text-negative": "text_negative.safetensors"}
    umt5.precompute = precompute
    dit = types.ModuleType("dit")

    def dit_build(sd, config=None, transformer=None, **k):
        calls["dit"] = (config, sd["w"], transformer["w"])
        return _Scale(sd["w"] + transformer["w"])
    dit.build = dit_build
    dit.graphs = lambda m, attention="plain", **k: [
        _graph("dit", "dit.onnx" if attention == "plain" else "dit_mha.onnx", m.w.reshape(-1), {"attention": attention})]
    return {"clip": clip, "vae": vae, "umt5": umt5, "dit": dit}


@contextlib.contextmanager
def _installed(parts):
    saved = {}
    for name, mod in parts.items():
        full = f"a4jexport.stableavatar.{name}"
        saved[full] = sys.modules.get(full)
        sys.modules[full] = mod
    try:
        yield
    finally:
        for full, mod in saved.items():
            if mod is None:
                sys.modules.pop(full, None)
            else:
                sys.modules[full] = mod


def _run(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = cli.main(argv)
    return rc, err.getvalue()


class CliTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = self._tmp.name
        self.pm, self.tr, self.wv = _layout(self.root)
        self.out = os.path.join(self.root, "bundle")

    def tearDown(self):
        self._tmp.cleanup()

    def argv(self, *extra):
        return ["--pretrained-model", self.pm, "--transformer", self.tr, "--wav2vec", self.wv,
                "--out", self.out, *extra]

    def test_every_missing_file_is_named(self):
        cases = [
            (os.path.join(self.pm, "models_t5_umt5-xxl-enc-bf16.pth"), "umT5-XXL text encoder"),
            (os.path.join(self.pm, "google", "umt5-xxl", "spiece.model"), "sentencepiece tokenizer"),
            (os.path.join(self.pm, "diffusion_pytorch_model.safetensors"), "1.3B transformer weights"),
            (os.path.join(self.pm, "Wan2.1_VAE.pth"), "Wan2.1 VAE"),
            (self.tr, "transformer3d-square.pt"),
            (os.path.join(self.wv, "pytorch_model.bin"), "wav2vec2-base-960h weights"),
            (os.path.join(self.wv, "config.json"), "wav2vec2-base-960h config"),
        ]
        for path, what in cases:
            moved = path + ".away"
            os.rename(path, moved)
            try:
                rc, err = _run(self.argv())
                self.assertEqual(rc, 2, path)
                self.assertIn(what, err)
                if "pytorch_model.bin" not in path:
                    self.assertIn(path, err)
            finally:
                os.rename(moved, path)
        self.assertFalse(os.path.exists(self.out))

    def test_script_reports_missing_folder(self):
        p = subprocess.run([SCRIPT, "--pretrained-model", os.path.join(self.root, "nope"), "--transformer",
                            self.tr, "--wav2vec", self.wv, "--out", self.out], capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("is not a folder", p.stderr)
        self.assertNotIn("Traceback", p.stderr)

    def test_a_bad_checkpoint_is_reported_without_traceback(self):
        os.remove(os.path.join(self.wv, "pytorch_model.bin"))
        torch.save({"wav2vec2.feature_projection.projection.weight": torch.ones(4, 4)},
                   os.path.join(self.wv, "pytorch_model.bin"))
        with _installed(_fake_parts({})):
            rc, err = _run(self.argv())
        self.assertEqual(rc, 1)
        self.assertIn("wav2vec2.feature_extractor.conv_layers.0.conv.weight", err)
        self.assertIn("pytorch_model.bin", err)
        self.assertNotIn("Traceback", err)

    def test_missing_part_is_a_clear_error(self):
        with self.assertRaisesRegex(cli.UsageError, r"a4jexport\.stableavatar\.no_such_part is missing"):
            cli.load_part("no_such_part")
        broken = types.ModuleType("broken")
        with _installed({"dit": broken}), self.assertRaisesRegex(cli.UsageError, "no build"):
            cli.load_part("dit")

    def test_options_are_checked(self):
        rc, err = _run(self.argv("--size", "500x500"))
        self.assertEqual(rc, 2)
        self.assertIn("multiples of 16", err)
        with self.assertRaises(SystemExit) as cm:
            _run(self.argv("--precision", "fp8"))  # argparse: exit 2 with the choices
        self.assertEqual(cm.exception.code, 2)

    def test_assembles_a_bundle(self):
        calls = {}
        with _installed(_fake_parts(calls)):
            rc, err = _run(self.argv("--size", "480x832", "--prompt", "hello there", "--external-threshold", "50000"))
        self.assertEqual(rc, 0, err)
        # progress lines name every stage
        for stage in ("wav2vec2:", "clip:", "vae:", "umt5:", "dit:", "manifest"):
            self.assertIn(stage, err)
        # each part got its own checkpoint, lazily read, with the file name for its messages
        self.assertEqual(calls["clip"][0], "models_clip_open-clip-xlm-roberta-large-vit-huge-14.pth")
        self.assertTrue(torch.equal(calls["vae"][1], torch.full((2,), 2.0)))
        self.assertEqual(calls["umt5"], ("models_t5_umt5-xxl-enc-bf16.pth", torch.bfloat16, torch.bfloat16))
        self.assertTrue(calls["tokenizer"].endswith(os.path.join("google", "umt5-xxl", "spiece.model")))
        self.assertEqual(calls["prompts"][0], "hello there")
        self.assertTrue(calls["dit"][0].endswith("config.json"))
        self.assertTrue(torch.equal(calls["dit"][2], torch.full((2,), 5.0)))  # unwrapped "state_dict"

        with open(os.path.join(self.out, "avatar-bundle.json"), encoding="utf-8") as f:
            m = json.load(f)
        self.assertEqual(list(m["graphs"]), ["audio-encoder", "image-encoder", "vae-encoder", "dit",
                                             "vae-decoder-first", "vae-decoder"])
        self.assertEqual((m["video"]["width"], m["video"]["height"]), (480, 832))
        self.assertNotIn("text-encoder", m["graphs"])
        for e in list(m["graphs"].values()) + list(m["tensors"].values()):
            self.assertEqual(e["sha256"], sha256_file(os.path.join(self.out, e["file"])), e["file"])
        ext = m["graphs"]["audio-encoder"]["externalData"]  # 120 KB of weights > the 50 KB threshold
        self.assertEqual(ext[0]["file"], "audio_encoder.onnx.data")
        self.assertEqual(ext[0]["size"], os.path.getsize(os.path.join(self.out, "audio_encoder.onnx.data")))
        self.assertEqual(m["graphs"]["vae-decoder"]["caches"], [CACHE])
        # the DiT and its ONNX Runtime variant, which shares dit.onnx.data
        v = m["graphs"]["dit"]["variants"]["onnxruntime"]
        self.assertEqual((v["file"], v["attention"]), ("dit_mha.onnx", "mha"))
        self.assertEqual(v["sha256"], sha256_file(os.path.join(self.out, "dit_mha.onnx")))
        self.assertEqual(v.get("externalData"), m["graphs"]["dit"].get("externalData"))
        files = {e["file"] for e in list(m["graphs"].values()) + list(m["tensors"].values())}
        files |= {"avatar-bundle.json", "tensorrt-profiles.properties"}
        files |= {v["file"] for e in m["graphs"].values() for v in e.get("variants", {}).values()}
        files |= {x["file"] for e in m["graphs"].values() for x in e.get("externalData", [])}
        self.assertEqual(set(os.listdir(self.out)), files)  # nothing else left in the bundle

        # a second run into the same folder needs --force
        with _installed(_fake_parts({})):
            rc, err = _run(self.argv())
            self.assertEqual(rc, 2)
            self.assertIn("not empty", err)
            rc, err = _run(self.argv("--force", "--text-encoder", "--quiet", "--precision", "fp16"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        with open(os.path.join(self.out, "avatar-bundle.json"), encoding="utf-8") as f:
            m2 = json.load(f)
        self.assertIn("text-encoder", m2["graphs"])
        self.assertIn("variants", m2["graphs"]["dit"])
        w = onnx.load(os.path.join(self.out, "audio_encoder.onnx"))
        self.assertIn(TensorProto.FLOAT16, {t.data_type for t in w.graph.initializer})
        with _installed(_fake_parts({})):
            rc, err = _run(self.argv("--force", "--quiet", "--dit-variants", "plain"))
        self.assertEqual(rc, 0, err)
        with open(os.path.join(self.out, "avatar-bundle.json"), encoding="utf-8") as f:
            self.assertNotIn("variants", json.load(f)["graphs"]["dit"])


if __name__ == "__main__":
    unittest.main()
