"""models/stableavatar-tiny is what the exporter makes from the reduced reference checkpoint.

The SDK's tests and demo run that bundle so that they run the graphs a real export produces
(tools/export_tiny_stableavatar.py). A change of the exporter that changes the graphs fails here until
the bundle (and with it the parity goldens of tools/reference_run_stableavatar.py) is regenerated.
"""
import json
import os
import subprocess
import sys
import unittest

from exportutil import HERE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SCRIPT = os.path.join(ROOT, "tools", "export_tiny_stableavatar.py")
BUNDLE = os.path.join(ROOT, "models", "stableavatar-tiny")


class TinyBundle(unittest.TestCase):
    def test_the_committed_bundle_is_a_fresh_export_byte_for_byte(self):
        p = subprocess.run([sys.executable, SCRIPT, "--check"], capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-4000:])

    def test_the_bundle_has_the_real_layout_and_the_dits_text_len(self):
        with open(os.path.join(BUNDLE, "avatar-bundle.json"), encoding="utf-8") as f:
            m = json.load(f)
        self.assertEqual(set(m["graphs"]), {"audio-encoder", "image-encoder", "vae-encoder", "vae-encoder-first",
                                            "vae-encoder-step", "dit", "vae-decoder-first", "vae-decoder"})
        self.assertEqual(m["graphs"]["dit"]["variants"]["onnxruntime"]["file"], "dit_mha.onnx")
        self.assertEqual(len(m["graphs"]["vae-decoder"]["caches"]), 32)
        self.assertEqual(m["text"]["maxTokens"], 128)
        self.assertEqual((m["video"]["width"], m["video"]["height"]), (128, 128))
        total = sum(os.path.getsize(os.path.join(BUNDLE, n)) for n in os.listdir(BUNDLE))
        self.assertLess(total, 3_200_000, "the tiny bundle is packaged into the SDK jar: keep it small")


if __name__ == "__main__":
    unittest.main()
