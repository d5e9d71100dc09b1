"""models/longcat-avatar-tiny is what the exporter makes from the reduced real-format checkpoints.

The SDK's tests (LongCatEngineTest, LongCatParityTest, the examples' multi-speaker tests) run that bundle
so that they run the graphs a real export produces (tools/export_tiny_longcat.py). A change of the exporter
that changes the graphs fails here until the bundle (and with it the parity goldens of
tools/reference_run_longcat.py) is regenerated.
"""
import json
import os
import subprocess
import sys
import unittest

from exportutil import HERE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SCRIPT = os.path.join(ROOT, "tools", "export_tiny_longcat.py")
BUNDLE = os.path.join(ROOT, "models", "longcat-avatar-tiny")


class TinyLongCatBundle(unittest.TestCase):
    def test_the_committed_bundle_is_a_fresh_export_byte_for_byte(self):
        p = subprocess.run([sys.executable, SCRIPT, "--check"], capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-4000:])

    def test_the_bundle_has_the_real_layout(self):
        with open(os.path.join(BUNDLE, "avatar-bundle.json"), encoding="utf-8") as f:
            m = json.load(f)
        dits = {f"dit-p{p}{s}" for p in (1, 2, 3) for s in ("", "-continuation")}
        self.assertEqual(set(m["graphs"]), dits | {"audio-encoder", "vae-encoder", "vae-decoder-first",
                                                   "vae-decoder"})
        self.assertEqual(len(m["graphs"]["vae-decoder"]["caches"]), 32)
        self.assertEqual({m["graphs"][k]["externalData"][0]["file"] for k in dits}, {"dit.onnx.data"})
        self.assertEqual(set(m["tensors"]), {"text-default", "text-negative"})
        self.assertEqual(m["audio"]["melBins"], 128)
        self.assertEqual((m["video"]["width"], m["video"]["height"]), (64, 64))
        total = sum(os.path.getsize(os.path.join(BUNDLE, n)) for n in os.listdir(BUNDLE))
        self.assertLess(total, 5_000_000, "the tiny bundle is packaged into the SDK jar: keep it small")


if __name__ == "__main__":
    unittest.main()
