"""Exports graphs whose weights never sit in memory together: the weights-as-inputs trace and a pass
that binds those inputs to initializers streamed from the checkpoint into ONE shared external data
file (issue 19: the 15.9B LongCat DiT, 63.4 GB in fp32, on a machine with 24 GB).

1. :func:`trace`: the module (built with shapes only, :func:`dit.build_shapes`) is traced through
   :class:`dit.WeightsAsInputs` with zero-stride example weights (``torch.zeros(1).expand(shape)``):
   every weight is a named graph input, the traced graph holds no weight bytes and the example
   weights no memory. (``export_params=False`` would rename inputs and drop parameters.)
2. :func:`bind`: each weight input a node consumes is removed from the graph inputs and becomes an
   initializer of the same name whose bytes live in the shared data file; a weight is read from the
   checkpoint (through whatever Mapping the caller gives: lazy safetensors, LoRA merged on access),
   converted and appended once, on first use, 64-byte aligned; later graphs (the other segment
   layouts and person counts) point at the same offsets. Peak memory: the traced graph plus the
   largest single tensor. ``weights="fp16"`` stores float16 under ``<name>__fp16`` plus a
   ``Cast(to=FLOAT)`` node recreating ``<name>``, as onnxio does: inputs, outputs and arithmetic stay
   float32. Weights no node reads (the reference's first-frame audio projection) are dropped.
"""
import hashlib
import os

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

from .. import onnxio
from . import dit as dit_mod

ALIGN = 64


class SharedData:
    """The external data file shared by several graphs: each tensor written once, on first use."""

    def __init__(self, path, weights="fp32", index=None):
        if weights not in ("fp32", "fp16"):
            raise ValueError(f"weights must be fp32 or fp16, not {weights!r}")
        self.path = path
        self.weights = weights
        self.index = dict(index or {})
        self.clamped = 0
        if index:  # resumed: later tensors are appended after what is there
            self._f = open(path, "r+b")
            self._f.seek(0, os.SEEK_END)
            self._offset = self._f.tell()
        else:
            self._f = open(path, "wb")
            self._offset = 0

    @classmethod
    def resume(cls, path, graphs, weights="fp32"):
        """The data file ``path`` that the (already written) graph files ``graphs`` point into, opened
        to add further graphs: the tensors they reference are not written again."""
        index = {}
        want = TensorProto.FLOAT16 if weights == "fp16" else TensorProto.FLOAT
        for g in graphs:
            for t in onnx.load(g, load_external_data=False).graph.initializer:
                ext = {e.key: e.value for e in t.external_data}
                if t.data_location != TensorProto.EXTERNAL or ext.get("location") != os.path.basename(path):
                    continue
                if t.data_type != want:
                    raise ValueError(f"{g}: {t.name} is stored as data type {t.data_type}, this export writes {weights}")
                name = t.name[:-len(onnxio.FP16_SUFFIX)] if t.name.endswith(onnxio.FP16_SUFFIX) else t.name
                index[name] = (int(ext["offset"]), int(ext["length"]), t.data_type, list(t.dims))
        if not index:
            raise ValueError(f"no graph among {graphs} points into {path}")
        return cls(path, weights, index)

    def put(self, name, load):
        """(offset, length, data_type, dims) of tensor ``name``; ``load()`` returns it (float32)
        the first time."""
        if name in self.index:
            return self.index[name]
        t = load().detach().to(torch.float32).contiguous()
        a = t.numpy()
        if self.weights == "fp16":
            big = np.abs(a) > onnxio.FP16_MAX
            if big.any():
                self.clamped += int(np.count_nonzero(big & np.isfinite(a)))
                a = np.clip(a, -onnxio.FP16_MAX, onnxio.FP16_MAX)
            b = a.astype("<f2").tobytes()
            dtype = TensorProto.FLOAT16
        else:
            b = a.astype("<f4").tobytes()
            dtype = TensorProto.FLOAT
        pad = (-self._offset) % ALIGN
        if pad:
            self._f.write(b"\0" * pad)
            self._offset += pad
        self._f.write(b)
        entry = (self._offset, len(b), dtype, list(t.shape))
        self._offset += len(b)
        self.index[name] = entry
        return entry

    def close(self):
        if not self._f.closed:
            self._f.close()

    def manifest_entry(self):
        """``{"file", "sha256", "size"}`` of the written file (closes it)."""
        self.close()
        return {"file": os.path.basename(self.path), "sha256": onnxio.sha256_file(self.path),
                "size": os.path.getsize(self.path)}


class _KeepZeroStride:
    """While active, ``Tensor.clone`` returns zero-stride tensors themselves: torch 1.13's tracer
    (``ONNXTracedModule.forward``) keeps ``x.clone(memory_format=torch.preserve_format)`` of every
    input, which would materialise each expanded example weight (63 GB at full size). Only tensors
    whose every stride is 0 are affected; the model never clones its weights."""

    def __enter__(self):
        self.orig = torch.Tensor.clone
        orig = self.orig

        def clone(t, *args, **kwargs):
            if t.dim() > 0 and all(st == 0 for st in t.stride()):
                return t
            return orig(t, *args, **kwargs)

        torch.Tensor.clone = clone
        return self

    def __exit__(self, *exc):
        torch.Tensor.clone = self.orig


def trace(g, keys, shapes, path, opset=onnxio.OPSET):
    """Traces ``g`` (a GraphExport of a shapes-only model) with the weights ``keys`` as trailing
    inputs into ``path``."""
    wrapper = dit_mod.WeightsAsInputs(g.module, len(g.args), keys)
    example = [torch.zeros(1).expand(tuple(shapes[k])) for k in keys]
    with torch.no_grad(), _KeepZeroStride():
        torch.onnx.export(wrapper, tuple(g.args) + tuple(example), path, input_names=list(g.input_names) + list(keys),
                          output_names=g.output_names, dynamic_axes=g.dynamic_axes, opset_version=opset,
                          do_constant_folding=True)


def bind(src, dst, data, tensors, keys):
    """Writes ``dst``: graph ``src`` with its weight inputs (``keys``) turned into initializers in
    ``data`` (a :class:`SharedData` next to ``dst``), read from ``tensors`` (Mapping key -> tensor)."""
    model = onnx.load(src)
    graph = model.graph
    keyset = set(keys)
    used = {i for n in graph.node for i in n.input}
    kept = [i for i in graph.input if i.name not in keyset]
    weights = [i.name for i in graph.input if i.name in keyset]
    del graph.input[:]
    graph.input.extend(kept)
    casts = []
    location = os.path.basename(data.path)
    for name in weights:
        if name not in used:
            continue
        off, length, dtype, dims = data.put(name, lambda n=name: tensors[n])
        t = TensorProto()
        t.name = name + onnxio.FP16_SUFFIX if dtype == TensorProto.FLOAT16 else name
        t.data_type = dtype
        t.dims.extend(dims)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", str(off)), ("length", str(length))):
            e = t.external_data.add()
            e.key, e.value = k, v
        graph.initializer.append(t)
        if dtype == TensorProto.FLOAT16:
            casts.append(helper.make_node("Cast", [t.name], [name], to=TensorProto.FLOAT, name=name + "/cast"))
    if casts:
        nodes = casts + list(graph.node)
        del graph.node[:]
        graph.node.extend(nodes)
    data._f.flush()
    onnx.save(model, dst)
    onnx.checker.check_model(dst)


def export_dit(model_shapes, config, tensors, out_dir, persons=(1, 2, 3), weights="fp32", segment_latents=24,
               context_latents=4, ref_index=10, mask_range=3, data_file="dit.onnx.data", progress=None,
               resume_from=()):
    """The six (or fewer) DiT graphs of a bundle from ``tensors`` (a Mapping, read one tensor at a
    time) with one shared data file. Returns ``({key: manifest entry}, data entry, clamped)``.
    ``resume_from``: graph files already written into ``out_dir`` against its data file (an export
    stopped part-way, or graphs for more persons added later); their tensors are reused, not rewritten,
    and the entries returned are those of the graphs written now."""
    model = dit_mod.build_shapes(model_shapes, config)
    model.context_latents = context_latents
    model.ref_index, model.mask_range = ref_index, mask_range
    keys = model.weight_keys()
    path = os.path.join(out_dir, data_file)
    data = (SharedData.resume(path, [os.path.join(out_dir, g) for g in resume_from], weights) if resume_from
            else SharedData(path, weights))
    staging = os.path.join(out_dir, ".staging-dit")
    os.makedirs(staging, exist_ok=True)
    entries = {}
    try:
        for g in dit_mod.graphs(model, persons=persons, segment_latents=segment_latents, lh=4, lw=4):
            src = os.path.join(staging, g.file)
            trace(g, keys, model_shapes, src)
            dst = os.path.join(out_dir, g.file)
            bind(src, dst, data, tensors, keys)
            os.remove(src)
            entries[g.key] = {"file": g.file, "sha256": onnxio.sha256_file(dst)}
            if progress:
                progress(g.key)
    finally:
        data.close()
        for f in os.listdir(staging):
            os.remove(os.path.join(staging, f))
        os.rmdir(staging)
    shared = data.manifest_entry()
    for e in entries.values():
        e["externalData"] = [dict(shared)]
    return entries, shared, data.clamped
