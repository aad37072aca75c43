"""tg.save / tg.load: checkpoints of tensors, state dicts and optimizer states, in a safe format.

The format holds data, never code (no pickle): a ZIP archive (entries stored uncompressed, each
with its CRC-32) containing

    tritongrad.json    {"format": "tritongrad", "version": 1, "root": NODE}
    tensors/<i>.npy    one NumPy .npy file per distinct tensor (read with allow_pickle=False);
                       bfloat16 is stored as its uint16 bit patterns

where a NODE is a JSON null / true / false / integer / float / string for Python's None / bool /
int / float / str, or an object tagged by "t":

    {"t": "list" | "tuple", "items": [NODE, ...]}
    {"t": "dict" | "odict", "items": [[NODE key, NODE value], ...]}     (keys keep their type: 0, "w")
    {"t": "tensor", "id": i, "dtype": "float32", "device": "cuda:0", "requires_grad": bool,
     "parameter": bool}
    {"t": "float", "v": "nan" | "inf" | "-inf"},  {"t": "dtype", "name": ...},  {"t": "device", "name": ...}

A tensor saved twice in one object (the same Python object) is stored once and loaded as one
object; distinct tensors that are views of one memory are stored, and loaded, separately.
Saving to a path writes a temporary file next to it and renames it over the target only once it
is complete, so a failed save never destroys the previous checkpoint. Loading a truncated or
corrupted file raises a RuntimeError that says so.
"""
import io
import json
import math
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from . import _dtype as dt
from ._device import device as _device_cls, parse_device
from .tensor import Tensor

FORMAT, VERSION = "tritongrad", 1
HEADER = "tritongrad.json"
_DTYPES = {d.name: d for d in dt.ALL}


# --- save ---------------------------------------------------------------------------------------------
def save(obj, f):
    """Save `obj` (tensors, numbers, strings, None, and dicts / lists / tuples of them) to `f`.

    Args:
        obj: e.g. a tensor, `model.state_dict()`, `optimizer.state_dict()` or a dict of them.
        f: a path (written atomically: temporary file, then rename) or a binary file object.

    Example:
        >>> tg.save({"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}, "ckpt.tg")
    """
    tensors = []
    root = _encode(obj, tensors, {})
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    if hasattr(f, "write"):
        _write(f, header, tensors)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(fh, header, tensors)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)  # NOTE: atomic: readers see the old file or the new one, never a part
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _file_mode(path):
    """The mode a new file would get (mkstemp makes 0600): the existing file's, or 0666 & ~umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _write(fh, header, tensors):
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, t in enumerate(tensors):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, _host_array(t), allow_pickle=False)
            zf.writestr(f"tensors/{i}.npy", buf.getvalue())
        zf.writestr(HEADER, header)


def _host_array(t):
    """The tensor's values as a host array (bfloat16 as uint16 bits; synchronizes on CUDA)."""
    a = np.asarray(t._be.to_numpy(t._data))
    return a if a.flags.c_contiguous else a.copy(order="C")  # NOTE: C order always (loads contiguous)


def _encode(x, tensors, ids):
    if x is None or isinstance(x, (bool, int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else {"t": "float", "v": repr(x)}
    if isinstance(x, Tensor):
        if id(x) not in ids:
            ids[id(x)] = len(tensors)
            tensors.append(x)
        from .nn.parameter import Parameter

        return {"t": "tensor", "id": ids[id(x)], "dtype": x.dtype.name, "device": str(x.device),
                "requires_grad": x.requires_grad, "parameter": isinstance(x, Parameter)}
    if isinstance(x, dict):
        kind = "odict" if isinstance(x, OrderedDict) else "dict"
        return {"t": kind, "items": [[_encode(k, tensors, ids), _encode(v, tensors, ids)] for k, v in x.items()]}
    if isinstance(x, (list, tuple)) and type(x) in (list, tuple):
        return {"t": type(x).__name__, "items": [_encode(v, tensors, ids) for v in x]}
    if isinstance(x, dt.dtype):
        return {"t": "dtype", "name": x.name}
    if isinstance(x, _device_cls):
        return {"t": "device", "name": str(x)}
    if isinstance(x, (np.integer, np.floating, np.bool_)):
        return _encode(x.item(), tensors, ids)
    raise TypeError(f"tritongrad.save cannot store an object of type {type(x).__qualname__}: its format holds "
                    "tensors, numbers, strings, None, dtypes, devices and dicts / lists / tuples of them (no code)")


# --- load ---------------------------------------------------------------------------------------------
class _Corrupt(Exception):
    pass


def load(f, map_location=None, weights_only=True, **kwargs):
    """Load what tg.save wrote.

    Args:
        f: a path or a binary file object.
        map_location: None (each tensor to its saved device), a device ('cpu', 'cuda'), or a dict
            {saved device: device} such as {'cuda:0': 'cpu'}.
        weights_only: accepted for PyTorch compatibility; loading never runs code either way.

    Raises:
        RuntimeError: the file is truncated, corrupted or not a tritongrad checkpoint.
    """
    if kwargs.get("mmap"):
        raise NotImplementedError("tritongrad.load(mmap=True) is not supported")
    name = f if not hasattr(f, "read") else getattr(f, "name", "<file object>")
    try:
        with zipfile.ZipFile(f, "r") as zf:
            try:
                header = json.loads(zf.read(HEADER).decode("utf-8"))
            except KeyError:
                raise _Corrupt(f"no {HEADER} entry") from None
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise _Corrupt("not a tritongrad checkpoint")
            if header.get("version") != VERSION:
                raise _Corrupt(f"format version {header.get('version')!r}; this tritongrad reads version {VERSION}")
            return _Decoder(zf, map_location).decode(header.get("root"))
    except (_Corrupt, zipfile.BadZipFile, zipfile.LargeZipFile, json.JSONDecodeError, UnicodeDecodeError, EOFError,
            ValueError) as e:
        raise RuntimeError(f"tritongrad.load: {name} is not a valid checkpoint: {e} (the file is truncated or "
                           "corrupted, or was not written by tritongrad.save)") from e


class _Decoder:
    def __init__(self, zf, map_location):
        self.zf, self.map_location, self.loaded = zf, map_location, {}

    def decode(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list) or not isinstance(node, dict) or "t" not in node:
            raise _Corrupt(f"unexpected node {str(node)[:80]}")
        kind = node["t"]
        if kind in ("list", "tuple"):
            items = [self.decode(v) for v in node["items"]]
            return items if kind == "list" else tuple(items)
        if kind in ("dict", "odict"):
            pairs = [(self.decode(k), self.decode(v)) for k, v in node["items"]]
            return OrderedDict(pairs) if kind == "odict" else dict(pairs)
        if kind == "tensor":
            return self.tensor(node)
        if kind == "float":
            return float(node["v"])
        if kind == "dtype":
            return self.dtype(node["name"])
        if kind == "device":
            return parse_device(node["name"])
        raise _Corrupt(f"unknown node type {kind!r}")

    def dtype(self, name):
        try:
            return _DTYPES[name]
        except KeyError:
            raise _Corrupt(f"unknown dtype {name!r}") from None

    def tensor(self, node):
        i = node["id"]
        if i in self.loaded:
            return self.loaded[i]
        dtype = self.dtype(node["dtype"])
        try:
            raw = self.zf.read(f"tensors/{i}.npy")  # NOTE: reading a whole entry checks its CRC-32
        except KeyError:
            raise _Corrupt(f"tensor {i} is missing") from None
        a = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
        if a.dtype != dtype.np:
            raise _Corrupt(f"tensor {i} holds {a.dtype}, not {dtype.name}")
        t = _make_tensor(a, dtype, self.device(node["device"]))
        if node.get("requires_grad"):
            t.requires_grad_(True)
        if node.get("parameter"):
            from .nn.parameter import Parameter

            t = Parameter(t, requires_grad=bool(node.get("requires_grad")))
        self.loaded[i] = t
        return t

    def device(self, saved):
        m = self.map_location
        if isinstance(m, dict):
            m = m.get(saved, saved)
        elif callable(m) and not isinstance(m, (str, _device_cls)):
            raise NotImplementedError("tritongrad.load: a callable map_location is not supported; pass a device "
                                      "or a dict {saved device: device}")
        dev = parse_device(saved if m is None else m)
        if dev.type == "cuda":
            from . import cuda

            if not cuda.is_available():
                raise RuntimeError("Attempting to deserialize object on a CUDA device but tritongrad.cuda."
                                   "is_available() is False. If you are running on a CPU-only machine, please use "
                                   "tritongrad.load with map_location='cpu' to map your storages to the CPU.")
        return dev


def _make_tensor(a, dtype, device):
    from .backends import get

    be = get(device.type)
    if dtype is dt.bfloat16:
        if device.type != "cuda":
            raise RuntimeError("tritongrad.load: bfloat16 tensors live on CUDA only in tritongrad; load with "
                               "map_location='cuda', or convert them to float32 before saving")
        from .cuda import memory

        return Tensor._make(memory.from_host(a, dt.bfloat16))
    return Tensor._make(a if be.name == "cpu" else be.from_numpy(a))


__all__ = ["save", "load"]
