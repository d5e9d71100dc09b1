"""CLIP image encoder: reduced reference checkpoint -> module -> goldens and ONNX graph."""
import os
import unittest

import torch

import enc_support as S
from a4jexport.stableavatar import clip

CKPT = S.fixture(clip.CHECKPOINT)


def _image_case():
    (graph, items), = [c for c in S.cases() if c[0] == "image_encoder.onnx"]
    return {name: t for _, name, t in items}


class ClipTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sd = torch.load(CKPT, map_location="cpu")
        cls.model = clip.build(cls.sd, source=CKPT)
        cls.case = _image_case()

    def test_forward_matches_reference_31_of_32_blocks(self):
        with torch.no_grad():
            out = self.model(self.case["pixel_values"])
        self.assertEqual(tuple(out.shape), tuple(self.case["image_embeds"].shape))
        self.assertLessEqual(S.rel_err(out, self.case["image_embeds"]), 1e-4)

    def test_output_is_before_the_last_block_and_post_norm(self):
        # Running all N blocks (or adding the post-norm) must NOT match: the DiT gets N-1 blocks' output.
        full = clip.build(self.sd, skip_last=0)
        with torch.no_grad():
            out = full(self.case["pixel_values"])
            normed = torch.nn.functional.layer_norm(self.model(self.case["pixel_values"]), (out.shape[-1],),
                                                    self.sd["visual.post_norm.weight"],
                                                    self.sd["visual.post_norm.bias"], 1e-5)
        self.assertGreater(S.rel_err(out, self.case["image_embeds"]), 1e-2)
        self.assertGreater(S.rel_err(normed, self.case["image_embeds"]), 1e-2)

    def test_head_count_matters_and_defaults_to_the_published_16(self):
        self.assertEqual(self.model.blocks[0].heads, 16)
        other = clip.build(self.sd, config={"vision_heads": 4})
        with torch.no_grad():
            out = other(self.case["pixel_values"])
        self.assertGreater(S.rel_err(out, self.case["image_embeds"]), 1e-3)

    def test_reads_only_the_visual_keys_it_uses(self):
        rec = S.Recording(self.sd)
        clip.build(rec)
        layers = 1 + max(int(k.split(".")[2]) for k in self.sd if k.startswith("visual.transformer."))
        last = "visual.transformer.%d." % (layers - 1)
        self.assertTrue(rec.reads)
        for k in rec.reads:
            self.assertTrue(k.startswith("visual."), k)
            self.assertFalse(k.startswith(last) or k.startswith("visual.post_norm") or k == "visual.head", k)
        self.assertEqual(len(rec.reads), len(set(rec.reads)), "each tensor is read once")

    def test_preprocessing_matches_the_reference_clipmodel_forward(self):
        pre = S.preprocess_case()
        got = clip.preprocess(pre["image"], self.model.image_size)
        self.assertLessEqual(float((got - pre["pixel_values"]).abs().max()), 1e-5)
        # H and W are not swapped: the fixture image is 48 x 40
        self.assertEqual(tuple(pre["image"].shape), (3, 48, 40))

    def test_missing_key_names_key_and_file(self):
        sd = {k: v for k, v in self.sd.items() if k != "visual.transformer.1.attn.proj.weight"}
        with self.assertRaises(KeyError) as e:
            clip.build(sd, source="/x/clip.pth")
        self.assertIn("visual.transformer.1.attn.proj.weight", str(e.exception))
        self.assertIn("/x/clip.pth", str(e.exception))

    def test_real_geometry_224_gives_257_tokens(self):
        # Published layout: patch 14 at 224 (pos_embedding [1, 257, D]); width and depth reduced.
        g = torch.Generator().manual_seed(3)
        d, mlp = 32, 64
        sd = {"visual.patch_embedding.weight": torch.randn(d, 3, 14, 14, generator=g) * 0.02,
              "visual.cls_embedding": torch.randn(1, 1, d, generator=g),
              "visual.pos_embedding": torch.randn(1, 257, d, generator=g),
              "visual.pre_norm.weight": torch.ones(d), "visual.pre_norm.bias": torch.zeros(d)}
        for i in range(2):
            p = "visual.transformer.%d." % i
            for n, shape in (("norm1", (d,)), ("norm2", (d,))):
                sd[p + n + ".weight"], sd[p + n + ".bias"] = torch.ones(shape), torch.zeros(shape)
            for n, o, ii in (("attn.to_qkv", 3 * d, d), ("attn.proj", d, d), ("mlp.0", mlp, d), ("mlp.2", d, mlp)):
                sd[p + n + ".weight"] = torch.randn(o, ii, generator=g) * 0.05
                sd[p + n + ".bias"] = torch.zeros(o)
        m = clip.build(sd)
        (gx,) = clip.graphs(m)
        self.assertEqual(tuple(gx.args[0].shape), (1, 3, 224, 224))
        with torch.no_grad():
            self.assertEqual(tuple(m(gx.args[0]).shape), (1, 257, d))
        self.assertEqual(len(m.blocks), 1)

    def test_export_graph_and_check(self):
        import onnx
        (g,) = clip.graphs(self.model)
        self.assertEqual((g.key, g.file, g.input_names, g.output_names),
                         ("image-encoder", "image_encoder.onnx", ["pixel_values"], ["image_embeds"]))
        path = S.export(g, S.out_dir())
        proto = onnx.load(path)
        onnx.checker.check_model(proto)
        self.assertEqual([i.name for i in proto.graph.input], ["pixel_values"])
        self.assertEqual([o.name for o in proto.graph.output], ["image_embeds"])
        dims = [d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
        self.assertEqual(dims, list(self.case["image_embeds"].shape))
        self.assertTrue(os.path.getsize(path) > 0)
        S.assert_no_folded_copies(self, proto, self.model)


if __name__ == "__main__":
    unittest.main()
