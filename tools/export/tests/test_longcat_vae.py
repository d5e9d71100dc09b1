"""LongCat-Video VAE exporter tests: the reduced reference checkpoint (fixtures/longcat_vae, made by
reference/longcat_vae_goldens.py from LongCat-Video's own ``AutoencoderKLWan``, diffusers key names)
-> the StableAvatar Wan VAE module through a4jexport.longcat.vae's key mapping -> the reference's
normalised encode and its decode; the whole-clip encoder graph is exported to
$A4J_EXPORT_OUT/longcat_vae/ for tools/export/test's ONNX Runtime check of the same case."""
import json
import os
import sys
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from a4jexport import onnxio  # noqa: E402
from a4jexport.checkpoint import open_checkpoint  # noqa: E402
from a4jexport.longcat import vae  # noqa: E402
import exportutil  # noqa: E402

FIX = os.path.join(HERE, "fixtures", "longcat_vae")
TOL = 1e-4


def load_case(name):
    with open(os.path.join(FIX, name)) as f:
        lines = f.read().split("case ")[1].strip().split("\n")
    ins, outs = {}, {}
    for line in lines[1:]:
        kind, n, _, shape, fname = line.split()
        a = np.fromfile(os.path.join(FIX, fname), "<f4").reshape([int(s) for s in shape.split(",")])
        (ins if kind == "in" else outs)[n] = torch.from_numpy(a.copy())
    return ins, outs


def rel_err(got, ref):
    return (got - ref).abs().max().item() / max(1.0, ref.abs().max().item())


class LongCatVaeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ck = open_checkpoint(os.path.join(FIX, "diffusion_pytorch_model.safetensors"))
        with open(os.path.join(FIX, "config.json")) as f:
            cls.config = json.load(f)
        cls.model = vae.build(cls.ck, cls.config)

    def test_every_diffusers_key_maps_to_a_wan_key(self):
        names = vae.wan_keys(self.ck.keys())
        self.assertEqual(sorted(names.values()), sorted(self.ck.keys()))
        self.assertEqual(names["decoder.upsamples.3.time_conv.weight"], "decoder.up_blocks.0.upsamplers.0.time_conv.weight")
        self.assertEqual(names["encoder.middle.1.to_qkv.weight"], "encoder.mid_block.attentions.0.to_qkv.weight")
        self.assertEqual(names["decoder.head.2.weight"], "decoder.conv_out.weight")
        with self.assertRaises(KeyError):
            vae.wan_keys(list(self.ck.keys()) + ["decoder.up_blocks.0.upsampler.avg_shortcut.weight"])

    def test_normalised_encode_matches_the_reference(self):
        ins, outs = load_case("cases.txt")
        with torch.no_grad():
            self.assertLessEqual(rel_err(self.model.encode(ins["video"]), outs["latent"]), TOL)  # chunked
            self.assertLessEqual(rel_err(self.model.encode_whole(ins["video"]), outs["latent"]), TOL)

    def test_decode_matches_the_reference(self):
        ins, outs = load_case("decode.txt")
        with torch.no_grad():
            self.assertLessEqual(rel_err(self.model.decode(ins["latents"]), outs["frames"]), TOL)

    def test_other_normalisation_or_patchified_vae_is_refused(self):
        with self.assertRaises(ValueError):
            vae.build(self.ck, dict(self.config, latents_std=[1.0] * 16))
        with self.assertRaises(ValueError):
            vae.build(self.ck, dict(self.config, patch_size=2))

    def test_export_whole_encoder(self):
        out = exportutil.out_dir("longcat_vae")
        g = next(g for g in vae.graphs(self.model, encoders=("whole",)) if g.key == "vae-encoder")
        entry = onnxio.export_graph(g, out)
        self.assertEqual(entry["file"], "vae_encoder.onnx")


if __name__ == "__main__":
    unittest.main()
