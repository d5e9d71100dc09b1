"""Lazy checkpoint readers: a ``Mapping[str, torch.Tensor]`` over a checkpoint file that reads one
tensor's bytes only when that tensor is asked for.

Formats (``open_checkpoint`` picks one from the file's name and first bytes):

- ``.safetensors``: the 8-byte little-endian header length, the JSON header, then the raw data;
  parsed here (the ``safetensors`` package is not packaged for Debian).
- PyTorch zip checkpoints (``.pth``, ``.pt``, ``.bin`` written by ``torch.save`` since 1.6): the
  pickle is read with an unpickler whose ``persistent_load`` and ``_rebuild_tensor_v2`` /
  ``_rebuild_parameter`` produce lazy references (storage entry, offset, size, stride); the storage
  bytes a tensor spans are read from the zip entry when the tensor is asked for. Unknown classes in
  the pickle are never imported: they become inert placeholders (a checkpoint is data, not code).
  ``{"state_dict": ...}`` / ``{"module": ...}`` / ``{"model": ...}`` wrappers are unwrapped.
- sharded checkpoints: ``*.safetensors.index.json`` / ``pytorch_model.bin.index.json``
  (``weight_map``: key -> shard file next to the index).
- legacy (pre-zip) ``torch.save`` files: ``torch.load`` with a warning (the whole file is read).

``ckpt[key]`` returns floating-point tensors as float32 (``ckpt.get_tensor(key, dtype=None)``
keeps the stored type); integer and bool tensors keep their type. ``shape(key)`` and
``dtype(key)`` never read tensor data. ``bytes_read`` counts the tensor bytes read so far.
"""
import builtins
import collections
import io
import json
import os
import pickle
import struct
import sys
import warnings
import zipfile
from collections.abc import Mapping

import numpy as np
import torch

__all__ = ["open_checkpoint", "CheckpointKeyError", "SafetensorsCheckpoint", "TorchZipCheckpoint",
           "ShardedCheckpoint", "EagerCheckpoint", "write_safetensors"]


class CheckpointKeyError(KeyError):
    """A key the exporter needs is not in the checkpoint; the message names the file and the key."""

    def __init__(self, key, path, hint=None):
        self.key, self.path = key, path
        msg = f"tensor {key!r} not found in checkpoint {path}"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)

    def __str__(self):
        return self.args[0]


_ST_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool,
}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}

def _element_size(dtype):
    return torch.empty((), dtype=dtype).element_size()


def _from_bytes(buf, dtype):
    """A tensor of ``dtype`` over little-endian bytes. A ``bytearray`` is used in place (no copy:
    the tensor keeps it alive), so reading a tensor costs its own size once."""
    if len(buf) == 0:
        return torch.empty(0, dtype=dtype)
    if not isinstance(buf, bytearray):
        buf = bytearray(buf)
    return torch.frombuffer(buf, dtype=dtype)


def _read_exact(f, n, what):
    buf = bytearray(n)
    got = f.readinto(buf) if n else 0
    if got != n:
        raise ValueError(f"{what}: file ended after {got} of {n} bytes")
    return buf


def _contiguous_strides(size):
    strides, acc = [], 1
    for n in reversed(size):
        strides.append(acc)
        acc *= n
    return tuple(reversed(strides))


def _finish(t, dtype):
    """Converts floating tensors to ``dtype`` (None keeps the stored type)."""
    if dtype is not None and t.is_floating_point():
        t = t.to(dtype)
    return t


class _LazyCheckpoint(Mapping):
    """Common Mapping behaviour; subclasses provide ``_keys``, ``_shape``, ``_dtype``, ``_load``."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.bytes_read = 0

    # Mapping
    def __getitem__(self, key):
        return self.get_tensor(key, torch.float32)

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def __contains__(self, key):
        return key in self._index()

    def keys(self):
        return list(self._index().keys())

    def get_tensor(self, key, dtype=torch.float32):
        """Reads one tensor; floating tensors are converted to ``dtype`` (None keeps the stored type)."""
        self._check(key)
        return _finish(self._load(key), dtype)

    def shape(self, key):
        """The tensor's shape, without reading its data."""
        self._check(key)
        return tuple(self._shape(key))

    def dtype(self, key):
        """The stored dtype, without reading the data."""
        self._check(key)
        return self._dtype(key)

    def _check(self, key):
        if key not in self._index():
            raise CheckpointKeyError(key, self.path, self._hint(key))

    def _hint(self, key):
        keys = self.keys()
        for k in keys:
            if k.endswith("." + key) or key.endswith("." + k):
                return f"the checkpoint has {k!r}"
        return f"{len(keys)} tensors in the file"

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"{type(self).__name__}({self.path!r}, {len(self)} tensors)"


# ---------------------------------------------------------------------------------------------
# safetensors

def read_safetensors_header(path):
    """(header dict without ``__metadata__``, metadata, offset of the data section)."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", head)
        size = os.fstat(f.fileno()).st_size
        if n > size - 8 or n > 100 * 2 ** 20:
            raise ValueError(f"{path}: not a safetensors file (header length {n} for a {size}-byte file)")
        try:
            header = json.loads(f.read(n).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{path}: not a safetensors file (header is not JSON: {e})") from None
    meta = header.pop("__metadata__", None)
    data_start = 8 + n
    for k, e in header.items():
        if e.get("dtype") not in _ST_DTYPES:
            raise ValueError(f"{path}: tensor {k!r} has unsupported dtype {e.get('dtype')!r}")
        b, end = e["data_offsets"]
        want = int(np.prod(e["shape"], dtype=np.int64)) * _element_size(_ST_DTYPES[e["dtype"]])
        if end - b != want or b < 0 or data_start + end > size:
            raise ValueError(f"{path}: tensor {k!r} has inconsistent data_offsets {e['data_offsets']}"
                             f" for shape {e['shape']} ({e['dtype']}) in a {size}-byte file")
    return header, meta, data_start


class SafetensorsCheckpoint(_LazyCheckpoint):
    """A ``.safetensors`` file; each tensor is read with one seek + read of its own bytes."""

    def __init__(self, path):
        super().__init__(path)
        self.header, self.metadata, self._data_start = read_safetensors_header(self.path)
        self._f = open(self.path, "rb")

    def _index(self):
        return self.header

    def _shape(self, key):
        return self.header[key]["shape"]

    def _dtype(self, key):
        return _ST_DTYPES[self.header[key]["dtype"]]

    def _load(self, key):
        e = self.header[key]
        b, end = e["data_offsets"]
        self._f.seek(self._data_start + b)
        buf = _read_exact(self._f, end - b, f"{self.path}: tensor {key!r}")
        self.bytes_read += len(buf)
        return _from_bytes(buf, self._dtype(key)).reshape(e["shape"])

    def close(self):
        self._f.close()


def write_safetensors(path, tensors, metadata=None):
    """Writes ``{name: tensor}`` as safetensors (tensors stored in their own dtype, in key order)."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = torch.as_tensor(t).detach().contiguous().cpu()
        if t.dtype not in _ST_NAMES:
            raise ValueError(f"write_safetensors: {name!r} has unsupported dtype {t.dtype}")
        raw = (t.view(torch.int16) if t.dtype is torch.bfloat16 else t).numpy()
        raw = raw.astype(raw.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for raw in blobs:
            f.write(raw)


# ---------------------------------------------------------------------------------------------
# torch zip checkpoints

_STORAGE_DTYPES = {
    "DoubleStorage": torch.float64, "FloatStorage": torch.float32, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


class _StorageType:
    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype


class _StorageRef:
    """One storage of a zip checkpoint: the zip entry ``data/<key>`` holding its bytes."""

    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class LazyTensorRef:
    """A tensor of a zip checkpoint not read yet: storage, element offset, size and stride."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset = storage, offset
        self.size, self.stride = tuple(size), tuple(stride)

    @property
    def dtype(self):
        return self.storage.dtype

    def span(self):
        """(first element, number of elements) of the storage this tensor touches."""
        if any(s == 0 for s in self.size):
            return self.offset, 0
        last = sum((n - 1) * st for n, st in zip(self.size, self.stride))
        return self.offset, last + 1


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    return LazyTensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *state):
    return data


def _rebuild_from_type_v2(func, new_type, args, state):
    """Tensor subclasses: the plain tensor (the subclass is never imported)."""
    return func(*args)


class _Placeholder:
    """Stands for any class of a pickle that is not a tensor or a plain container: never imported."""
    qualname = "?"

    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state

    def __reduce__(self):  # pragma: no cover - placeholders are never pickled again
        raise TypeError(f"placeholder for {self.qualname}")

    def __repr__(self):
        return f"<not loaded: {self.qualname}>"


def _placeholder(module, name):
    return type(name, (_Placeholder,), {"qualname": f"{module}.{name}"})


def _placeholder_call(*args, **kwargs):
    return _Placeholder(*args)


class _LazyUnpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f, encoding="utf-8")
        self._storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name in ("_rebuild_parameter", "_rebuild_parameter_with_state"):
            return _rebuild_parameter
        if module in ("torch._utils", "torch._tensor") and name == "_rebuild_from_type_v2":
            return _rebuild_from_type_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name, _STORAGE_DTYPES[name])
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch" and name == "Size":
            return tuple
        if module == "builtins" and name in ("set", "frozenset", "slice", "complex"):
            return getattr(builtins, name)
        if module == "torch._utils" or module.startswith("numpy") or module.startswith("_codecs"):
            return _placeholder_call
        return _placeholder(module, name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] in ("storage", b"storage")):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r}")
        _, stype, key, _location, numel = pid[:5]
        if isinstance(stype, _StorageType):
            dtype = stype.dtype
        else:
            dtype = torch.uint8  # UntypedStorage: bytes
        key = key.decode() if isinstance(key, bytes) else str(key)
        ref = self._storages.get(key)
        if ref is None:
            ref = self._storages[key] = _StorageRef(key, dtype, numel)
        return ref


def _collect_tensors(obj, path):
    """The flat state dict of an unpickled checkpoint, unwrapping ``state_dict``/``module``/``model``."""
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: the checkpoint holds a {type(obj).__name__}, not a state dict")
    tensors = {k: v for k, v in obj.items() if isinstance(v, LazyTensorRef)}
    if tensors:
        return tensors
    for wrapper in ("state_dict", "module", "model", "model_state_dict", "ema"):
        inner = obj.get(wrapper)
        if isinstance(inner, dict):
            try:
                return _collect_tensors(inner, path)
            except ValueError:
                continue
    raise ValueError(f"{path}: no tensors at the top level nor under 'state_dict'/'module'/'model'"
                     f" (keys: {sorted(map(str, obj.keys()))[:10]})")


def _plain(v, depth=0):
    if isinstance(v, (bool, int, float, str)) or v is None:
        return True
    if depth < 4 and isinstance(v, (list, tuple)):
        return all(_plain(x, depth + 1) for x in v)
    if depth < 4 and isinstance(v, dict):
        return all(isinstance(k, str) and _plain(x, depth + 1) for k, x in v.items())
    return False


class TorchZipCheckpoint(_LazyCheckpoint):
    """A ``torch.save`` zip file read lazily: only the pickle is read when opened."""

    def __init__(self, path):
        super().__init__(path)
        self._zip = zipfile.ZipFile(self.path)
        names = self._zip.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise ValueError(f"{self.path}: a zip file without data.pkl is not a torch checkpoint")
        self._prefix = pkl[0][: -len("data.pkl")]
        bo = self._prefix + "byteorder"
        if bo in names and self._zip.read(bo).strip() not in (b"little", b""):
            raise ValueError(f"{self.path}: big-endian checkpoints are not supported")
        self._storages = {}
        with self._zip.open(pkl[0]) as f:
            top = _LazyUnpickler(io.BytesIO(f.read()), self._storages).load()
        self._tensors = _collect_tensors(top, self.path)
        # plain top-level values next to the tensors (e.g. Whisper's {"dims": {...}}): ints, floats,
        # strings, and dicts/lists of them
        self.extra = {k: v for k, v in top.items() if isinstance(k, str) and _plain(v)} if isinstance(top, dict) else {}
        self._f = open(self.path, "rb")
        self._data_offsets = {}

    def _index(self):
        return self._tensors

    def _shape(self, key):
        return self._tensors[key].size

    def _dtype(self, key):
        return self._tensors[key].dtype

    def _entry_offset(self, name):
        """Absolute file offset of a STORED entry's data (None if the entry is compressed)."""
        if name not in self._data_offsets:
            info = self._zip.getinfo(name)
            off = None
            if info.compress_type == zipfile.ZIP_STORED:
                self._f.seek(info.header_offset)
                local = self._f.read(30)
                if local[:4] != b"PK\x03\x04":
                    raise ValueError(f"{self.path}: bad local header for {name}")
                n, m = struct.unpack("<HH", local[26:30])
                off = info.header_offset + 30 + n + m
            self._data_offsets[name] = (off, info.file_size)
        return self._data_offsets[name]

    def _read_range(self, name, start, length):
        off, size = self._entry_offset(name)
        if start + length > size:
            raise ValueError(f"{self.path}: {name} holds {size} bytes, a tensor needs {start + length}")
        if off is not None:
            self._f.seek(off + start)
            buf = _read_exact(self._f, length, f"{self.path}: {name}")
        else:
            with self._zip.open(name) as f:
                f.seek(start)
                buf = _read_exact(f, length, f"{self.path}: {name}")
        self.bytes_read += len(buf)
        return buf

    def _load(self, key):
        ref = self._tensors[key]
        st = ref.storage
        es = _element_size(st.dtype)
        first, count = ref.span()
        buf = self._read_range(self._prefix + "data/" + st.key, first * es, count * es)
        flat = _from_bytes(buf, st.dtype)
        if count == 0:
            return torch.empty(ref.size, dtype=st.dtype)
        numel = 1
        for n in ref.size:
            numel *= n
        if numel == count and all(n == 1 or st_ == cs for n, st_, cs in
                                  zip(ref.size, ref.stride, _contiguous_strides(ref.size))):
            return flat.reshape(ref.size)  # the common case: no copy
        return torch.as_strided(flat, ref.size, ref.stride, 0).clone(memory_format=torch.contiguous_format)

    def close(self):
        self._f.close()
        self._zip.close()


# ---------------------------------------------------------------------------------------------
# sharded and eager

class ShardedCheckpoint(_LazyCheckpoint):
    """``*.index.json`` with a ``weight_map`` of key -> shard file; shards are opened when first used."""

    def __init__(self, path):
        super().__init__(path)
        with open(self.path, encoding="utf-8") as f:
            idx = json.load(f)
        if not isinstance(idx.get("weight_map"), dict):
            raise ValueError(f"{self.path}: an index file needs a 'weight_map' object")
        self._map = idx["weight_map"]
        self._dir = os.path.dirname(self.path)
        self._shards = {}

    def _shard(self, key):
        name = self._map[key]
        if os.path.isabs(name) or ".." in name.replace("\\", "/").split("/"):
            raise ValueError(f"{self.path}: shard name {name!r} leaves the checkpoint folder")
        if name not in self._shards:
            p = os.path.join(self._dir, name)
            if not os.path.isfile(p):
                raise FileNotFoundError(f"{self.path} names shard {name} for {key!r}, but {p} does not exist")
            self._shards[name] = open_checkpoint(p)
        return self._shards[name]

    def _index(self):
        return self._map

    def _shape(self, key):
        return self._shard(key).shape(key)

    def _dtype(self, key):
        return self._shard(key).dtype(key)

    def _load(self, key):
        shard = self._shard(key)
        before = shard.bytes_read
        t = shard.get_tensor(key, None)
        self.bytes_read += shard.bytes_read - before
        return t

    def close(self):
        for s in self._shards.values():
            s.close()


class EagerCheckpoint(_LazyCheckpoint):
    """A state dict already in memory (legacy torch files), with the same interface."""

    def __init__(self, path, tensors):
        super().__init__(path)
        self._tensors = tensors

    def _index(self):
        return self._tensors

    def _shape(self, key):
        return self._tensors[key].shape

    def _dtype(self, key):
        return self._tensors[key].dtype

    def _load(self, key):
        return self._tensors[key]


def _eager_tensors(obj, path):
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: the checkpoint holds a {type(obj).__name__}, not a state dict")
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if tensors:
        return tensors
    for wrapper in ("state_dict", "module", "model", "model_state_dict", "ema"):
        if isinstance(obj.get(wrapper), (dict, torch.nn.Module)):
            try:
                return _eager_tensors(obj[wrapper], path)
            except ValueError:
                continue
    raise ValueError(f"{path}: no tensors at the top level nor under 'state_dict'/'module'/'model'")


class Renamed(Mapping):
    """A state dict (Mapping) seen under other key names: ``names`` maps each new name to its key in ``sd``."""

    def __init__(self, sd, names):
        self.sd = sd
        self.names = names

    def __getitem__(self, key):
        return self.sd[self.names[key]]

    def __iter__(self):
        return iter(self.names)

    def __len__(self):
        return len(self.names)

    def __contains__(self, key):
        return key in self.names

    def keys(self):
        return list(self.names)


def open_checkpoint(path):
    """Opens a checkpoint file lazily; the format is chosen from the name and the first bytes."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if path.endswith(".index.json"):
        return ShardedCheckpoint(path)
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic[:4] == b"PK\x03\x04":
        return TorchZipCheckpoint(path)
    if path.endswith(".safetensors"):
        return SafetensorsCheckpoint(path)
    if len(magic) == 8 and magic[0] != 0x80:
        # no pickle protocol marker: try safetensors whatever the name
        try:
            return SafetensorsCheckpoint(path)
        except ValueError:
            pass
    warnings.warn(f"{path} is a legacy (non-zip) torch file: it is loaded whole with torch.load", stacklevel=2)
    print(f"warning: {path} is a legacy (non-zip) torch file: loading it whole", file=sys.stderr)
    obj = torch.load(path, map_location="cpu")
    return EagerCheckpoint(path, _eager_tensors(obj, path))
