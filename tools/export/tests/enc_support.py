"""Shared helpers of test_clip.py and test_umt5.py: fixture access, graph export, key-read recording."""
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tools/export, for a4jexport

FIXTURES = os.path.join(HERE, "fixtures", "enc")
_OUT = None


def fixture(name):
    return os.path.join(FIXTURES, name)


def cases():
    """{file: [(kind, name, tensor), ...]} for every case line in cases.txt, in order."""
    return _read_cases(fixture("cases.txt"))


def _read_cases(path):
    out = []
    with open(path) as f:
        lines = f.readlines()
    for line in lines:
        p = line.split()
        if not p:
            continue
        if p[0] == "case":
            out.append((p[1], []))
        else:
            out[-1][1].append((p[0], p[1], load_bin(p[4], p[2], p[3])))
    return out


def preprocess_case():
    """{name: tensor} of preprocess.txt: the reference's CLIP preprocessing, image -> pixel_values."""
    return {name: t for _, name, t in _read_cases_flat(fixture("preprocess.txt"))}


def _read_cases_flat(path):
    with open(path) as f:
        lines = [l.split() for l in f]
    return [(p[0], p[1], load_bin(p[4], p[2], p[3])) for p in lines if p]


def load_bin(file, dtype, dims):
    shape = [int(d) for d in dims.split(",")]
    arr = np.fromfile(fixture(file), dtype="<i8" if dtype == "int64" else "<f4").reshape(shape)
    return torch.from_numpy(arr.copy())


def out_dir():
    """$A4J_EXPORT_OUT/enc (created), else one temp dir for the test run."""
    global _OUT
    if _OUT is None:
        base = os.environ.get("A4J_EXPORT_OUT")
        if base:
            _OUT = os.path.join(base, "enc")
            os.makedirs(_OUT, exist_ok=True)
        else:
            _OUT = tempfile.mkdtemp(prefix="a4j-enc-")
    return _OUT


def export(g, directory):
    """Writes one GraphExport with the core writer when present, else plain torch.onnx.export."""
    try:
        from a4jexport import onnxio
    except ImportError:
        onnxio = None
    if onnxio is not None and hasattr(onnxio, "export_graph"):
        onnxio.export_graph(g, directory)
    else:
        with torch.no_grad():
            torch.onnx.export(g.module, tuple(g.args), os.path.join(directory, g.file),
                              input_names=g.input_names, output_names=g.output_names,
                              dynamic_axes=g.dynamic_axes or None, opset_version=17, do_constant_folding=True)
    return os.path.join(directory, g.file)


def rel_err(got, ref):
    return float((got - ref).abs().max()) / max(1.0, float(ref.abs().max()))


class Recording(dict):
    """A dict that records which keys were read (as the lazy checkpoint Mapping would be)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.reads = []

    def __getitem__(self, k):
        self.reads.append(k)
        return super().__getitem__(k)


def assert_no_folded_copies(test, proto, module):
    """Every float initializer is one of the module's own tensors (no folded transposed weight copies)."""
    import onnx
    own = sum(t.numel() * t.element_size() for t in list(module.parameters()) + list(module.buffers()))
    init = sum(int(np.prod(t.dims)) * 4 for t in proto.graph.initializer if t.data_type == onnx.TensorProto.FLOAT)
    test.assertLessEqual(init, own, "the graph holds more float weights than the module")
    test.assertEqual([t.name for t in proto.graph.initializer if t.name.startswith("onnx::")], [])
