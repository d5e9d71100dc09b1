"""a4jexport.trtprofiles on small hand-made graphs: symbolic dims mapped, static dims copied, cache
scales checked against the manifest, an unknown symbolic dim refused at export time."""
import os
import tempfile
import unittest

import onnx
from onnx import TensorProto, helper

import exportutil  # noqa: F401  (puts a4jexport on sys.path)
from a4jexport import trtprofiles

MANIFEST = {"video": {"fps": 25, "width": 480, "height": 832, "windowFrames": 81, "temporalStride": 4,
                      "spatialStride": 8},
            "audio": {"sampleRate": 16000, "sliceFrames": 84}}


def _graph(path, inputs):
    """An Identity graph per input: ``inputs`` = [(name, dims)] with ints or symbol strings."""
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in inputs]
    outs = [helper.make_tensor_value_info(n + "_o", TensorProto.FLOAT, d) for n, d in inputs]
    nodes = [helper.make_node("Identity", [n], [n + "_o"]) for n, _ in inputs]
    onnx.save(helper.make_model(helper.make_graph(nodes, "g", ins, outs)), path)


class Profiles(unittest.TestCase):
    def setUp(self):
        self._t = tempfile.TemporaryDirectory()
        self.b = self._t.name

    def tearDown(self):
        self._t.cleanup()

    def _manifest(self, graphs):
        return dict(MANIFEST, graphs=graphs)

    def test_symbols_mapped_static_dims_copied_caches_scaled(self):
        _graph(os.path.join(self.b, "dec.onnx"), [("latent", [1, 16, 1, "h", "w"]),
                                                  ("cache_in_0", [1, 4, 2, "h*4", "w*4"]),
                                                  ("static", [1, 2])])
        _graph(os.path.join(self.b, "a.onnx"), [("input_values", [1, "N"])])
        m = self._manifest({"vae-decoder": {"file": "dec.onnx", "caches": [
            {"name": "cache_in_0", "output": "cache_out_0", "channels": 4, "frames": 2, "scale": 4}]},
            "audio-encoder": {"file": "a.onnx"}})
        p = trtprofiles.profiles(self.b, m)
        self.assertEqual(set(p), {"dec.onnx/latent", "dec.onnx/cache_in_0", "a.onnx/input_values"})
        self.assertEqual(p["dec.onnx/latent"], ((1, 16, 1, 60, 60), (1, 16, 1, 104, 60), (1, 16, 1, 104, 104)))
        self.assertEqual(p["dec.onnx/cache_in_0"], ((1, 4, 2, 240, 240), (1, 4, 2, 416, 240), (1, 4, 2, 416, 416)))
        # wav2vec2-base: 400 samples make one token; the longest slice is 85 frames x 640 samples
        self.assertEqual(p["a.onnx/input_values"], ((1, 400), (1, 84 * 640), (1, 85 * 640)))
        self.assertEqual(trtprofiles.w2v_tokens(399), 0)
        self.assertEqual(trtprofiles.w2v_tokens(400), 1)
        self.assertEqual(trtprofiles.w2v_tokens(53760), 167)  # AudioTokenIndex's L for a full window

    def test_a_size_outside_the_published_ones_is_inside_its_own_range(self):
        # --size 128x128 (the repository's tiny bundle): MIN must not exceed OPT
        _graph(os.path.join(self.b, "dec.onnx"), [("latent", [1, 16, 1, "h", "w"]),
                                                  ("cache_in_0", [1, 4, 2, "h*4", "w*4"])])
        m = self._manifest({"vae-decoder": {"file": "dec.onnx", "caches": [
            {"name": "cache_in_0", "output": "cache_out_0", "channels": 4, "frames": 2, "scale": 4}]}})
        m["video"] = dict(m["video"], width=128, height=128)
        p = trtprofiles.profiles(self.b, m)
        self.assertEqual(p["dec.onnx/latent"], ((1, 16, 1, 16, 16), (1, 16, 1, 16, 16), (1, 16, 1, 104, 104)))
        self.assertEqual(p["dec.onnx/cache_in_0"], ((1, 4, 2, 64, 64), (1, 4, 2, 64, 64), (1, 4, 2, 416, 416)))
        m["video"] = dict(m["video"], width=1024, height=1024)  # and above the largest published one
        self.assertEqual(trtprofiles.profiles(self.b, m)["dec.onnx/latent"],
                         ((1, 16, 1, 60, 60), (1, 16, 1, 128, 128), (1, 16, 1, 128, 128)))

    def test_an_unknown_symbolic_dim_is_an_error_naming_it(self):
        _graph(os.path.join(self.b, "d.onnx"), [("x", ["B", 16, "frames", "h", "w"])])
        with self.assertRaisesRegex(ValueError, r"d\.onnx/x dim 2 is 'frames'"):
            trtprofiles.profiles(self.b, self._manifest({"dit": {"file": "d.onnx"}}))

    def test_a_cache_scale_other_than_the_manifest_is_an_error(self):
        _graph(os.path.join(self.b, "dec.onnx"), [("cache_in_0", [1, 4, 2, "h*2", "w*2"])])
        m = self._manifest({"vae-decoder": {"file": "dec.onnx", "caches": [
            {"name": "cache_in_0", "output": "cache_out_0", "channels": 4, "frames": 2, "scale": 4}]}})
        with self.assertRaisesRegex(ValueError, "scale 4"):
            trtprofiles.profiles(self.b, m)

    def test_the_ort_variant_and_the_whole_clip_encoder_beside_its_pair_get_no_lines(self):
        _graph(os.path.join(self.b, "e.onnx"), [("video", [1, 3, "Fp", "H", "W"])])
        _graph(os.path.join(self.b, "s.onnx"), [("video", [1, 3, 4, "H", "W"])])
        _graph(os.path.join(self.b, "d.onnx"), [("t", ["B"])])
        m = self._manifest({"vae-encoder": {"file": "e.onnx"}, "vae-encoder-step": {"file": "s.onnx"},
                            "dit": {"file": "d.onnx", "variants": {"onnxruntime": {"file": "d_mha.onnx"}}}})
        self.assertEqual(set(trtprofiles.profiles(self.b, m)), {"s.onnx/video", "d.onnx/t"})
        del m["graphs"]["vae-encoder-step"]
        p = trtprofiles.profiles(self.b, m)
        self.assertEqual(p["e.onnx/video"], ((1, 3, 1, 480, 480), (1, 3, 81, 832, 480), (1, 3, 81, 832, 832)))

    def test_every_graph_gets_a_precision_line_and_the_file_holds_them(self):
        _graph(os.path.join(self.b, "d.onnx"), [("t", ["B"])])
        m = self._manifest({"dit": {"file": "d.onnx"}, "vae-decoder": {"file": "v.onnx"},
                            "image-encoder": {"file": "i.onnx"}})
        self.assertEqual(trtprofiles.precisions(m), {"d.onnx/@precision": "bf16", "v.onnx/@precision": "fp32",
                                                     "i.onnx/@precision": "fp16"})
        m["graphs"]["latentsync-unet"] = {"file": "u.onnx"}
        with self.assertRaisesRegex(ValueError, "no precision known for graph 'latentsync-unet'"):
            trtprofiles.precisions(m)
        del m["graphs"]["latentsync-unet"]
        del m["graphs"]["vae-decoder"], m["graphs"]["image-encoder"]
        with open(trtprofiles.write(self.b, m)) as f:
            text = f.read()
        self.assertEqual(text, "d.onnx/@precision = bf16\nd.onnx/t = 1 : 3 : 3\n")


class LongCatProfiles(unittest.TestCase):
    """longcat-avatar: one guidance branch per DiT call, the prompts' token counts, person masks per P."""

    def setUp(self):
        self._t = tempfile.TemporaryDirectory()
        self.b = self._t.name

    def tearDown(self):
        self._t.cleanup()

    def _manifest(self):
        from a4jexport.checkpoint import write_safetensors
        import torch
        write_safetensors(os.path.join(self.b, "pos.safetensors"), {"e": torch.zeros(12, 8)})
        write_safetensors(os.path.join(self.b, "neg.safetensors"), {"e": torch.zeros(30, 8)})
        for p, suffix in ((1, ""), (2, ""), (3, "_continuation")):
            k = 25 if suffix else 24
            ins = [("x", ["B" if p == 1 else 1, 16, k, "h", "w"]), ("context", ["B" if p == 1 else 1, "Lt", 8])]
            if p > 1:
                ins.append(("person_mask", ["M", "th", "tw"]))
            _graph(os.path.join(self.b, f"dit_p{p}{suffix}.onnx"), ins)
        _graph(os.path.join(self.b, "a.onnx"), [("input_features", [1, 128, 3000])])
        _graph(os.path.join(self.b, "e.onnx"), [("video", [1, 3, "Fp", "H", "W"])])
        graphs = {"dit-p1": {"file": "dit_p1.onnx"}, "dit-p2": {"file": "dit_p2.onnx"},
                  "dit-p3-continuation": {"file": "dit_p3_continuation.onnx"},
                  "audio-encoder": {"file": "a.onnx"}, "vae-encoder": {"file": "e.onnx"}}
        return {"family": "longcat-avatar", "graphs": graphs,
                "video": {"fps": 25, "width": 480, "height": 832, "segmentFrames": 93, "contextFrames": 13,
                          "temporalStride": 4, "spatialStride": 8, "patch": [1, 2, 2]},
                "tensors": {"text-default": {"file": "pos.safetensors"}, "text-negative": {"file": "neg.safetensors"}}}

    def test_ranges_follow_what_the_engine_feeds(self):
        p = trtprofiles.profiles(self.b, self._manifest())
        self.assertEqual(p["dit_p1.onnx/x"], ((1, 16, 24, 60, 60), (1, 16, 24, 104, 60), (1, 16, 24, 104, 104)))
        self.assertEqual(p["dit_p1.onnx/context"], ((1, 12, 8), (1, 12, 8), (1, 30, 8)))  # the two prompts
        self.assertEqual(p["dit_p2.onnx/person_mask"], ((3, 30, 30), (3, 52, 30), (3, 52, 52)))
        self.assertEqual(p["dit_p3_continuation.onnx/person_mask"][0][0], 4)
        self.assertEqual(p["dit_p3_continuation.onnx/person_mask"][2][0], trtprofiles.MAX_PERSON_MASKS)
        self.assertEqual(p["dit_p3_continuation.onnx/x"][1], (1, 16, 25, 104, 60))
        self.assertEqual(p["e.onnx/video"], ((1, 3, 1, 480, 480), (1, 3, 13, 832, 480), (1, 3, 13, 832, 832)))
        self.assertNotIn("a.onnx/input_features", p)  # static: no line

    def test_precisions_dit_bf16_vae_fp32_whisper_fp16(self):
        m = self._manifest()
        self.assertEqual(trtprofiles.precisions(m), {
            "dit_p1.onnx/@precision": "bf16", "dit_p2.onnx/@precision": "bf16",
            "dit_p3_continuation.onnx/@precision": "bf16", "a.onnx/@precision": "fp16",
            "e.onnx/@precision": "fp32"})
        m["graphs"]["unet"] = {"file": "u.onnx"}
        with self.assertRaisesRegex(ValueError, "no precision known for graph 'unet'"):
            trtprofiles.precisions(m)

    def test_without_the_prompt_embeddings_it_says_so(self):
        m = self._manifest()
        del m["tensors"]["text-default"]
        with self.assertRaisesRegex(ValueError, "no tensor 'text-default'"):
            trtprofiles.profiles(self.b, m)


class LatentSyncProfiles(unittest.TestCase):
    """latentsync: a fixed face size, up to a chunk of faces per VAE call, 1..2 branches x 1..chunk frames."""

    def test_ranges_and_precisions(self):
        with tempfile.TemporaryDirectory() as b:
            _graph(os.path.join(b, "u.onnx"), [("sample", ["B", 13, "F", "h", "w"]), ("timestep", [1]),
                                               ("audio", ["B", "F", 50, 384])])
            _graph(os.path.join(b, "s.onnx"), [("sample", ["B", 13, "F", "h", "w"]),
                                               ("cache", ["B", 320, "F", "h", "w"])])
            _graph(os.path.join(b, "e.onnx"), [("image", ["N", 3, "H", "W"])])
            _graph(os.path.join(b, "f.onnx"), [("input:0", [1, 128, 128, 3])])
            m = {"family": "latentsync", "video": {"fps": 25, "resolution": 256, "chunkFrames": 16},
                 "guidance": {"type": "cfg-zero-audio", "scale": 1.5},
                 "graphs": {"unet": {"file": "u.onnx", "variants": {"onnxruntime": {"file": "u_mha.onnx"}}},
                            "unet-shallow": {"file": "s.onnx"}, "vae-encoder": {"file": "e.onnx"},
                            "face-detector": {"file": "f.onnx"}}}
            p = trtprofiles.profiles(b, m)
            self.assertEqual(set(p), {"u.onnx/sample", "u.onnx/audio", "s.onnx/sample", "s.onnx/cache", "e.onnx/image"})
            self.assertEqual(p["u.onnx/sample"], ((1, 13, 1, 32, 32), (2, 13, 16, 32, 32), (2, 13, 16, 32, 32)))
            self.assertEqual(p["s.onnx/cache"], ((1, 320, 1, 32, 32), (2, 320, 16, 32, 32), (2, 320, 16, 32, 32)))
            self.assertEqual(p["e.onnx/image"], ((1, 3, 256, 256), (16, 3, 256, 256), (16, 3, 256, 256)))
            m["guidance"]["scale"] = 1.0  # unguided by default: tuned for one branch, two still accepted
            self.assertEqual(trtprofiles.profiles(b, m)["u.onnx/audio"], ((1, 1, 50, 384), (1, 16, 50, 384),
                                                                        (2, 16, 50, 384)))
            self.assertEqual(trtprofiles.precisions(m), {
                "u.onnx/@precision": "fp16", "s.onnx/@precision": "fp16", "e.onnx/@precision": "fp16",
                "f.onnx/@precision": "fp32"})


if __name__ == "__main__":
    unittest.main()
