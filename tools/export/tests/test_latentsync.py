"""LatentSync exporter: parity with the REFERENCE modules and the documented command.

fixtures/latentsync is what ``reference/latentsync_goldens.py LATENTSYNC DIFFUSERS fixtures/latentsync``
writes: reduced checkpoints in the published layout (``checkpoints/latentsync_unet.pt``,
``checkpoints/whisper/tiny.pt``, ``sd-vae-ft-mse/``) made by the reference UNet3DConditionModel,
Whisper and diffusers AutoencoderKL with random weights, ``cases.txt`` with the reference forward's
outputs for the bundle's unet / unet_mha / vae_encoder / vae_decoder graphs, and ``whisper/cases.txt``
for the audio encoder of ``whisper_ctx16.pt``.

Here: each torch module against the goldens (<= 1e-4 relative to max(1, max|ref|)); the documented
command into ``$A4J_EXPORT_OUT/latentsync`` (tools/export/test then runs fixtures/latentsync/cases.txt
through ONNX Runtime Java on that bundle) and its manifest; the ctx-16 audio encoder graph into
``$A4J_EXPORT_OUT/latentsync-whisper`` with its cases; errors naming missing files and keys.

With A4J_LATENTSYNC_REF, A4J_DIFFUSERS_REF and A4J_DEEPCACHE_REF (checkouts) set, the fixture must be byte-identical to
what the goldens script makes from them.
"""
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
import torch

from exportutil import FIXTURES, HERE, out_dir
from a4jexport.checkpoint import CheckpointKeyError, open_checkpoint
from a4jexport.latentsync import unet as U
from a4jexport.latentsync import vae as V
from a4jexport.latentsync import whisper as W
from a4jexport.onnxio import sha256_file

TOOLS = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(TOOLS))
SCRIPT = os.path.join(TOOLS, "latentsync")
FIX = os.path.join(FIXTURES, "latentsync")
CK = os.path.join(FIX, "checkpoints")
VAE_DIR = os.path.join(FIX, "sd-vae-ft-mse")
TOL = 1e-4


def read_cases(path):
    """[{graph, in: {name: tensor}, out: {name: tensor}}] of an OrtCheck cases.txt."""
    base = os.path.dirname(path)
    out = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "case":
                out.append({"graph": p[1], "in": {}, "out": {}})
                continue
            shape = [int(x) for x in p[3].split(",")]
            a = np.fromfile(os.path.join(base, p[4]), dtype="<f4" if p[2] == "float32" else "<i8").reshape(shape)
            out[-1][p[0]][p[1]] = torch.from_numpy(a.copy())
    return out


def rel(a, b):
    return float((a - b).abs().max()) / max(1.0, float(b.abs().max()))


def unet_sd():
    with open_checkpoint(os.path.join(CK, "latentsync_unet.pt")) as ck:
        return {k: ck.get_tensor(k, None) for k in ck.keys()}


def vae_sd():
    with open_checkpoint(os.path.join(VAE_DIR, "diffusion_pytorch_model.safetensors")) as ck:
        return {k: ck[k] for k in ck.keys()}


class UNetParity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sd = unet_sd()
        cls.model = U.build(cls.sd)
        cls.cases = [c for c in read_cases(os.path.join(FIX, "cases.txt")) if c["graph"] == "unet.onnx"]

    def test_reference_goldens(self):
        self.assertEqual(len(self.cases), 3)
        with torch.no_grad():
            for c in self.cases:
                i = c["in"]
                y, cache = self.model(i["sample"], i["timestep"], i["audio"], with_cache=True)
                self.assertLessEqual(rel(y, c["out"]["noise"]), TOL)
                if "cache" in c["out"]:
                    self.assertLessEqual(rel(cache, c["out"]["cache"]), TOL)
                with U.attention_mode("mha"):   # the variant's torch path is the same math
                    self.assertLessEqual(rel(self.model(i["sample"], i["timestep"], i["audio"]), c["out"]["noise"]), TOL)

    def test_deepcache_step_against_the_reference_helper(self):
        (c,) = [c for c in read_cases(os.path.join(FIX, "cases.txt")) if c["graph"] == "unet_shallow.onnx"]
        i = c["in"]
        with torch.no_grad():
            y = self.model.shallow(i["sample"], i["timestep"], i["audio"], i["cache"])
            full = self.model(i["sample"], i["timestep"], i["audio"])
        self.assertLessEqual(rel(y, c["out"]["noise"]), TOL)
        self.assertGreater(rel(full, c["out"]["noise"]), 0.1)   # a cached step is not a full one

    def test_audio_reaches_the_output(self):
        c = self.cases[0]["in"]
        with torch.no_grad():
            a = self.model(c["sample"], c["timestep"], c["audio"])
            b = self.model(c["sample"], c["timestep"], torch.zeros_like(c["audio"]))
        # branch 0 has zero audio in the case: equal there, different where the audio is not zero
        self.assertLess(float((a[0] - b[0]).abs().max()), 1e-6)
        self.assertGreater(float((a[1] - b[1]).abs().max()), 1e-3)

    def test_frames_interact_through_motion_modules_and_group_norm(self):
        c = self.cases[1]["in"]
        s = c["sample"].clone()
        with torch.no_grad():
            a = self.model(s, c["timestep"], c["audio"])
            s[:, :, 2] += 1.0   # change the last frame only
            b = self.model(s, c["timestep"], c["audio"])
        self.assertGreater(float((a[:, :, 0] - b[:, :, 0]).abs().max()), 1e-4)

    def test_structure_from_the_tensors(self):
        m = self.model
        self.assertEqual((m.in_channels, m.out_channels, m.audio_dim, m.c0), (13, 4, 32, 32))
        self.assertEqual(m.motion_max_len, 24)
        self.assertTrue(any("levels" in d for d in m.deviations))

    def test_missing_key_is_named(self):
        sd = dict(self.sd)
        del sd["down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"]
        with self.assertRaises(CheckpointKeyError) as e:
            U.build(sd)
        self.assertIn("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight", str(e.exception))

    def test_conv_in_other_than_13_channels_is_an_error(self):
        sd = dict(self.sd)
        sd["conv_in.weight"] = sd["conv_in.weight"][:, :9]
        with self.assertRaises(ValueError) as e:
            U.build(sd)
        self.assertIn("13", str(e.exception))

    def test_unused_keys_are_listed_not_fatal(self):
        self.assertEqual(self.model.unused, [])
        sd = dict(self.sd)
        sd["controlnet_cond_embedding.weight"] = torch.zeros(1)
        m = U.build(sd)
        self.assertEqual(m.unused, ["controlnet_cond_embedding.weight"])
        self.assertTrue(any("controlnet_cond_embedding.weight" in d for d in m.deviations))


class VaeParity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sd = vae_sd()
        cls.cfg = V.read_config(VAE_DIR)
        cls.model = V.build(cls.sd, cls.cfg)
        cls.cases = {c["graph"]: c for c in read_cases(os.path.join(FIX, "cases.txt"))}

    def check(self, model):
        with torch.no_grad():
            c = self.cases["vae_encoder.onnx"]
            mean, std = model.encoder(c["in"]["image"])
            self.assertLessEqual(rel(mean, c["out"]["latent"]), TOL)
            self.assertLessEqual(rel(std, c["out"]["std"]), TOL)
            c = self.cases["vae_decoder.onnx"]
            self.assertLessEqual(rel(model.decoder(c["in"]["latent"]), c["out"]["image"]), TOL)

    def test_reference_goldens(self):
        self.check(self.model)
        self.assertEqual((self.model.factor, self.model.z, self.model.scaling, self.model.shift), (8, 4, 0.18215, 0.0))

    def test_std_is_not_the_mean(self):
        c = self.cases["vae_encoder.onnx"]["out"]
        self.assertGreater(float((c["std"] - c["latent"]).abs().max()), 0.1)
        self.assertGreater(float(c["std"].min()), 0.0)

    def test_current_and_conv_shaped_attention_names(self):
        sd = {}
        for k, v in self.sd.items():
            for old, new in ((".query.", ".to_q."), (".key.", ".to_k."), (".value.", ".to_v."),
                             (".proj_attn.", ".to_out.0.")):
                k = k.replace(old, new)
            if ".attentions." in k and k.endswith(".weight") and v.dim() == 2:
                v = v[:, :, None, None]
            sd[k] = v
        self.assertIn("encoder.mid_block.attentions.0.to_q.weight", sd)
        self.check(V.build(sd, self.cfg))

    def test_config_disagreeing_with_the_tensors(self):
        cfg = dict(self.cfg, block_out_channels=[128, 256, 512, 512])
        with self.assertRaises(ValueError) as e:
            V.build(self.sd, cfg)
        self.assertIn("block_out_channels", str(e.exception))


class WhisperParity(unittest.TestCase):
    def test_reference_goldens_and_graph(self):
        ck = open_checkpoint(os.path.join(FIX, "whisper_ctx16.pt"))
        self.assertEqual(W.heads_of(ck), 2)
        model = W.build(ck)
        ck.close()
        (c,) = read_cases(os.path.join(FIX, "whisper", "cases.txt"))
        with torch.no_grad():
            y = model(c["in"]["input_features"])
        self.assertEqual(tuple(y.shape), (1, 16, 5, 32))
        self.assertLessEqual(rel(y, c["out"]["hidden_states"]), TOL)
        # the graph + its cases (absolute paths) for OrtCheck in tools/export/test
        d = out_dir("latentsync-whisper")
        from a4jexport.onnxio import export_graph
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
        export_graph(W.graphs(model)[0], d)
        with open(os.path.join(FIX, "whisper", "cases.txt")) as f:
            lines = []
            for line in f:
                p = line.split()
                if p and p[0] in ("in", "out"):
                    p[4] = os.path.normpath(os.path.join(FIX, "whisper", p[4]))
                lines.append(" ".join(p))
        with open(os.path.join(d, "cases.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


class Command(unittest.TestCase):
    """The documented command on the reduced checkpoints."""

    @classmethod
    def setUpClass(cls):
        cls.bundle = out_dir("latentsync")
        r = subprocess.run([sys.executable, SCRIPT, "--checkpoints", CK, "--vae", VAE_DIR, "--out", cls.bundle,
                            "--force"], capture_output=True, text=True)
        cls.result = r
        if r.returncode != 0:
            raise AssertionError(f"export failed ({r.returncode}):\n{r.stderr[-4000:]}")
        with open(os.path.join(cls.bundle, "avatar-bundle.json")) as f:
            cls.manifest = json.load(f)

    def test_stdout_and_progress(self):
        self.assertEqual(self.result.stdout.strip(), self.bundle)
        for stage in ("audio-encoder:", "vae:", "unet:", "manifest:"):
            self.assertIn(stage, self.result.stderr)
        self.assertIn("warning: no --mask", self.result.stderr)

    def test_tensorrt_profiles(self):
        with open(os.path.join(self.bundle, "tensorrt-profiles.properties")) as f:
            lines = f.read().splitlines()
        self.assertIn("unet.onnx/@precision = fp16", lines)
        self.assertIn("unet.onnx/sample = 1x13x1x32x32 : 2x13x16x32x32 : 2x13x16x32x32", lines)
        self.assertFalse([x for x in lines if x.startswith("unet_mha.onnx/")], "the ONNX Runtime variant has none")

    def test_manifest(self):
        m = self.manifest
        self.assertEqual(m["family"], "latentsync")
        self.assertEqual(m["video"], {"fps": 25, "resolution": 256, "chunkFrames": 16})
        self.assertEqual(m["audio"], {"sampleRate": 16000, "encoder": "whisper", "melBins": 80, "width": 32})
        self.assertEqual(m["vae"], {"scaling": 0.18215, "shift": 0.0})
        self.assertEqual(m["sampler"], {"type": "ddim", "defaultSteps": 20, "deepCacheInterval": 3})
        self.assertEqual(m["guidance"], {"type": "cfg-zero-audio", "scale": 1.5})
        with open(os.path.join(ROOT, "models", "latentsync-tiny", "avatar-bundle.json")) as f:
            tiny = json.load(f)
        self.assertEqual(set(m["graphs"]), set(tiny["graphs"]) | {"unet-shallow"})
        self.assertEqual(m["graphs"]["unet-shallow"]["variants"]["onnxruntime"]["file"], "unet_shallow_mha.onnx")
        self.assertEqual(set(m["tensors"]), set(tiny["tensors"]))
        self.assertEqual(m["graphs"]["unet"]["variants"]["onnxruntime"]["file"], "unet_mha.onnx")
        for e in list(m["graphs"].values()) + [m["graphs"][k]["variants"]["onnxruntime"] for k in ("unet", "unet-shallow")] \
                + list(m["tensors"].values()) + list(m["notices"].values()):
            self.assertEqual(e["sha256"], sha256_file(os.path.join(self.bundle, e["file"])))

    def test_graph_signatures(self):
        def io(f):
            g = onnx.load(os.path.join(self.bundle, f), load_external_data=False).graph
            dims = lambda v: [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]   # noqa: E731
            return ({v.name: dims(v) for v in g.input}, {v.name: dims(v) for v in g.output})
        self.assertEqual(io("audio_encoder.onnx"), ({"input_features": [1, 80, 3000]},
                                                    {"hidden_states": [1, 1500, 5, 32]}))
        i, o = io("vae_encoder.onnx")
        self.assertEqual(list(o), ["latent", "std"])
        self.assertEqual(o["latent"][1], 4)
        i, o = io("unet.onnx")
        self.assertEqual(list(i), ["sample", "timestep", "audio"])
        self.assertEqual(list(o), ["noise", "cache"])
        self.assertEqual(o["cache"][1], 32)
        i2, o2 = io("unet_shallow.onnx")
        self.assertEqual(list(i2), ["sample", "timestep", "audio", "cache"])
        self.assertEqual(list(o2), ["noise"])
        self.assertEqual(i["sample"][1], 13)
        self.assertEqual(i["audio"][2:], [50, 32])
        ops = {n.op_type for n in onnx.load(os.path.join(self.bundle, "unet_mha.onnx"),
                                            load_external_data=False).graph.node}
        self.assertIn("MultiHeadAttention", ops)

    def test_mask(self):
        from PIL import Image
        img = Image.open(os.path.join(self.bundle, "mask.png"))
        self.assertEqual(img.size, (256, 256))
        a = np.asarray(img.convert("RGB"))
        self.assertEqual(a[10, 128].tolist(), [255, 255, 255])   # forehead kept
        self.assertEqual(a[200, 128].tolist(), [0, 0, 0])        # mouth regenerated


class Errors(unittest.TestCase):
    def run_cli(self, *args):
        return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)

    def test_missing_files_are_named(self):
        with tempfile.TemporaryDirectory() as t:
            ck = os.path.join(t, "checkpoints")
            os.makedirs(os.path.join(ck, "whisper"))
            r = self.run_cli("--checkpoints", ck, "--vae", VAE_DIR, "--out", os.path.join(t, "b"))
            self.assertEqual(r.returncode, 2)
            self.assertIn("latentsync_unet.pt", r.stderr)
            shutil.copy(os.path.join(CK, "latentsync_unet.pt"), ck)
            r = self.run_cli("--checkpoints", ck, "--vae", VAE_DIR, "--out", os.path.join(t, "b"))
            self.assertEqual(r.returncode, 2)
            self.assertIn(os.path.join("whisper", "tiny.pt"), r.stderr)
            shutil.copy(os.path.join(CK, "whisper", "tiny.pt"), os.path.join(ck, "whisper"))
            r = self.run_cli("--checkpoints", ck, "--vae", t, "--out", os.path.join(t, "b"))
            self.assertEqual(r.returncode, 2)
            self.assertIn("config.json", r.stderr)

    def test_without_deepcache(self):
        with tempfile.TemporaryDirectory() as t:
            r = self.run_cli("--checkpoints", CK, "--vae", VAE_DIR, "--out", t, "--force", "--deepcache", "0",
                             "--unet-variants", "plain", "--quiet")
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(t, "avatar-bundle.json")) as f:
                m = json.load(f)
            self.assertNotIn("unet-shallow", m["graphs"])
            self.assertNotIn("deepCacheInterval", m["sampler"])
            self.assertNotIn("variants", m["graphs"]["unet"])
            g = onnx.load(os.path.join(t, "unet.onnx"), load_external_data=False).graph
            self.assertEqual([o.name for o in g.output], ["noise"])
        r = self.run_cli("--checkpoints", CK, "--vae", VAE_DIR, "--out", "/nonexistent/x", "--deepcache", "1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--deepcache", r.stderr)

    def test_shapes_the_sdk_fixes_are_warnings(self):
        with tempfile.TemporaryDirectory() as t:
            ck = os.path.join(t, "checkpoints")
            os.makedirs(os.path.join(ck, "whisper"))
            shutil.copy(os.path.join(CK, "latentsync_unet.pt"), ck)
            shutil.copy(os.path.join(FIX, "whisper_ctx16.pt"), os.path.join(ck, "whisper", "tiny.pt"))
            r = self.run_cli("--checkpoints", ck, "--vae", VAE_DIR, "--out", os.path.join(t, "b"), "--quiet",
                             "--unet-variants", "plain", "--deepcache", "0")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("16 positions", r.stderr)
            self.assertIn("the SDK will not load this bundle", r.stderr)
            g = onnx.load(os.path.join(t, "b", "audio_encoder.onnx")).graph
            self.assertEqual([d.dim_value for d in g.input[0].type.tensor_type.shape.dim], [1, 80, 32])

    def test_unet_config_overrides_what_tensors_cannot_show(self):
        with tempfile.TemporaryDirectory() as t:
            cfg = os.path.join(t, "cfg.json")
            with open(cfg, "w") as f:
                json.dump({"norm_num_groups": 64}, f)   # the fixture's 32 channels cannot take 64 groups
            r = self.run_cli("--checkpoints", CK, "--vae", VAE_DIR, "--out", os.path.join(t, "b"), "--quiet",
                             "--unet-config", cfg)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("64 groups", r.stderr)

    def test_whisper_of_another_width(self):
        with tempfile.TemporaryDirectory() as t:
            ck = os.path.join(t, "checkpoints")
            os.makedirs(os.path.join(ck, "whisper"))
            shutil.copy(os.path.join(CK, "latentsync_unet.pt"), ck)
            obj = torch.load(os.path.join(CK, "whisper", "tiny.pt"))
            obj["model_state_dict"] = {k: (v[:16] if k == "encoder.conv1.weight" else v)
                                       for k, v in obj["model_state_dict"].items()}
            torch.save(obj, os.path.join(ck, "whisper", "tiny.pt"))
            r = self.run_cli("--checkpoints", ck, "--vae", VAE_DIR, "--out", os.path.join(t, "b"))
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("32", r.stderr)


@unittest.skipUnless(os.environ.get("A4J_LATENTSYNC_REF") and os.environ.get("A4J_DIFFUSERS_REF")
                     and os.environ.get("A4J_DEEPCACHE_REF"),
                     "A4J_LATENTSYNC_REF / A4J_DIFFUSERS_REF / A4J_DEEPCACHE_REF not set")
class FixtureReproducible(unittest.TestCase):
    def test_same_bytes(self):
        with tempfile.TemporaryDirectory() as t:
            subprocess.run([sys.executable, os.path.join(TOOLS, "reference", "latentsync_goldens.py"),
                            os.environ["A4J_LATENTSYNC_REF"], os.environ["A4J_DIFFUSERS_REF"],
                            os.environ["A4J_DEEPCACHE_REF"], t], check=True,
                           capture_output=True)
            cmp = filecmp.dircmp(t, FIX)
            diffs = []

            def walk(c, p=""):
                diffs.extend(p + x for x in c.diff_files + c.left_only + c.right_only)
                for n, sub in c.subdirs.items():
                    walk(sub, p + n + "/")
            walk(cmp)
            self.assertEqual(diffs, [])


if __name__ == "__main__":
    unittest.main()
