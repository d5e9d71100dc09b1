"""export_graph: in-proto and external-data graphs, consolidation of torch's per-tensor files."""
import hashlib
import os
import shutil
import tempfile
import unittest

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from exportutil import out_dir, write_cases
from a4jexport.graph import GraphExport
from a4jexport.onnxio import (ALIGN, export_graph, finalize_onnx, sha256_file,  # noqa: F401
                              share_external_data, verify_external)


class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.a = torch.nn.Linear(16, 64)
        self.b = torch.nn.Linear(64, 8)
        self.scale = torch.nn.Parameter(torch.tensor([1.5]))  # 4 bytes: stays inline
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x))) * self.scale


def _graph(file="small.onnx"):
    m = Small().eval()
    return GraphExport(key="small", file=file, module=m, args=(torch.randn(1, 5, 16),),
                       input_names=["x"], output_names=["y"], dynamic_axes={"x": {1: "n"}, "y": {1: "n"}},
                       manifest={"caches": [{"name": "c", "scale": 1}]})


def _initializers(path):
    m = onnx.load(path)  # loads external data too
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


class ExportGraphTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def test_in_proto_graph(self):
        e = export_graph(_graph(), self.dir)
        path = os.path.join(self.dir, "small.onnx")
        self.assertEqual(e["file"], "small.onnx")
        self.assertEqual(e["sha256"], sha256_file(path))
        with open(path, "rb") as f:
            self.assertEqual(e["sha256"], hashlib.sha256(f.read()).hexdigest())
        self.assertNotIn("externalData", e)
        self.assertEqual(e["caches"], [{"name": "c", "scale": 1}])
        self.assertEqual(sorted(os.listdir(self.dir)), ["small.onnx"])  # no staging left behind
        m = onnx.load(path)
        self.assertEqual(m.opset_import[0].version, 17)
        self.assertEqual([i.name for i in m.graph.input], ["x"])
        self.assertEqual(m.graph.input[0].type.tensor_type.shape.dim[1].dim_param, "n")
        self.assertFalse(any(t.data_location == TensorProto.EXTERNAL for t in m.graph.initializer))

    def test_external_data_when_over_threshold(self):
        inproto = os.path.join(self.dir, "a")
        ext = os.path.join(self.dir, "b")
        export_graph(_graph(), inproto)
        e = export_graph(_graph(), ext, external_threshold=1000)
        self.assertEqual(sorted(os.listdir(ext)), ["small.onnx", "small.onnx.data"])
        data = os.path.join(ext, "small.onnx.data")
        self.assertEqual(e["externalData"], [{"file": "small.onnx.data", "sha256": sha256_file(data),
                                              "size": os.path.getsize(data)}])
        m = onnx.load(os.path.join(ext, "small.onnx"), load_external_data=False)
        external = [t for t in m.graph.initializer if t.data_location == TensorProto.EXTERNAL]
        inline = [t for t in m.graph.initializer if t.data_location != TensorProto.EXTERNAL]
        self.assertEqual(len(external), 2)  # the two weight matrices (4 KiB, 2 KiB); biases inline
        self.assertTrue(inline and all(len(t.raw_data) < 1024 for t in inline))
        for t in external:
            info = {kv.key: kv.value for kv in t.external_data}
            self.assertEqual(info["location"], "small.onnx.data")
            self.assertEqual(int(info["offset"]) % ALIGN, 0)
            self.assertFalse(t.HasField("raw_data"))
        # the same weights as the in-proto export
        a, b = _initializers(os.path.join(inproto, "small.onnx")), _initializers(os.path.join(ext, "small.onnx"))
        self.assertEqual(sorted(a), sorted(b))
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])

    def test_re_export_replaces_stale_data_file(self):
        export_graph(_graph(), self.dir, external_threshold=1000)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "small.onnx.data")))
        export_graph(_graph(), self.dir)
        self.assertEqual(sorted(os.listdir(self.dir)), ["small.onnx"])

    def test_file_name_must_be_plain(self):
        for bad in ("../x.onnx", "sub/x.onnx", ""):
            with self.assertRaises(ValueError):
                export_graph(_graph(bad), self.dir)

    def test_verify_external_catches_wrong_location_and_range(self):
        export_graph(_graph(), self.dir, external_threshold=1000)
        path = os.path.join(self.dir, "small.onnx")
        verify_external(path, "small.onnx.data")
        with self.assertRaisesRegex(ValueError, "names"):
            verify_external(path, "other.data")
        with open(os.path.join(self.dir, "small.onnx.data"), "r+b") as f:
            f.truncate(100)
        with self.assertRaisesRegex(ValueError, "outside"):
            verify_external(path, "small.onnx.data")
        os.remove(os.path.join(self.dir, "small.onnx.data"))
        with self.assertRaisesRegex(ValueError, "missing"):
            verify_external(path, "small.onnx.data")


class ShareExternalDataTest(unittest.TestCase):
    """A graph variant with the same initializers reads its main graph's data file (stored once)."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def test_same_initializers_share(self):
        base = export_graph(_graph("g.onnx"), self.dir, external_threshold=1000)
        var = export_graph(_graph("g_mha.onnx"), self.dir, external_threshold=1000)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "g_mha.onnx.data")))
        before = _initializers(os.path.join(self.dir, "g_mha.onnx"))
        out = share_external_data(self.dir, var, base)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "g_mha.onnx.data")))
        self.assertEqual(out["externalData"], base["externalData"])
        self.assertEqual(out["sha256"], sha256_file(os.path.join(self.dir, "g_mha.onnx")))
        verify_external(os.path.join(self.dir, "g_mha.onnx"), "g.onnx.data")
        after = _initializers(os.path.join(self.dir, "g_mha.onnx"))
        self.assertEqual(sorted(before), sorted(after))
        for k in before:
            np.testing.assert_array_equal(before[k], after[k])

    def test_other_bytes_are_not_shared(self):
        base = export_graph(_graph("g.onnx"), self.dir, external_threshold=1000)
        other = _graph("h.onnx")
        with torch.no_grad():
            other.module.a.weight.add_(1.0)
        var = export_graph(other, self.dir, external_threshold=1000)
        out = share_external_data(self.dir, var, base)
        self.assertEqual(out, var)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "h.onnx.data")))


class Fp16WeightsTest(unittest.TestCase):
    def test_fp16_weights_in_proto_and_external(self):
        with tempfile.TemporaryDirectory() as d:
            for sub, thr in (("in", 10 ** 9), ("ext", 1000)):
                out = os.path.join(d, sub)
                e = export_graph(_graph(), out, external_threshold=thr, weights="fp16")
                self.assertEqual("externalData" in e, sub == "ext")
                path = os.path.join(out, "small.onnx")
                onnx.checker.check_model(path)
                m = onnx.load(path)
                self.assertEqual(m.graph.input[0].type.tensor_type.elem_type, TensorProto.FLOAT)
                self.assertEqual(m.graph.output[0].type.tensor_type.elem_type, TensorProto.FLOAT)
                halves = [t for t in m.graph.initializer if t.data_type == TensorProto.FLOAT16]
                self.assertEqual(len(halves), 2)
                casts = [n for n in m.graph.node if n.op_type == "Cast"]
                self.assertEqual(sorted(n.input[0] for n in casts), sorted(t.name for t in halves))
                self.assertEqual(m.graph.node[0].op_type, "Cast")  # before every use
                for t in halves:
                    self.assertTrue(t.name.endswith("__fp16"))
                    self.assertEqual(numpy_helper.to_array(t).dtype, np.float16)
            ref = _initializers(os.path.join(d, "in", "small.onnx"))
            ext = _initializers(os.path.join(d, "ext", "small.onnx"))
            for k in ref:
                np.testing.assert_array_equal(ref[k], ext[k])
            # stored bytes are about half the fp32 export's
            export_graph(_graph(), os.path.join(d, "f32"), external_threshold=1000)
            self.assertLess(os.path.getsize(os.path.join(d, "ext", "small.onnx.data")),
                            0.6 * os.path.getsize(os.path.join(d, "f32", "small.onnx.data")))

    def test_values_beyond_fp16_are_clamped(self):
        g = _graph()
        with torch.no_grad():
            g.module.a.weight[0, 0] = 1e6
        with tempfile.TemporaryDirectory() as d:
            export_graph(g, d, weights="fp16")
            w = [v for k, v in _initializers(os.path.join(d, "small.onnx")).items() if v.dtype == np.float16]
            self.assertEqual(max(float(np.abs(v).max()) for v in w), 65504.0)
            with self.assertRaises(ValueError):
                export_graph(g, d, weights="int8")


class ConsolidationTest(unittest.TestCase):
    """torch 1.13 writes one file per initializer when the proto would pass 2 GiB; the writer
    folds them into one ``.data`` file. Simulated with onnx's own per-tensor external files."""

    def test_per_tensor_files_are_consolidated(self):
        with tempfile.TemporaryDirectory() as tmp:
            stage, out = os.path.join(tmp, "stage"), os.path.join(tmp, "out")
            os.makedirs(stage)
            os.makedirs(out)
            rng = np.random.default_rng(0)
            w1 = rng.standard_normal((8, 300)).astype(np.float32)
            w2 = rng.standard_normal((300, 3)).astype(np.float32)
            small = np.array([0.5], dtype=np.float32)
            graph = helper.make_graph(
                [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("MatMul", ["h", "w2"], ["z"]),
                 helper.make_node("Mul", ["z", "s"], ["y"])], "g",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
                 numpy_helper.from_array(small, "s")])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
            onnx.save_model(model, os.path.join(stage, "g.onnx"), save_as_external_data=True,
                            all_tensors_to_one_file=False, size_threshold=1024)
            self.assertEqual(sorted(os.listdir(stage)), ["g.onnx", "w1", "w2"])
            name = finalize_onnx(os.path.join(stage, "g.onnx"), out, "g.onnx", external_threshold=10 ** 9)
            self.assertEqual(name, "g.onnx.data")
            self.assertEqual(sorted(os.listdir(out)), ["g.onnx", "g.onnx.data"])
            verify_external(os.path.join(out, "g.onnx"), "g.onnx.data")
            shutil.rmtree(stage)  # the result must not depend on the staging files
            got = _initializers(os.path.join(out, "g.onnx"))
            np.testing.assert_array_equal(got["w1"], w1)
            np.testing.assert_array_equal(got["w2"], w2)
            np.testing.assert_array_equal(got["s"], small)
            onnx.checker.check_model(os.path.join(out, "g.onnx"))


    def test_external_constant_node_values_are_put_back_into_the_graph(self):
        # torch 1.13 (like onnx's saver) also externalises Constant nodes' value tensors when the proto
        # passes 2 GiB (seen on the full-size DiT: /model/adapter/blocks.0/norm1/Constant); only
        # initializers may be external in a bundle, and the loose file is in the staging folder
        with tempfile.TemporaryDirectory() as tmp:
            stage, out = os.path.join(tmp, "stage"), os.path.join(tmp, "out")
            os.makedirs(stage)
            os.makedirs(out)
            rng = np.random.default_rng(1)
            w = rng.standard_normal((8, 300)).astype(np.float32)
            c = rng.standard_normal((1, 300)).astype(np.float32)
            graph = helper.make_graph(
                [helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(c, "cv")),
                 helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Mul", ["h", "c"], ["y"])], "g",
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 300])],
                [numpy_helper.from_array(w, "w")])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
            onnx.save_model(model, os.path.join(stage, "g.onnx"), save_as_external_data=True,
                            all_tensors_to_one_file=False, size_threshold=1024)
            staged = onnx.load(os.path.join(stage, "g.onnx"), load_external_data=False)
            t = staged.graph.node[0].attribute[0].t  # onnx 1.12's saver keeps it inline: do as torch does
            with open(os.path.join(stage, "_c_attr__value"), "wb") as f:
                f.write(t.raw_data)
            t.ClearField("raw_data")
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", "_c_attr__value"), ("length", str(c.nbytes))):
                e = t.external_data.add()
                e.key, e.value = k, v
            onnx.save(staged, os.path.join(stage, "g.onnx"))
            name = finalize_onnx(os.path.join(stage, "g.onnx"), out, "g.onnx", external_threshold=10 ** 9)
            shutil.rmtree(stage)
            verify_external(os.path.join(out, "g.onnx"), name)
            onnx.checker.check_model(os.path.join(out, "g.onnx"))
            m = onnx.load(os.path.join(out, "g.onnx"))
            np.testing.assert_array_equal(numpy_helper.to_array(m.graph.node[0].attribute[0].t), c)
            np.testing.assert_array_equal(numpy_helper.to_array(m.graph.initializer[0]), w)


class OrtCasesTest(unittest.TestCase):
    """Writes an in-proto and an external-data graph plus torch's outputs as OrtCheck cases:
    tools/export/test runs them through ONNX Runtime Java (which must find the .data file)."""

    def test_write_cases_for_ort(self):
        d = out_dir("core")
        g = _graph("small_inproto.onnx")
        export_graph(g, d)
        g2 = _graph("small_external.onnx")
        export_graph(g2, d, external_threshold=1000)
        path = os.path.join(d, "cases.txt")
        if os.path.exists(path):
            os.remove(path)
        g3 = _graph("small_fp16.onnx")
        export_graph(g3, d, external_threshold=1000, weights="fp16")
        with torch.no_grad():  # the reference for the fp16-weights graph: fp32 math on rounded weights
            for p in g3.module.parameters():
                if p.numel() * 4 >= 1024:
                    p.copy_(p.half().float())
        for file, gr in (("small_inproto.onnx", g), ("small_external.onnx", g2), ("small_fp16.onnx", g3)):
            for n in (5, 11):
                x = torch.randn(1, n, 16, generator=torch.Generator().manual_seed(n))
                with torch.no_grad():
                    y = gr.module(x)
                write_cases(d, file, {"x": x}, {"y": y}, tag=f"{file[:-5]}_{n}")
                if gr is g3:  # the rounded weights are visible above OrtCheck's 1e-4 tolerance
                    with torch.no_grad():
                        self.assertGreater((y - g.module(x)).abs().max().item(), 1e-4 * max(1.0, y.abs().max().item()))
        self.assertTrue(os.path.exists(os.path.join(d, "small_external.onnx.data")))


if __name__ == "__main__":
    unittest.main()
