"""End to end: the documented command on a complete reduced checkpoint set -> a bundle whose every
graph is checked against the REFERENCE modules' forward (goldens in fixtures/e2e).

fixtures/e2e is what ``reference/make_reduced_checkpoints.py REF fixtures/e2e`` writes: the
checkpoints in the published layout (Wan2.1-Fun-V1.1-1.3B-InP/, StableAvatar-1.3B/,
wav2vec2-base-960h/) with consistent widths across parts, ``cases.txt`` + goldens/ for every graph
(at shapes other than the exporter's tracing shapes) and ``prompts.json`` (the reference umT5's
embeddings of the default and negative prompts).

This test runs ``tools/export/stableavatar`` (the script, as a user would) into
``$A4J_EXPORT_OUT/e2e``; tools/export/test then runs fixtures/e2e/cases.txt through ONNX Runtime Java
on that bundle. Here: the command's output, the manifest (against docs/BUNDLE-FORMAT.md and the
committed tiny bundle's sections), graph I/O names against the cases and the manifest's cache list,
and the prompt tensors against the reference embeddings.

With A4J_REF_CHECKOUT (a StableAvatar checkout) set, the fixture set must also be byte-identical to
what make_reduced_checkpoints.py makes from it (transformers: A4J_TRANSFORMERS or the default wheel).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx

from exportutil import FIXTURES, HERE, out_dir
from a4jexport.checkpoint import open_checkpoint
from a4jexport.onnxio import sha256_file

TOOLS = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(TOOLS))
SCRIPT = os.path.join(TOOLS, "stableavatar")
E2E = os.path.join(FIXTURES, "e2e")
PM = os.path.join(E2E, "Wan2.1-Fun-V1.1-1.3B-InP")
TRANSFORMER = os.path.join(E2E, "StableAvatar-1.3B", "transformer3d-square.pt")
W2V = os.path.join(E2E, "wav2vec2-base-960h")

GRAPHS = {  # manifest key -> file (docs/BUNDLE-FORMAT.md + the VAE's streamed encoder / first-frame decoder)
    "audio-encoder": "audio_encoder.onnx", "image-encoder": "image_encoder.onnx",
    "text-encoder": "text_encoder.onnx", "vae-encoder": "vae_encoder.onnx",
    "vae-encoder-first": "vae_encoder_first.onnx", "vae-encoder-step": "vae_encoder_step.onnx",
    "dit": "dit.onnx", "vae-decoder-first": "vae_decoder_first.onnx", "vae-decoder": "vae_decoder.onnx",
}


def _cases():
    """graph file -> list of (in names, out names) from fixtures/e2e/cases.txt."""
    cases = {}
    with open(os.path.join(E2E, "cases.txt")) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "case":
                cur = (set(), set())
                cases.setdefault(p[1], []).append(cur)
            else:
                cur[0 if p[0] == "in" else 1].add(p[1])
    return cases


def parse_tensorrt_profiles(path, precisions=None):
    """``GRAPH-FILE/INPUT = MIN : OPT : MAX`` lines as sdk-runtime-tensorrt's ProfileRanges reads them
    (java.util.Properties keys, rank 1..8, ``1 <= MIN <= OPT <= MAX`` per dim); AssertionError otherwise.
    ``GRAPH-FILE/@precision`` lines go into ``precisions`` (file -> fp16|bf16|fp32) when given."""
    out = {}
    with open(path, encoding="ascii") as f:  # Properties reads ISO 8859-1: keep it ASCII
        for line in f:
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            key = key.strip()
            assert sep and key, line
            assert not any(ch in key for ch in " :=\\#!\t"), f"{key}: needs escaping in a properties key"
            slash = key.rfind("/")
            assert 0 < slash < len(key) - 1, f"{key} must be GRAPH-FILE/INPUT"
            if key.endswith("/@precision"):
                assert value.strip() in ("fp16", "bf16", "fp32"), line
                if precisions is not None:
                    precisions[key[:slash]] = value.strip()
                continue
            parts = value.split(":")
            assert len(parts) == 3, line
            shapes = [tuple(int(d.strip()) for d in p.strip().split("x")) for p in parts]
            assert len({len(s) for s in shapes}) == 1 and 1 <= len(shapes[0]) <= 8, line
            assert all(1 <= a <= b <= c for a, b, c in zip(*shapes)), line
            assert key not in out, f"{key} twice"
            out[key] = tuple(shapes)
    return out


def fits(profile, shape):
    mn, _, mx = profile
    return len(shape) == len(mn) and all(a <= s <= b for a, s, b in zip(mn, shape, mx))


class EndToEnd(unittest.TestCase):
    bundle = None

    @classmethod
    def setUpClass(cls):
        cls.bundle = out_dir("e2e")
        cls.proc = subprocess.run(
            [SCRIPT, "--pretrained-model", PM, "--transformer", TRANSFORMER, "--wav2vec", W2V,
             "--out", cls.bundle, "--text-encoder", "--size", "480x832", "--force"],
            capture_output=True, text=True, timeout=900)
        cls.manifest = None
        p = os.path.join(cls.bundle, "avatar-bundle.json")
        if cls.proc.returncode == 0 and os.path.isfile(p):
            with open(p, encoding="utf-8") as f:
                cls.manifest = json.load(f)

    def setUp(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr[-4000:])
        self.assertIsNotNone(self.manifest)

    def test_command_prints_the_bundle_and_reports_every_part(self):
        self.assertEqual(self.proc.stdout.strip(), self.bundle)
        for part in ("wav2vec2:", "clip:", "vae:", "umt5:", "dit:", "manifest:"):
            self.assertIn(part, self.proc.stderr)

    def test_every_graph_named_hashed_and_checked_by_the_goldens(self):
        m = self.manifest
        self.assertEqual({k: g["file"] for k, g in m["graphs"].items()}, GRAPHS)
        self.assertEqual(m["graphs"]["dit"]["variants"]["onnxruntime"]["file"], "dit_mha.onnx")
        entries = dict(m["graphs"])
        for key, g in m["graphs"].items():
            for v, ve in g.get("variants", {}).items():
                entries[f"{key}@{v}"] = ve
        cases = _cases()
        self.assertEqual(set(cases), {g["file"] for g in entries.values()},
                         "every graph of the bundle has reference cases")
        for key, g in entries.items():
            path = os.path.join(self.bundle, g["file"])
            self.assertEqual(g["sha256"], sha256_file(path), key)
            self.assertNotIn("externalData", g, "reduced graphs are far below the external-data threshold")
            model = onnx.load(path)
            onnx.checker.check_model(model)
            names_in = {i.name for i in model.graph.input}
            names_out = {o.name for o in model.graph.output}
            for ins, outs in cases[g["file"]]:
                self.assertEqual(ins, names_in, f"{g['file']}: a case must feed every input")
                self.assertLessEqual(outs, names_out, g["file"])
        for key, t in m["tensors"].items():
            self.assertEqual(t["sha256"], sha256_file(os.path.join(self.bundle, t["file"])), key)
        files = set(os.listdir(self.bundle))
        named = ({g["file"] for g in entries.values()} | {t["file"] for t in m["tensors"].values()}
                 | {m["text"]["model"]["file"]})
        self.assertEqual(files - named, {"avatar-bundle.json", "tensorrt-profiles.properties"},
                         "no stray files in the bundle")

    def test_text_section_max_tokens_is_the_dits_text_len(self):
        # the SDK pads every prompt to text.maxTokens rows and refuses longer ones; the DiT pads to its
        # config's text_len inside the graph: the two must agree (the fixture's text_len is 128, not 512)
        with open(os.path.join(PM, "config.json"), encoding="utf-8") as f:
            text_len = json.load(f)["text_len"]
        self.assertEqual(text_len, 128)
        spiece = os.path.join(PM, "google", "umt5-xxl", "spiece.model")
        self.assertEqual(self.manifest["text"], {
            "tokenizer": "sentencepiece", "model": {"file": "spiece.model", "sha256": sha256_file(spiece)},
            "maxTokens": text_len, "eos": 1, "pad": 0})
        self.assertEqual(sha256_file(os.path.join(self.bundle, "spiece.model")), sha256_file(spiece))
        for key in ("text-default", "text-negative"):
            with open_checkpoint(os.path.join(self.bundle, self.manifest["tensors"][key]["file"])) as ck:
                self.assertLessEqual(ck.shape("embeddings")[0], text_len, key)

    def test_decoder_cache_lists_match_the_graphs(self):
        for key in ("vae-decoder", "vae-encoder-step"):
            g = self.manifest["graphs"][key]
            model = onnx.load(os.path.join(self.bundle, g["file"]))
            ins = [i.name for i in model.graph.input][1:]
            outs = [o.name for o in model.graph.output][1:]
            caches = g["caches"]
            self.assertEqual([c["name"] for c in caches], ins, key)
            self.assertEqual([c["output"] for c in caches], outs, key)
            for c, vi in zip(caches, model.graph.input[1:]):
                d = vi.type.tensor_type.shape.dim
                self.assertEqual((d[1].dim_value, d[2].dim_value), (c["channels"], c["frames"]), c["name"])
        self.assertEqual(len(self.manifest["graphs"]["vae-decoder"]["caches"]), 32, "Wan's decoder has 32 caches")
        first = onnx.load(os.path.join(self.bundle, "vae_decoder_first.onnx"))
        self.assertEqual([i.name for i in first.graph.input], ["latent"])

    def test_manifest_sections_as_the_format_and_the_tiny_bundle(self):
        m = self.manifest
        with open(os.path.join(ROOT, "models", "stableavatar-tiny", "avatar-bundle.json"), encoding="utf-8") as f:
            tiny = json.load(f)
        self.assertEqual((m["format"], m["family"]), (1, "stableavatar"))
        for section in ("video", "audio", "sampler", "guidance", "window"):
            self.assertEqual(set(m[section]), set(tiny[section]), section)
        self.assertEqual((m["video"]["width"], m["video"]["height"]), (480, 832))
        self.assertEqual(m["video"]["latentChannels"], 16)
        self.assertEqual(m["sampler"]["defaultSteps"], 50)
        self.assertEqual(set(m["tensors"]), {"text-default", "text-negative"})

    def test_tensorrt_profiles_cover_every_dynamic_input_the_backend_loads(self):
        path = os.path.join(self.bundle, "tensorrt-profiles.properties")
        self.assertLessEqual(os.path.getsize(path), 64 * 1024, "ProfileRanges.MAX_FILE_BYTES")
        precisions = {}
        profiles = parse_tensorrt_profiles(path, precisions)
        trt = [k for k in GRAPHS if k != "vae-encoder"]  # the SDK runs the streamed pair, not the whole clip
        for key in trt:
            self.assertIn(self.manifest["graphs"][key]["file"], precisions, f"{key} has a precision line")
        self.assertEqual(precisions["dit.onnx"], "bf16")
        want = set()
        for key in trt:
            g = self.manifest["graphs"][key]
            model = onnx.load(os.path.join(self.bundle, g["file"]), load_external_data=False)
            for vi in model.graph.input:
                dims = vi.type.tensor_type.shape.dim
                if not any(d.dim_param for d in dims):
                    continue
                name = f"{g['file']}/{vi.name}"
                want.add(name)
                self.assertIn(name, profiles)
                mn, opt, mx = profiles[name]
                self.assertEqual(len(mn), len(dims), name)
                for i, d in enumerate(dims):
                    if not d.dim_param:
                        self.assertEqual((mn[i], opt[i], mx[i]), (d.dim_value,) * 3, f"{name} static dim {i}")
        self.assertEqual(set(profiles), want, "a line for each dynamic input of the TensorRT graphs, no other")
        self.assertNotIn("dit_mha.onnx", {k.split("/")[0] for k in profiles}, "TensorRT loads the plain DiT")
        # the bundle's sizes: 512x512, 480x832 (its default: OPT), 832x480 -> latent 64x64, 104x60, 60x104
        for h, w in ((64, 64), (104, 60), (60, 104)):
            x = (3, 16, 21, h, w)
            self.assertTrue(fits(profiles["dit.onnx/x"], x), x)
            self.assertTrue(fits(profiles["vae_decoder.onnx/latent"], (1, 16, 1, h, w)))
            self.assertTrue(fits(profiles["vae_encoder_step.onnx/video"], (1, 3, 4, 8 * h, 8 * w)))
            for key in ("vae-decoder", "vae-encoder-step"):
                g = self.manifest["graphs"][key]
                for c in g["caches"]:
                    shape = (1, c["channels"], c["frames"], c["scale"] * h, c["scale"] * w)
                    self.assertTrue(fits(profiles[f"{g['file']}/{c['name']}"], shape), (c, shape))
        self.assertEqual(profiles["dit.onnx/x"][1], (3, 16, 21, 104, 60), "OPT: 3 branches, 21 latents, 480x832")
        self.assertEqual(profiles["dit.onnx/x"][0][:3], (1, 16, 1), "one branch, one latent frame")
        # the audio of a full window slice (84 frames at 640 samples) and its wav2vec2 tokens / index width
        self.assertTrue(fits(profiles["audio_encoder.onnx/input_values"], (1, 84 * 640)))
        self.assertTrue(fits(profiles["dit.onnx/audio_tokens"], (1, 167, 32)))
        self.assertTrue(fits(profiles["dit.onnx/audio_index"], (21, 17)))
        # prompts: the SDK pads to text.maxTokens, the DiT's text_len (128 in the fixture's config.json)
        self.assertEqual(profiles["dit.onnx/context"], ((1, 1, 32), (3, 128, 32), (3, 128, 32)))
        self.assertEqual(profiles["text_encoder.onnx/input_ids"], ((1, 1), (1, 128), (1, 128)))

    def test_prompt_tensors_are_the_reference_embeddings(self):
        with open(os.path.join(E2E, "prompts.json"), encoding="utf-8") as f:
            prompts = json.load(f)
        for key, p in prompts.items():
            ref = np.fromfile(os.path.join(E2E, p["file"]), dtype="<f4").reshape(p["shape"])
            ck = open_checkpoint(os.path.join(self.bundle, self.manifest["tensors"][key]["file"]))
            try:
                got = ck["embeddings"].numpy()
            finally:
                ck.close()
            self.assertEqual(got.shape, ref.shape, key)
            err = float(np.abs(got - ref).max()) / max(1.0, float(np.abs(ref).max()))
            self.assertLessEqual(err, 1e-4, key)


class MixedCheckpoints(unittest.TestCase):
    """Checkpoints that do not belong together fail with one line naming both sides, before the DiT export."""

    def test_a_dit_of_other_widths_is_refused_before_its_export(self):
        import shutil
        with tempfile.TemporaryDirectory() as tmp:
            pm = os.path.join(tmp, "Wan2.1-Fun-V1.1-1.3B-InP")
            shutil.copytree(PM, pm)
            dit = os.path.join(FIXTURES, "dit")  # text 24, CLIP 40, audio 48 wide
            for n in ("config.json", "diffusion_pytorch_model.safetensors"):
                shutil.copyfile(os.path.join(dit, n), os.path.join(pm, n))
            out = os.path.join(tmp, "bundle")
            p = subprocess.run([SCRIPT, "--pretrained-model", pm, "--transformer",
                                os.path.join(dit, "transformer3d-square.pt"), "--wav2vec", W2V, "--out", out,
                                "--quiet"], capture_output=True, text=True, timeout=900)
            self.assertEqual(p.returncode, 2, p.stderr[-3000:])
            err = p.stderr.strip().splitlines()[-1]
            self.assertIn("do not belong together", err)
            self.assertIn("wav2vec2's hidden size (last_hidden_state) is 32", err)
            self.assertIn("takes 48", err)
            self.assertFalse(os.path.exists(os.path.join(out, "dit.onnx")))
            self.assertFalse(os.path.exists(os.path.join(out, "avatar-bundle.json")))

    def test_a_prompt_longer_than_text_len_is_refused(self):
        import shutil
        with tempfile.TemporaryDirectory() as tmp:
            pm = os.path.join(tmp, "Wan2.1-Fun-V1.1-1.3B-InP")
            shutil.copytree(PM, pm)
            with open(os.path.join(pm, "config.json")) as f:
                config = json.load(f)
            config["text_len"] = 100  # the negative prompt has 121 tokens in this tokenizer
            with open(os.path.join(pm, "config.json"), "w") as f:
                json.dump(config, f)
            out = os.path.join(tmp, "bundle")
            p = subprocess.run([SCRIPT, "--pretrained-model", pm, "--transformer", TRANSFORMER, "--wav2vec", W2V,
                                "--out", out, "--quiet"], capture_output=True, text=True, timeout=900)
            self.assertEqual(p.returncode, 2, p.stderr[-3000:])
            self.assertIn("text_negative.safetensors: the prompt has 121 tokens, more than the DiT's text_len 100",
                          p.stderr)


@unittest.skipUnless(os.environ.get("A4J_REF_CHECKOUT"), "A4J_REF_CHECKOUT (a StableAvatar checkout) not set")
class FixtureIsWhatTheReferenceMakes(unittest.TestCase):
    def test_make_reduced_checkpoints_reproduces_the_fixture(self):
        ref = os.environ["A4J_REF_CHECKOUT"]
        cmd = [sys.executable, os.path.join(TOOLS, "reference", "make_reduced_checkpoints.py"), ref]
        if os.environ.get("A4J_TRANSFORMERS"):
            cmd += ["--transformers", os.environ["A4J_TRANSFORMERS"]]
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "e2e")
            subprocess.run(cmd[:3] + [out] + cmd[3:], check=True, capture_output=True, timeout=900)
            made = sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs)
            kept = sorted(os.path.relpath(os.path.join(d, f), E2E) for d, _, fs in os.walk(E2E) for f in fs)
            self.assertEqual(made, kept)
            for rel in made:
                with open(os.path.join(out, rel), "rb") as a, open(os.path.join(E2E, rel), "rb") as b:
                    self.assertEqual(a.read(), b.read(), rel)


if __name__ == "__main__":
    unittest.main()
