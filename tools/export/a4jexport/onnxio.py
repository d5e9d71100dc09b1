"""Writes one ``GraphExport`` as an ONNX graph of a bundle, with external data where needed.

``export_graph(g, out_dir)`` traces ``g.module`` with ``torch.onnx.export`` (opset 17) into a private
staging folder under ``out_dir``, then finalises it:

- Graphs whose initializers together exceed ``external_threshold`` bytes (default 1.5 GiB, below
  protobuf's 2 GiB limit) keep their weights in ONE external data file ``<file>.data`` next to the
  graph, the location being that plain file name (docs/BUNDLE-FORMAT.md "External data"). Tensors are
  appended one at a time, 64-byte aligned, so memory stays bounded by the largest initializer.
- PyTorch 1.13's exporter decides by itself to use external data when the proto would pass 2 GiB: it
  then writes one file per initializer (named after the initializer) next to the ``.onnx`` it writes.
  Those files land in the staging folder and are consolidated into ``<file>.data`` the same way, so a
  bundle never holds hundreds of loose weight files.
- Small initializers (< 1 KiB) stay inside the proto.
- ``weights="fp16"`` (torch cannot trace float16 on CPU): the float32 initializers of >= 1 KiB are
  stored as float16 followed by ``Cast(to=FLOAT)`` nodes; inputs, outputs and arithmetic stay
  float32, the files halve (``finalize_onnx``).
- ``onnx.checker`` runs on the written file; the data file is re-read and every initializer's location,
  offset and length are checked against it; sha256 and size are computed from the bytes on disk.

The returned manifest entry is ``{"file", "sha256"[, "externalData": [{"file", "sha256", "size"}]]}``
plus ``g.manifest``.
"""
import hashlib
import os
import shutil
import tempfile

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .progress import NULL

DEFAULT_EXTERNAL_THRESHOLD = int(1.5 * 2 ** 30)
PROTO_LIMIT = 2 ** 31 - 1
INLINE_MAX = 1024
ALIGN = 64
OPSET = 17
FP16_MAX = 65504.0
FP16_SUFFIX = "__fp16"


def sha256_file(path, chunk=8 * 2 ** 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _external_info(t):
    return {e.key: e.value for e in t.external_data}


def _is_external(t):
    return t.HasField("data_location") and t.data_location == TensorProto.EXTERNAL


def _tensor_chunks(t, src_dir, chunk=64 * 2 ** 20):
    """An initializer's raw little-endian bytes in chunks (multiples of 8 bytes). External tensors
    (torch's per-tensor files) are read piecewise, never held whole in memory."""
    if _is_external(t):
        info = _external_info(t)
        loc = info["location"]
        if os.path.isabs(loc) or ".." in loc.replace("\\", "/").split("/"):
            raise ValueError(f"initializer {t.name!r} names external file {loc!r} outside the export folder")
        path = os.path.join(src_dir, loc)
        off = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else os.path.getsize(path) - off
        with open(path, "rb") as f:
            f.seek(off)
            left = length
            while left:
                b = f.read(min(chunk, left))
                if not b:
                    raise ValueError(f"{path}: shorter than initializer {t.name!r} needs")
                left -= len(b)
                yield b
        return
    yield t.raw_data if t.HasField("raw_data") else numpy_helper.to_array(t).tobytes()


def _to_fp16(b, stats):
    a = np.frombuffer(b, dtype="<f4")
    big = np.abs(a) > FP16_MAX
    if big.any():
        stats["clamped"] += int(np.count_nonzero(big & np.isfinite(a)))
        a = np.clip(a, -FP16_MAX, FP16_MAX)
    return a.astype("<f2").tobytes()


def _initializer_size(t):
    if _is_external(t):
        info = _external_info(t)
        if "length" in info:
            return int(info["length"])
        return None
    if t.HasField("raw_data"):
        return len(t.raw_data)
    return numpy_helper.to_array(t).nbytes


def _clear_data(t):
    for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data",
                  "string_data"):
        t.ClearField(field)
    del t.external_data[:]


def finalize_onnx(src_path, out_dir, file, external_threshold=DEFAULT_EXTERNAL_THRESHOLD, progress=NULL,
                  weights="fp32"):
    """Turns the exporter's output ``src_path`` (maybe with per-tensor external files next to it)
    into ``out_dir/file`` (+ ``out_dir/file.data`` when external). Returns the external data file
    name or None.

    ``weights="fp16"``: every float32 initializer of at least 1 KiB is stored as float16 (values
    beyond +-65504 clamped) under the name ``<name>__fp16``, and a ``Cast(to=FLOAT)`` node at the
    start of the graph recreates ``<name>``: the graph's inputs, outputs and arithmetic stay float32,
    only the stored weights (the bundle's size) halve.
    """
    if weights not in ("fp32", "fp16"):
        raise ValueError(f"weights must be fp32 or fp16, not {weights!r}")
    src_dir = os.path.dirname(os.path.abspath(src_path))
    model = onnx.load(src_path, load_external_data=False)
    graph = model.graph
    inits = list(graph.initializer)  # references: changes apply to the model
    sizes = [_initializer_size(t) for t in inits]
    inputs = {i.name for i in graph.input}
    half = [weights == "fp16" and t.data_type == TensorProto.FLOAT and t.name not in inputs
            and (sizes[i] is None or sizes[i] >= INLINE_MAX) for i, t in enumerate(inits)]
    already = any(_is_external(t) for t in inits)
    total = sum((s // 2 if h else s) for s, h in zip(sizes, half) if s is not None)
    dst = os.path.join(out_dir, file)
    data_name = None
    stats = {"clamped": 0}

    def chunks(i, t):
        for b in _tensor_chunks(t, src_dir):
            yield _to_fp16(b, stats) if half[i] else b

    external = already or total > external_threshold
    if external:
        data_name = file + ".data"
        data_path = os.path.join(out_dir, data_name)
        offset = 0
        moved = 0
        with open(data_path, "wb") as out:
            for i, t in enumerate(inits):
                if not _is_external(t) and sizes[i] is not None and sizes[i] < INLINE_MAX:
                    continue
                pad = (-offset) % ALIGN
                if pad:
                    out.write(b"\0" * pad)
                    offset += pad
                length = 0
                for b in chunks(i, t):
                    out.write(b)
                    length += len(b)
                _clear_data(t)
                t.data_location = TensorProto.EXTERNAL
                for k, v in (("location", data_name), ("offset", str(offset)), ("length", str(length))):
                    e = t.external_data.add()
                    e.key, e.value = k, v
                offset += length
                moved += 1
                if moved % 50 == 0:
                    progress.tensors(moved, len(inits), offset)
        progress.tensors(moved, len(inits), offset)
    # torch 1.13's large-model path externalises Constant nodes' value tensors too (e.g. a LayerNorm's
    # constant unit weight of the DiT's audio adapter); the bundle format allows only initializers to
    # be external, and those files live in the staging folder: their bytes go back into the node.
    for node in graph.node:
        for a in node.attribute:
            for t in ([a.t] if a.HasField("t") else []) + list(a.tensors):
                if _is_external(t):
                    data = b"".join(_tensor_chunks(t, src_dir))
                    _clear_data(t)
                    t.ClearField("data_location")
                    t.raw_data = data
    casts = []
    for i, t in enumerate(inits):
        if not half[i]:
            continue
        if not external:
            data = b"".join(chunks(i, t))
            _clear_data(t)
            t.raw_data = data
        name = t.name
        t.name = name + FP16_SUFFIX
        t.data_type = TensorProto.FLOAT16
        casts.append(helper.make_node("Cast", [t.name], [name], name=name + "_cast", to=TensorProto.FLOAT))
    if casts:
        nodes = list(graph.node)
        del graph.node[:]
        graph.node.extend(casts + nodes)
        progress.info(f"{len(casts)} initializers stored as float16")
        if stats["clamped"]:
            progress.warn(f"{file}: {stats['clamped']} weights beyond the float16 range were clamped")
    serialized = model.SerializeToString()
    if len(serialized) > PROTO_LIMIT:
        raise ValueError(f"{file}: the graph proto is {len(serialized)} bytes even with external data "
                         "(large Constant nodes?); protobuf cannot hold more than 2 GiB")
    with open(dst, "wb") as f:
        f.write(serialized)
    del serialized, model
    return data_name


def verify_external(path, data_name):
    """Checks that every external initializer of ``path`` names ``data_name`` inside its size."""
    model = onnx.load(path, load_external_data=False)
    data_path = os.path.join(os.path.dirname(path), data_name) if data_name else None
    data_size = os.path.getsize(data_path) if data_path and os.path.isfile(data_path) else None
    for t in model.graph.initializer:
        if not _is_external(t):
            continue
        info = _external_info(t)
        if info.get("location") != data_name:
            raise ValueError(f"{path}: initializer {t.name!r} names {info.get('location')!r}, not {data_name!r}")
        off, length = int(info.get("offset", 0)), int(info["length"])
        if data_size is None:
            raise ValueError(f"{path}: external data file {data_name} is missing")
        if off < 0 or off + length > data_size:
            raise ValueError(f"{path}: initializer {t.name!r} [{off}, {off + length}) outside {data_name}"
                             f" ({data_size} bytes)")
    for node in model.graph.node:
        for a in node.attribute:
            if a.HasField("t") and _is_external(a.t):
                raise ValueError(f"{path}: Constant {node.name!r} has external data; only initializers may")


def export_graph(g, out_dir, external_threshold=DEFAULT_EXTERNAL_THRESHOLD, opset=OPSET, progress=NULL,
                 do_constant_folding=True, weights="fp32"):
    """Traces ``g`` into ``out_dir/g.file`` and returns its manifest entry (see module docstring)."""
    os.makedirs(out_dir, exist_ok=True)
    if os.path.basename(g.file) != g.file or g.file in ("", ".", ".."):
        raise ValueError(f"graph file name {g.file!r} must be a plain file name")
    progress.stage(g.key, f"tracing {type(g.module).__name__} -> {g.file}")
    staging = tempfile.mkdtemp(prefix=".export-", dir=out_dir)
    try:
        src = os.path.join(staging, g.file)
        module = g.module.eval()
        with torch.no_grad():
            torch.onnx.export(module, tuple(g.args), src, opset_version=opset,
                              input_names=list(g.input_names), output_names=list(g.output_names),
                              dynamic_axes=dict(g.dynamic_axes) or None,
                              do_constant_folding=do_constant_folding)
        loose = [n for n in os.listdir(staging) if n != g.file]
        if loose:
            progress.info(f"torch wrote {len(loose)} external tensor files; consolidating")
        for stale in (g.file, g.file + ".data"):
            p = os.path.join(out_dir, stale)
            if os.path.lexists(p):
                os.remove(p)
        data_name = finalize_onnx(src, out_dir, g.file, external_threshold, progress, weights)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    path = os.path.join(out_dir, g.file)
    onnx.checker.check_model(path)
    entry = {"file": g.file, "sha256": sha256_file(path)}
    if data_name:
        verify_external(path, data_name)
        dp = os.path.join(out_dir, data_name)
        entry["externalData"] = [{"file": data_name, "sha256": sha256_file(dp), "size": os.path.getsize(dp)}]
        progress.file(data_name, os.path.getsize(dp))
    progress.file(g.file, os.path.getsize(path))
    entry.update(g.manifest)
    return entry


def share_external_data(out_dir, entry, base, progress=NULL):
    """Points the external initializers of graph ``entry`` (a variant, e.g. ``dit_mha.onnx``) into the
    external data file of graph ``base`` (``dit.onnx.data``) and deletes the variant's own data file,
    so that the bundle stores the weights once (docs/BUNDLE-FORMAT.md "Graph variants").

    Every external initializer of the variant must exist in ``base`` under the same name with the same
    type, dims and bytes (compared chunk by chunk from the two files); otherwise nothing changes and
    ``entry`` is returned as it was. Returns the updated manifest entry (new sha256, ``externalData``
    = base's list).
    """
    if not entry.get("externalData") or not base.get("externalData"):
        return entry
    base_data = base["externalData"][0]["file"]
    own_data = entry["externalData"][0]["file"]
    if own_data == base_data:
        return entry
    path = os.path.join(out_dir, entry["file"])
    model = onnx.load(path, load_external_data=False)
    bm = onnx.load(os.path.join(out_dir, base["file"]), load_external_data=False)
    at = {t.name: t for t in bm.graph.initializer if _is_external(t)}
    own_path = os.path.join(out_dir, own_data)
    base_path = os.path.join(out_dir, base_data)
    moves = []
    for t in model.graph.initializer:
        if not _is_external(t):
            continue
        b = at.get(t.name)
        if b is None or b.data_type != t.data_type or list(b.dims) != list(t.dims):
            progress.warn(f"{entry['file']}: initializer {t.name!r} differs from {base['file']}; keeping {own_data}")
            return entry
        mine, theirs = _external_info(t), _external_info(b)
        if int(mine["length"]) != int(theirs["length"]) or not _same_bytes(
                own_path, int(mine.get("offset", 0)), base_path, int(theirs.get("offset", 0)), int(mine["length"])):
            progress.warn(f"{entry['file']}: initializer {t.name!r} has other bytes than in {base['file']};"
                          f" keeping {own_data}")
            return entry
        moves.append((t, theirs))
    for t, theirs in moves:
        del t.external_data[:]
        for k in ("location", "offset", "length"):
            e = t.external_data.add()
            e.key, e.value = k, (base_data if k == "location" else str(theirs.get(k, 0)))
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    del model, bm
    verify_external(path, base_data)
    onnx.checker.check_model(path)
    os.remove(own_path)
    out = dict(entry)
    out["sha256"] = sha256_file(path)
    out["externalData"] = [dict(x) for x in base["externalData"]]
    progress.info(f"{entry['file']} shares {base_data} ({len(moves)} initializers); {own_data} removed")
    return out


def _same_bytes(pa, oa, pb, ob, length, chunk=64 * 2 ** 20):
    with open(pa, "rb") as fa, open(pb, "rb") as fb:
        fa.seek(oa)
        fb.seek(ob)
        left = length
        while left:
            n = min(chunk, left)
            a, b = fa.read(n), fb.read(n)
            if len(a) != n or a != b:
                return False
            left -= n
    return True
