"""wav2vec2 exporter vs goldens made by transformers' own modeling_wav2vec2.py (reference/wav2vec2_goldens.py)."""
import json
import os
import shutil
import tempfile
import unittest

import numpy as np
import onnx
import torch

from exportutil import FIXTURES, out_dir
from a4jexport.checkpoint import CheckpointKeyError, open_checkpoint, write_safetensors
from a4jexport.onnxio import export_graph
from a4jexport.stableavatar import wav2vec2

FIX = os.path.join(FIXTURES, "wav2vec2")


def _cases():
    cases, cur = [], None
    with open(os.path.join(FIX, "cases.txt")) as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "case":
                cur = {"graph": p[1]}
                cases.append(cur)
            else:
                shape = [int(d) for d in p[3].split(",")]
                a = np.fromfile(os.path.join(FIX, p[4]), dtype="<f4").reshape(shape)
                cur[p[1]] = torch.from_numpy(a.copy())
    return cases


def _max_rel(a, b):
    return (a - b).abs().max().item() / max(1.0, b.abs().max().item())


class Wav2Vec2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sd, cls.config = wav2vec2.load(FIX)
        cls.model = wav2vec2.build(cls.sd, cls.config)
        cls.cases = _cases()

    @classmethod
    def tearDownClass(cls):
        cls.sd.close()

    def check(self, model, tol=1e-4):
        for c in self.cases:
            with torch.no_grad():
                y = model(c["input_values"])
            ref = c["last_hidden_state"]
            self.assertEqual(tuple(y.shape), tuple(ref.shape))
            self.assertLessEqual(_max_rel(y, ref), tol, f"N={c['input_values'].shape[1]}")

    def test_fixture_is_a_ctc_checkpoint_with_real_key_names(self):
        keys = set(self.sd.keys())
        self.assertIn("wav2vec2.encoder.pos_conv_embed.conv.weight_g", keys)
        self.assertIn("wav2vec2.encoder.layers.1.attention.q_proj.weight", keys)
        self.assertIn("wav2vec2.feature_extractor.conv_layers.0.layer_norm.weight", keys)
        self.assertIn("lm_head.weight", keys)

    def test_matches_reference(self):
        self.check(self.model)

    def test_output_length_formula(self):
        for c in self.cases:
            self.assertEqual(wav2vec2.output_length(self.model, c["input_values"].shape[1]),
                             c["last_hidden_state"].shape[1])

    def test_unprefixed_safetensors_checkpoint(self):
        """A Wav2Vec2Model checkpoint (no ``wav2vec2.`` prefix) in model.safetensors builds the same."""
        with tempfile.TemporaryDirectory() as d:
            sd = {k[len("wav2vec2."):]: self.sd.get_tensor(k, None) for k in self.sd.keys()
                  if k.startswith("wav2vec2.")}
            write_safetensors(os.path.join(d, "model.safetensors"), sd)
            shutil.copy(os.path.join(FIX, "config.json"), d)
            torch.save({"junk": torch.zeros(1)}, os.path.join(d, "pytorch_model.bin"))  # safetensors wins
            sd2, cfg = wav2vec2.load(d)
            self.assertTrue(sd2.path.endswith("model.safetensors"))
            with sd2:
                self.check(wav2vec2.build(sd2, cfg))

    def test_sensitive_to_mapping_mistakes(self):
        """The goldens catch a swapped key, a missing weight norm and the wrong layer-norm order."""
        base = {k: self.sd.get_tensor(k) for k in self.sd.keys()}
        swapped = dict(base)
        q, k = "wav2vec2.encoder.layers.0.attention.q_proj.weight", "wav2vec2.encoder.layers.0.attention.k_proj.weight"
        swapped[q], swapped[k] = base[k], base[q]
        no_norm = dict(base)
        no_norm["wav2vec2.encoder.pos_conv_embed.conv.weight_g"] = torch.ones_like(
            base["wav2vec2.encoder.pos_conv_embed.conv.weight_g"])
        variants = {"swapped q/k": (swapped, self.config), "weight_g ignored": (no_norm, self.config),
                    "stable layer norm": (base, dict(self.config, do_stable_layer_norm=True)),
                    "layer-norm conv": (dict(base, **{
                        f"wav2vec2.feature_extractor.conv_layers.{i}.layer_norm.{w}": torch.ones(16 if i < 6 else 24)
                        for i in range(1, 7) for w in ("weight", "bias")}), dict(self.config, feat_extract_norm="layer"))}
        for name, (sd, cfg) in variants.items():
            m = wav2vec2.build(sd, cfg)
            c = self.cases[0]
            with torch.no_grad():
                err = _max_rel(m(c["input_values"]), c["last_hidden_state"])
            self.assertGreater(err, 1e-2, name)

    def test_missing_key_names_key_and_file(self):
        sd = {k: self.sd.get_tensor(k) for k in self.sd.keys() if "layers.1.final_layer_norm.bias" not in k}
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "pytorch_model.bin")
            torch.save(sd, p)
            with open_checkpoint(p) as ck, self.assertRaises(CheckpointKeyError) as cm:
                wav2vec2.build(ck, self.config)
            self.assertIn("wav2vec2.encoder.layers.1.final_layer_norm.bias", str(cm.exception))
            self.assertIn(p, str(cm.exception))

    def test_missing_files(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(FileNotFoundError, "config.json"):
                wav2vec2.load(d)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump({}, f)
            with self.assertRaisesRegex(FileNotFoundError, "model.safetensors"):
                wav2vec2.load(d)

    def test_config_mismatch_is_refused(self):
        with self.assertRaisesRegex(ValueError, "conv_stride"):
            wav2vec2.build(self.sd, dict(self.config, conv_stride=[5, 2, 2]))
        with self.assertRaisesRegex(ValueError, "num_hidden_layers"):
            wav2vec2.build(self.sd, dict(self.config, num_hidden_layers=3))

    def test_export(self):
        d = out_dir("wav2vec2")
        (g,) = wav2vec2.graphs(self.model, samples=5000)
        self.assertEqual((g.key, g.file), ("audio-encoder", "audio_encoder.onnx"))
        entry = export_graph(g, d)
        self.assertEqual(entry["file"], "audio_encoder.onnx")
        m = onnx.load(os.path.join(d, "audio_encoder.onnx"))
        self.assertEqual([i.name for i in m.graph.input], ["input_values"])
        self.assertEqual([o.name for o in m.graph.output], ["last_hidden_state"])
        self.assertEqual(m.graph.input[0].type.tensor_type.shape.dim[1].dim_param, "N")
        # OrtCheck (tools/export/test) runs tests/fixtures/wav2vec2/cases.txt against this file


if __name__ == "__main__":
    unittest.main()
