"""avatar-bundle.json writer and prompt tensors."""
import hashlib
import json
import os
import tempfile
import unittest

import torch

from exportutil import HERE
from a4jexport.checkpoint import open_checkpoint
from a4jexport.manifest import (parse_size, stableavatar_manifest, write_embeddings, write_manifest,
                                write_tensorrt_profiles)
from a4jexport.progress import Progress, human_bytes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def _sha(p):
    with open(p, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class ManifestTest(unittest.TestCase):
    CACHE = {"name": "cache_in_0", "output": "cache_out_0", "channels": 16, "frames": 2, "scale": 1}

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.b = self._tmp.name
        self.graphs = {}
        for key in ("audio-encoder", "image-encoder", "vae-encoder", "dit", "vae-decoder"):
            f = key.replace("-", "_") + ".onnx"
            with open(os.path.join(self.b, f), "wb") as fh:
                fh.write(key.encode())
            self.graphs[key] = {"file": f, "sha256": "stale"}
        with open(os.path.join(self.b, "dit.onnx.data"), "wb") as fh:
            fh.write(b"x" * 100)
        self.graphs["dit"]["externalData"] = [{"file": "dit.onnx.data", "sha256": "stale", "size": 1}]
        self.graphs["vae-decoder"]["caches"] = [self.CACHE]
        write_embeddings(os.path.join(self.b, "text_default.safetensors"), torch.randn(1, 7, 12))
        write_embeddings(os.path.join(self.b, "text_negative.safetensors"), torch.randn(5, 12))
        self.tensors = {"text-negative": "text_negative.safetensors", "text-default": "text_default.safetensors"}

    def tearDown(self):
        self._tmp.cleanup()

    def test_manifest_has_the_documented_shape_and_true_digests(self):
        m = stableavatar_manifest(self.b, self.graphs, self.tensors, name="sa", width=480, height=832)
        p = write_manifest(self.b, m)
        with open(p, encoding="utf-8") as f:
            back = json.load(f)
        self.assertEqual(back, m)
        self.assertEqual(m["format"], 1)
        self.assertEqual(m["family"], "stableavatar")
        self.assertEqual(m["video"], {"fps": 25, "width": 480, "height": 832, "windowFrames": 81,
                                      "temporalStride": 4, "spatialStride": 8, "latentChannels": 16,
                                      "patch": [1, 2, 2]})
        self.assertEqual(m["audio"]["sliceFrames"], 84)
        self.assertEqual(m["sampler"]["shiftMode"], "diffusers-0.30.1")
        self.assertEqual(m["guidance"], {"type": "text-audio", "text": 3.0, "audio": 5.0})
        self.assertNotIn("text", m)
        for key, e in m["graphs"].items():
            self.assertEqual(e["sha256"], _sha(os.path.join(self.b, e["file"])), key)
        self.assertEqual(m["graphs"]["dit"]["externalData"],
                         [{"file": "dit.onnx.data", "sha256": _sha(os.path.join(self.b, "dit.onnx.data")),
                           "size": 100}])
        self.assertEqual(m["graphs"]["vae-decoder"]["caches"], [self.CACHE])
        self.assertEqual(m["tensors"]["text-default"]["sha256"],
                         _sha(os.path.join(self.b, "text_default.safetensors")))

    def test_text_section_hashes_the_tokenizer_model_and_needs_max_tokens(self):
        with open(os.path.join(self.b, "spiece.model"), "wb") as fh:
            fh.write(b"pieces")
        text = {"tokenizer": "sentencepiece", "model": {"file": "spiece.model"}, "maxTokens": 128, "eos": 1, "pad": 0}
        m = stableavatar_manifest(self.b, self.graphs, self.tensors, text=text)
        self.assertEqual(m["text"], dict(text, model={"file": "spiece.model",
                                                      "sha256": _sha(os.path.join(self.b, "spiece.model"))}))
        self.assertEqual(text["model"], {"file": "spiece.model"}, "the caller's dict is not changed")
        with self.assertRaisesRegex(ValueError, "maxTokens"):
            stableavatar_manifest(self.b, self.graphs, self.tensors, text=dict(text, maxTokens=0))
        os.remove(os.path.join(self.b, "spiece.model"))
        with self.assertRaisesRegex(FileNotFoundError, "spiece.model"):
            stableavatar_manifest(self.b, self.graphs, self.tensors, text=text)

    def test_same_keys_as_the_tiny_bundle(self):
        with open(os.path.join(ROOT, "models", "stableavatar-tiny", "avatar-bundle.json"), encoding="utf-8") as f:
            tiny = json.load(f)
        m = stableavatar_manifest(self.b, self.graphs, self.tensors)
        for section in ("video", "audio", "sampler", "guidance", "window"):
            self.assertEqual(sorted(m[section]), sorted(tiny[section]), section)
        self.assertEqual(m["audio"], tiny["audio"])

    def test_embeddings_file(self):
        with open_checkpoint(os.path.join(self.b, "text_default.safetensors")) as ck:
            self.assertEqual(ck.keys(), ["embeddings"])
            self.assertEqual(ck.shape("embeddings"), (7, 12))
            self.assertEqual(ck.dtype("embeddings"), torch.float32)
        with self.assertRaises(ValueError):
            write_embeddings(os.path.join(self.b, "x.safetensors"), torch.randn(2, 3, 4))

    def test_extra_graph_keys_follow_the_documented_ones(self):
        g = dict(self.graphs)
        with open(os.path.join(self.b, "vae_decoder_first.onnx"), "wb") as fh:
            fh.write(b"first")
        with open(os.path.join(self.b, "extra.onnx"), "wb") as fh:
            fh.write(b"extra")
        g = {"extra-graph": {"file": "extra.onnx"}, "vae-decoder-first": {"file": "vae_decoder_first.onnx"}, **g}
        m = stableavatar_manifest(self.b, g, self.tensors)
        self.assertEqual(list(m["graphs"]), ["audio-encoder", "image-encoder", "vae-encoder", "dit",
                                             "vae-decoder-first", "vae-decoder", "extra-graph"])
        with self.assertRaisesRegex(ValueError, "lowercase"):
            stableavatar_manifest(self.b, dict(g, **{"Bad Key": {"file": "dit.onnx"}}), self.tensors)

    def _file(self, name, data=b"g"):
        with open(os.path.join(self.b, name), "wb") as fh:
            fh.write(data)
        return {"file": name, "sha256": "stale"}

    def test_variants_fold_into_their_graph_and_share_external_data(self):
        """docs/BUNDLE-FORMAT.md "Graph variants": what the SDK's BundleManifest parses."""
        g = dict(self.graphs)
        g["dit@onnxruntime"] = dict(self._file("dit_mha.onnx", b"mha"), attention="mha",
                                    externalData=[{"file": "dit.onnx.data", "sha256": "stale", "size": 1}])
        m = stableavatar_manifest(self.b, g, self.tensors)
        self.assertNotIn("dit@onnxruntime", m["graphs"])
        v = m["graphs"]["dit"]["variants"]
        self.assertEqual(list(v), ["onnxruntime"])
        self.assertEqual(v["onnxruntime"]["file"], "dit_mha.onnx")
        self.assertEqual(v["onnxruntime"]["sha256"], _sha(os.path.join(self.b, "dit_mha.onnx")))
        self.assertEqual(v["onnxruntime"]["externalData"], m["graphs"]["dit"]["externalData"])
        with self.assertRaisesRegex(ValueError, "no main graph"):
            stableavatar_manifest(self.b, {**self.graphs, "text-encoder@onnxruntime": {"file": "dit.onnx"}},
                                  self.tensors)
        with self.assertRaisesRegex(ValueError, "lowercase"):
            stableavatar_manifest(self.b, {**self.graphs, "dit@Onnx": {"file": "dit.onnx"}}, self.tensors)

    def test_cache_lists_are_checked_as_the_sdk_reads_them(self):
        first = self._file("vae_decoder_first.onnx")
        ok = stableavatar_manifest(self.b, {**self.graphs, "vae-decoder-first": dict(first, caches=[self.CACHE])},
                                   self.tensors)
        self.assertEqual(ok["graphs"]["vae-decoder-first"]["caches"], ok["graphs"]["vae-decoder"]["caches"])
        other = dict(self.CACHE, frames=1)
        with self.assertRaisesRegex(ValueError, "differ"):
            stableavatar_manifest(self.b, {**self.graphs, "vae-decoder-first": dict(first, caches=[other])},
                                  self.tensors)
        legacy = dict(self.graphs, **{"vae-decoder": dict(self.graphs["vae-decoder"],
                                                          caches=[{"name": "cache_in_0", "scale": 1}])})
        with self.assertRaisesRegex(ValueError, "exactly name, output"):
            stableavatar_manifest(self.b, legacy, self.tensors)
        dup = dict(self.graphs, **{"vae-decoder": dict(self.graphs["vae-decoder"],
                                                       caches=[self.CACHE, dict(self.CACHE, name="x")])})
        with self.assertRaisesRegex(ValueError, "reuses"):
            stableavatar_manifest(self.b, dup, self.tensors)
        enc = self._file("vae_encoder_first.onnx")
        with self.assertRaisesRegex(ValueError, "pair|step graph"):
            stableavatar_manifest(self.b, {**self.graphs, "vae-encoder-first": dict(enc, caches=[self.CACHE])},
                                  self.tensors)
        # the streamed pair alone is enough (no whole-clip vae-encoder)
        g = {k: v for k, v in self.graphs.items() if k != "vae-encoder"}
        step = self._file("vae_encoder_step.onnx")
        m = stableavatar_manifest(self.b, {**g, "vae-encoder-first": dict(enc, caches=[self.CACHE]),
                                           "vae-encoder-step": dict(step, caches=[self.CACHE])}, self.tensors)
        self.assertIn("vae-encoder-step", m["graphs"])
        with self.assertRaisesRegex(ValueError, "vae-encoder"):
            stableavatar_manifest(self.b, g, self.tensors)

    def test_missing_parts_are_refused(self):
        g = dict(self.graphs)
        del g["dit"]
        with self.assertRaisesRegex(ValueError, "dit"):
            stableavatar_manifest(self.b, g, self.tensors)
        with self.assertRaisesRegex(ValueError, "text-negative"):
            stableavatar_manifest(self.b, self.graphs, {"text-default": "text_default.safetensors"})
        os.remove(os.path.join(self.b, "dit.onnx.data"))
        with self.assertRaisesRegex(FileNotFoundError, "dit.onnx.data"):
            stableavatar_manifest(self.b, self.graphs, self.tensors)

    def test_sizes(self):
        self.assertEqual(parse_size("480x832"), (480, 832))
        for bad in ("480", "500x832", "0x16", "axb"):
            with self.assertRaises(ValueError):
                parse_size(bad)

    def test_tensorrt_profiles(self):
        p = write_tensorrt_profiles(self.b, {"dit.onnx/x": ((1, 16, 1, 8, 8), (3, 16, 21, 64, 64), (3, 16, 21, 104, 104))})
        with open(p) as f:
            self.assertEqual(f.read(), "dit.onnx/x = 1x16x1x8x8 : 3x16x21x64x64 : 3x16x21x104x104\n")
        with self.assertRaises(ValueError):
            write_tensorrt_profiles(self.b, {"a/b": ((2,), (1,), (3,))})


class ProgressTest(unittest.TestCase):
    def test_lines(self):
        import io
        s = io.StringIO()
        p = Progress(stream=s)
        p.stage("dit", "loading")
        p.tensors(3, 10, 2048)
        p.warn("careful")
        lines = s.getvalue().splitlines()
        self.assertEqual(len(lines), 3)
        self.assertTrue(lines[0].endswith("dit: loading"))
        self.assertTrue(lines[1].endswith("dit: 3/10 tensors, 2.0 KiB"))
        self.assertIn("warning: careful", lines[2])
        self.assertEqual(human_bytes(512), "512 B")
        self.assertEqual(human_bytes(3 * 2 ** 30), "3.0 GiB")
        q = io.StringIO()
        Progress(stream=q, quiet=True).stage("x")
        self.assertEqual(q.getvalue(), "")


if __name__ == "__main__":
    unittest.main()
