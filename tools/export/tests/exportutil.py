"""Helpers shared by the exporter tests: where graphs go, and OrtCheck case files."""
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

FIXTURES = os.path.join(HERE, "fixtures")
_TEMP = []


def out_dir(part):
    """``$A4J_EXPORT_OUT/<part>`` (tools/export/test runs OrtCheck there), else a temp dir."""
    root = os.environ.get("A4J_EXPORT_OUT")
    if not root:
        t = tempfile.TemporaryDirectory(prefix="a4jexport-")
        _TEMP.append(t)
        root = t.name
    d = os.path.join(root, part)
    os.makedirs(d, exist_ok=True)
    return d


def write_cases(case_dir, graph_file, inputs, outputs, tag="c", append=True):
    """Appends one OrtCheck case (``case GRAPH`` + ``in|out NAME DTYPE SHAPE FILE`` lines)."""
    os.makedirs(case_dir, exist_ok=True)
    lines = [f"case {graph_file}"]
    for kind, tensors in (("in", inputs), ("out", outputs)):
        for name, t in tensors.items():
            a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
            dtype = "int64" if a.dtype.kind in "iu" else "float32"
            a = np.ascontiguousarray(a, dtype="<i8" if dtype == "int64" else "<f4")
            fname = f"{tag}_{kind}_{name}.bin"
            with open(os.path.join(case_dir, fname), "wb") as f:
                f.write(a.tobytes())
            lines.append(f"{kind} {name} {dtype} {','.join(str(d) for d in a.shape)} {fname}")
    with open(os.path.join(case_dir, "cases.txt"), "a" if append else "w") as f:
        f.write("\n".join(lines) + "\n")
