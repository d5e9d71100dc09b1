"""Whisper-large-v3 audio-encoder exporter tests: a reduced encoder made by openai-whisper's own
AudioEncoder (fixtures/longcat_whisper, reference/longcat_whisper_goldens.py; transformers' key names)
-> our module -> LongCat's grouped hidden states; ONNX export to $A4J_EXPORT_OUT/longcat_whisper/ with
the case written next to it for tools/export/test's ONNX Runtime check."""
import json
import os
import sys
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "reference"))

from a4jexport import onnxio  # noqa: E402
from a4jexport.checkpoint import open_checkpoint  # noqa: E402
from a4jexport.longcat import whisper  # noqa: E402
import exportutil  # noqa: E402
import longcat_whisper_goldens as goldens  # noqa: E402  (the input: mel(seed))

FIX = os.path.join(HERE, "fixtures", "longcat_whisper")
TOL = 1e-4


class LongCatWhisperTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ck = open_checkpoint(os.path.join(FIX, "model.safetensors"))
        cls.sd = {k: ck[k] for k in ck.keys()}
        with open(os.path.join(FIX, "config.json")) as f:
            cls.config = json.load(f)
        cls.model = whisper.build(cls.sd, cls.config)
        cls.golden = torch.from_numpy(np.fromfile(os.path.join(FIX, "golden.bin"), "<f4").reshape(1, 1500, 5, 8))
        cls.mel = goldens.mel()

    def err(self, got):
        return (got - self.golden).abs().max().item() / max(1.0, self.golden.abs().max().item())

    def test_grouped_states_match_the_reference_encoder(self):
        with torch.no_grad():
            self.assertLessEqual(self.err(self.model(self.mel)), TOL)

    def test_the_grouping_is_what_longcat_takes(self):
        # state 32 is after the final LayerNorm and the groups are means over 8 states: a shifted group
        # (states 1-8) or the last state without the LayerNorm would not match
        m = whisper.build(self.sd, self.config)
        with torch.no_grad():
            whisper.GROUPS = ((1, 9), (8, 16), (16, 24), (24, 32))
            try:
                self.assertGreater(self.err(m(self.mel)), 1e-3)
            finally:
                whisper.GROUPS = ((0, 8), (8, 16), (16, 24), (24, 32))

    def test_needs_the_heads_and_32_layers(self):
        with self.assertRaises(KeyError):
            whisper.build(self.sd, {})
        fewer = {k: v for k, v in self.sd.items() if ".layers.31." not in k}
        with self.assertRaises(ValueError):
            whisper.build(fewer, self.config)

    def test_export(self):
        out = exportutil.out_dir("longcat_whisper")
        g = whisper.graphs(self.model)[0]
        entry = onnxio.export_graph(g, out)
        self.assertEqual(entry["file"], "audio_encoder.onnx")
        exportutil.write_cases(out, "audio_encoder.onnx", {"input_features": self.mel},
                               {"hidden_groups": self.golden}, tag="whisper", append=False)


if __name__ == "__main__":
    unittest.main()
