"""models/latentsync-tiny is what the exporter makes from the reduced reference checkpoint.

The SDK's dubbing tests run that bundle so that they run the graphs a real export produces
(tools/export_tiny_latentsync.py). A change of the exporter that changes the graphs fails here until
the bundle (and with it the parity goldens of tools/reference_run_latentsync.py) is regenerated.
"""
import json
import os
import subprocess
import sys
import unittest

from exportutil import HERE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SCRIPT = os.path.join(ROOT, "tools", "export_tiny_latentsync.py")
BUNDLE = os.path.join(ROOT, "models", "latentsync-tiny")


class TinyLatentSyncBundle(unittest.TestCase):
    def test_the_committed_bundle_is_a_fresh_export_byte_for_byte(self):
        p = subprocess.run([sys.executable, SCRIPT, "--check"], capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-4000:])

    def test_the_bundle_has_the_real_layout(self):
        with open(os.path.join(BUNDLE, "avatar-bundle.json"), encoding="utf-8") as f:
            m = json.load(f)
        self.assertEqual(m["name"], "latentsync-tiny")
        self.assertEqual(set(m["graphs"]), {"audio-encoder", "vae-encoder", "vae-decoder", "unet", "unet-shallow",
                                            "face-detector"})
        self.assertEqual(m["graphs"]["unet"]["variants"]["onnxruntime"]["file"], "unet_mha.onnx")
        self.assertEqual(m["graphs"]["unet-shallow"]["variants"]["onnxruntime"]["file"], "unet_shallow_mha.onnx")
        self.assertEqual(m["sampler"]["deepCacheInterval"], 3)
        self.assertEqual(m["video"]["resolution"], 256)
        total = sum(os.path.getsize(os.path.join(BUNDLE, n)) for n in os.listdir(BUNDLE))
        self.assertLess(total, 8_000_000, "the tiny bundle is committed and run by the SDK's tests: keep it small")


if __name__ == "__main__":
    unittest.main()
