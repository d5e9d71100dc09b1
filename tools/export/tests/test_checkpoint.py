"""Lazy checkpoint readers against files written here (torch.save, our safetensors writer)."""
import collections
import json
import os
import struct
import sys
import tempfile
import unittest
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from a4jexport.checkpoint import (CheckpointKeyError, EagerCheckpoint, SafetensorsCheckpoint,  # noqa: E402
                                  ShardedCheckpoint, TorchZipCheckpoint, open_checkpoint, write_safetensors)


def _sample():
    g = torch.Generator().manual_seed(7)
    return collections.OrderedDict([
        ("a.weight", torch.randn(4, 6, generator=g)),
        ("b.bf16", torch.randn(3, 5, generator=g).to(torch.bfloat16)),
        ("c.f16", torch.randn(7, generator=g).to(torch.float16)),
        ("d.f64", torch.randn(2, 2, generator=g, dtype=torch.float64)),
        ("ids", torch.arange(10, dtype=torch.int64).reshape(2, 5)),
        ("flag", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(2.5)),
        ("empty", torch.zeros(0, 3)),
    ])


class _MyTensor(torch.Tensor):
    pass


class Base(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def p(self, name):
        return os.path.join(self.dir, name)

    def check_values(self, ck, sd):
        self.assertEqual(sorted(ck.keys()), sorted(sd.keys()))
        for k, v in sd.items():
            self.assertIn(k, ck)
            self.assertEqual(ck.shape(k), tuple(v.shape), k)
            self.assertEqual(ck.dtype(k), v.dtype, k)
            native = ck.get_tensor(k, None)
            self.assertEqual(native.dtype, v.dtype, k)
            self.assertTrue(torch.equal(native, v), k)
            f = ck[k]
            if v.is_floating_point():
                self.assertEqual(f.dtype, torch.float32, k)
                self.assertTrue(torch.equal(f, v.float()), k)
            else:
                self.assertEqual(f.dtype, v.dtype, k)


class SafetensorsTest(Base):
    def test_round_trip_all_dtypes(self):
        sd = _sample()
        write_safetensors(self.p("m.safetensors"), sd, metadata={"format": "pt"})
        with open_checkpoint(self.p("m.safetensors")) as ck:
            self.assertIsInstance(ck, SafetensorsCheckpoint)
            self.check_values(ck, sd)
            self.assertEqual(ck.metadata, {"format": "pt"})

    def test_header_layout_is_the_published_format(self):
        write_safetensors(self.p("e.safetensors"), {"embeddings": torch.ones(2, 3)})
        with open(self.p("e.safetensors"), "rb") as f:
            raw = f.read()
        (n,) = struct.unpack("<Q", raw[:8])
        self.assertEqual(n % 8, 0)
        h = json.loads(raw[8:8 + n])
        self.assertEqual(h, {"embeddings": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}})
        self.assertEqual(len(raw), 8 + n + 24)

    def test_reads_only_the_asked_tensor(self):
        big = {"big": torch.zeros(1000, 1000), "small": torch.arange(6.0).reshape(2, 3)}
        write_safetensors(self.p("b.safetensors"), big)
        ck = open_checkpoint(self.p("b.safetensors"))
        self.assertEqual(ck.shape("big"), (1000, 1000))
        self.assertEqual(ck.bytes_read, 0)
        self.assertTrue(torch.equal(ck["small"], big["small"]))
        self.assertEqual(ck.bytes_read, 24)
        ck.close()

    def test_missing_key_names_file_and_key(self):
        write_safetensors(self.p("m.safetensors"), {"blocks.0.w": torch.ones(1)})
        ck = open_checkpoint(self.p("m.safetensors"))
        with self.assertRaises(KeyError) as cm:
            ck["w"]
        msg = str(cm.exception)
        self.assertIn("'w'", msg)
        self.assertIn("m.safetensors", msg)
        self.assertIn("blocks.0.w", msg)  # the near match is suggested
        with self.assertRaises(CheckpointKeyError):
            ck.shape("nope")
        ck.close()

    def test_corrupt_header_is_refused(self):
        with open(self.p("x.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", 10 ** 6) + b"{}")
        with self.assertRaisesRegex(ValueError, "x.safetensors"):
            open_checkpoint(self.p("x.safetensors"))
        h = json.dumps({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}).encode()
        with open(self.p("y.safetensors"), "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h + b"\0" * 8)
        with self.assertRaisesRegex(ValueError, "inconsistent"):
            open_checkpoint(self.p("y.safetensors"))


class TorchZipTest(Base):
    def test_state_dict_all_dtypes(self):
        sd = _sample()
        torch.save(sd, self.p("m.pth"))
        with open_checkpoint(self.p("m.pth")) as ck:
            self.assertIsInstance(ck, TorchZipCheckpoint)
            self.assertEqual(ck.bytes_read, 0)
            self.check_values(ck, sd)

    def test_bin_and_pt_names(self):
        sd = {"x": torch.randn(3)}
        for name in ("pytorch_model.bin", "t.pt"):
            torch.save(sd, self.p(name))
            with open_checkpoint(self.p(name)) as ck:
                self.assertTrue(torch.equal(ck["x"], sd["x"]))

    def test_shared_storage_views_offsets_and_strides(self):
        base = torch.arange(48, dtype=torch.float32)
        m = base.view(6, 8)
        sd = {
            "whole": m,
            "rows": m[2:4],                   # offset 16
            "cols": m[:, 3],                  # stride 8
            "transposed": m.t(),              # strides (1, 8)
            "bf": torch.arange(12, dtype=torch.float32).to(torch.bfloat16).view(3, 4)[1:, 1:3],
            "param": torch.nn.Parameter(torch.randn(2, 3)),
        }
        torch.save(sd, self.p("v.pt"))
        with open_checkpoint(self.p("v.pt")) as ck:
            for k, v in sd.items():
                self.assertEqual(ck.shape(k), tuple(v.shape), k)
                self.assertTrue(torch.equal(ck.get_tensor(k, None), v.detach()), k)
                self.assertTrue(ck.get_tensor(k).is_contiguous())
            before = ck.bytes_read
            ck["rows"]
            self.assertEqual(ck.bytes_read - before, 16 * 4)  # only the rows' span, not the storage

    def test_nested_wrappers_and_non_tensor_entries(self):
        inner = collections.OrderedDict([("w", torch.ones(2, 2)), ("b", torch.zeros(2))])
        for wrap in ({"state_dict": inner, "epoch": 3, "args": {"lr": 0.1}},
                     {"module": inner},
                     {"global_step": 5, "model": {"state_dict": inner}}):
            torch.save(wrap, self.p("n.pt"))
            with open_checkpoint(self.p("n.pt")) as ck:
                self.assertEqual(sorted(ck.keys()), ["b", "w"])
                self.assertTrue(torch.equal(ck["w"], inner["w"]))

    def test_unknown_classes_are_never_imported(self):
        import argparse
        sd = {"state_dict": {"w": torch.ones(1)}, "args": argparse.Namespace(x=1)}
        torch.save(sd, self.p("a.pt"))
        with open_checkpoint(self.p("a.pt")) as ck:
            self.assertEqual(ck.keys(), ["w"])

    def test_tensor_subclass_reads_as_a_plain_tensor(self):
        sd = {"w": torch.arange(4.0).as_subclass(_MyTensor), "v": torch.ones(2)}
        torch.save(sd, self.p("s.pt"))
        with open_checkpoint(self.p("s.pt")) as ck:
            self.assertEqual(sorted(ck.keys()), ["v", "w"])
            self.assertIs(type(ck["w"]), torch.Tensor)
            self.assertTrue(torch.equal(ck["w"], torch.arange(4.0)))

    def test_reading_one_key_of_a_big_file_reads_only_that_key(self):
        sd = collections.OrderedDict((f"layer{i}.weight", torch.randn(256, 256).to(torch.bfloat16))
                                     for i in range(8))
        torch.save(sd, self.p("big.pth"))
        size = os.path.getsize(self.p("big.pth"))
        with open_checkpoint(self.p("big.pth")) as ck:
            self.assertEqual(ck.bytes_read, 0)
            t = ck["layer5.weight"]
            self.assertEqual(t.dtype, torch.float32)
            self.assertTrue(torch.equal(t, sd["layer5.weight"].float()))
            self.assertEqual(ck.bytes_read, 256 * 256 * 2)
            self.assertLess(ck.bytes_read * 7, size)

    def test_missing_key(self):
        torch.save({"a": torch.ones(1)}, self.p("m.pth"))
        with open_checkpoint(self.p("m.pth")) as ck, self.assertRaisesRegex(KeyError, r"'b'.*m\.pth"):
            ck["b"]

    def test_no_tensors_is_a_clear_error(self):
        torch.save({"epoch": 1}, self.p("e.pth"))
        with self.assertRaisesRegex(ValueError, "no tensors"):
            open_checkpoint(self.p("e.pth"))


class ShardedAndLegacyTest(Base):
    def test_safetensors_index(self):
        a = {"x.0": torch.randn(3), "x.1": torch.randn(2, 2).half()}
        b = {"y": torch.randn(4).to(torch.bfloat16)}
        write_safetensors(self.p("model-00001-of-00002.safetensors"), a)
        write_safetensors(self.p("model-00002-of-00002.safetensors"), b)
        wm = {k: "model-00001-of-00002.safetensors" for k in a}
        wm.update({k: "model-00002-of-00002.safetensors" for k in b})
        with open(self.p("model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, f)
        with open_checkpoint(self.p("model.safetensors.index.json")) as ck:
            self.assertIsInstance(ck, ShardedCheckpoint)
            self.assertEqual(ck.dtype("y"), torch.bfloat16)
            self.check_values(ck, {**a, **b})
            self.assertEqual(len(ck._shards), 2)

    def test_bin_index_and_missing_shard(self):
        torch.save({"w": torch.ones(2)}, self.p("pytorch_model-00001-of-00002.bin"))
        with open(self.p("pytorch_model.bin.index.json"), "w") as f:
            json.dump({"weight_map": {"w": "pytorch_model-00001-of-00002.bin",
                                      "v": "pytorch_model-00002-of-00002.bin"}}, f)
        with open_checkpoint(self.p("pytorch_model.bin.index.json")) as ck:
            self.assertTrue(torch.equal(ck["w"], torch.ones(2)))
            with self.assertRaisesRegex(FileNotFoundError, "00002-of-00002"):
                ck["v"]

    def test_legacy_torch_file_falls_back_with_warning(self):
        sd = {"state_dict": {"w": torch.randn(2, 3).to(torch.bfloat16)}}
        torch.save(sd, self.p("old.pth"), _use_new_zipfile_serialization=False)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            ck = open_checkpoint(self.p("old.pth"))
        self.assertIsInstance(ck, EagerCheckpoint)
        self.assertTrue(any("legacy" in str(x.message) for x in w))
        self.assertEqual(ck.dtype("w"), torch.bfloat16)
        self.assertTrue(torch.equal(ck["w"], sd["state_dict"]["w"].float()))

    def test_missing_file(self):
        with self.assertRaisesRegex(FileNotFoundError, "nothere.pth"):
            open_checkpoint(self.p("nothere.pth"))


if __name__ == "__main__":
    unittest.main()
