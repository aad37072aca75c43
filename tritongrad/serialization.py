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


_MAX_DEPTH = 200  # containers nested deeper than this are refused (save's own recursion ends near 1000)
_MAX_DEFLATE_RATIO = 1032  # deflate's largest possible expansion: a bound on any honest entry's declared size
_CHUNK = 1 << 20  # tensor bytes are read into their array in pieces of this size: no second copy


def load(f, map_location=None, weights_only=True, **kwargs):
    """Load what tg.save wrote.

    Args:
        f: a path or a binary file object (seekable).
        map_location: None (each tensor to its saved device), a device ('cpu', 'cuda'), or a dict
            {saved device: device} such as {'cuda:0': 'cpu'}.
        weights_only: accepted for PyTorch compatibility; loading never runs code either way.

    Raises:
        RuntimeError: the file is truncated, corrupted or not a tritongrad checkpoint: bytes after the
            archive, an entry whose size disagrees with its compressed size or its .npy header, a tensor
            of another dtype than its header says, Python objects (pickle), malformed or too deeply
            nested JSON. What is read is bounded by those declared sizes: memory use is about the size
            of the tensors loaded.
    """
    if kwargs.get("mmap"):
        raise NotImplementedError("tritongrad.load(mmap=True) is not supported")
    name = f if not hasattr(f, "read") else getattr(f, "name", "<file object>")
    try:
        with zipfile.ZipFile(f, "r") as zf:
            _check_archive(zf)
            try:
                header = json.loads(zf.read(HEADER).decode("utf-8"))
            except KeyError:
                raise _Corrupt(f"no {HEADER} entry") from None
            except RecursionError:
                raise _Corrupt(f"{HEADER} is nested too deeply") from None
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise _Corrupt("not a tritongrad checkpoint")
            if header.get("version") != VERSION:
                raise _Corrupt(f"format version {header.get('version')!r}; this tritongrad reads version {VERSION}")
            if "root" not in header:
                raise _Corrupt(f"{HEADER} has no root")
            return _Decoder(zf, map_location).decode(header["root"], 0)
    except (_Corrupt, zipfile.BadZipFile, zipfile.LargeZipFile, json.JSONDecodeError, UnicodeDecodeError, EOFError,
            ValueError) as e:
        raise RuntimeError(f"tritongrad.load: {name} is not a valid checkpoint: {e} (the file is truncated or "
                           "corrupted, or was not written by tritongrad.save)") from e


def _check_archive(zf):
    """Refuse bytes after the archive's end record (tg.save writes no archive comment) and entries whose
    declared sizes could not be honest: larger than the file, or inflating more than deflate can."""
    fp = zf.fp
    size = fp.seek(0, os.SEEK_END)
    fp.seek(size - 22)
    end = fp.read(22)
    if end[:4] != b"PK\x05\x06" or end[20:22] != b"\0\0":
        raise _Corrupt("bytes after the end of the archive")
    for info in zf.infolist():
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Corrupt(f"entry {info.filename} uses compression method {info.compress_type}")
        bound = info.compress_size * (1 if info.compress_type == zipfile.ZIP_STORED else _MAX_DEFLATE_RATIO) + 64
        if info.header_offset + info.compress_size > size or info.file_size > bound:
            raise _Corrupt(f"entry {info.filename} declares {info.file_size} bytes in {info.compress_size}, "
                           f"in a file of {size}")


def _read_npy(zf, name, want):
    """The array in entry `name`, which must hold dtype `want`: its .npy header is checked against the
    entry's size before the array is allocated, and the bytes are read straight into the array."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise _Corrupt(f"{name} is missing") from None
    fmt = np.lib.format
    with zf.open(info) as fh:
        version = fmt.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise _Corrupt(f"{name}: .npy format version {version}")
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(fh, max_header_size=4096)
        if dtype.hasobject:
            raise _Corrupt(f"{name} holds Python objects (pickle), which tritongrad never loads")
        if dtype != want:
            raise _Corrupt(f"{name} holds {dtype}, not {want}")
        count = math.prod(shape)
        if fh.tell() + count * dtype.itemsize != info.file_size:
            raise _Corrupt(f"{name}: its .npy header declares {count * dtype.itemsize} bytes of data, the entry holds "
                           f"{info.file_size - fh.tell()}")
        a = np.empty(count, dtype)
        buf = memoryview(a.view(np.uint8))
        for start in range(0, len(buf), _CHUNK):
            piece = fh.read(min(_CHUNK, len(buf) - start))  # NOTE: the entry's last read checks its CRC-32
            if len(piece) != min(_CHUNK, len(buf) - start):
                raise EOFError(f"{name} ends early")
            buf[start:start + len(piece)] = piece
    return a.reshape(shape, order="F" if fortran else "C")


def _field(node, key, kind, default=None):
    value = node.get(key, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Corrupt(f"node {str(node)[:80]}: {key!r} is not a {getattr(kind, '__name__', kind)}")
    return value


class _Decoder:
    def __init__(self, zf, map_location):
        self.zf, self.map_location, self.loaded = zf, map_location, {}

    def decode(self, node, depth):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if depth > _MAX_DEPTH:
            raise _Corrupt(f"containers nested more than {_MAX_DEPTH} deep")
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise _Corrupt(f"unexpected node {str(node)[:80]}")
        kind = node["t"]
        if kind in ("list", "tuple"):
            items = [self.decode(v, depth + 1) for v in _field(node, "items", list)]
            return items if kind == "list" else tuple(items)
        if kind in ("dict", "odict"):
            pairs = []
            for pair in _field(node, "items", list):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise _Corrupt(f"dict item {str(pair)[:80]} is not a [key, value] pair")
                key = self.decode(pair[0], depth + 1)
                if isinstance(key, (list, dict)):
                    raise _Corrupt(f"dict key {str(pair[0])[:80]} is not hashable")
                pairs.append((key, self.decode(pair[1], depth + 1)))
            return OrderedDict(pairs) if kind == "odict" else dict(pairs)
        if kind == "tensor":
            return self.tensor(node)
        if kind == "float":
            if node.get("v") not in ("nan", "inf", "-inf"):
                raise _Corrupt(f"float node {str(node)[:80]} is not nan, inf or -inf")
            return float(node["v"])
        if kind == "dtype":
            return self.dtype(_field(node, "name", str))
        if kind == "device":
            return self.saved_device(_field(node, "name", str))
        raise _Corrupt(f"unknown node type {kind!r}")

    def dtype(self, name):
        try:
            return _DTYPES[name]
        except KeyError:
            raise _Corrupt(f"unknown dtype {name!r}") from None

    @staticmethod
    def saved_device(name):
        try:
            return parse_device(name)
        except (RuntimeError, ValueError, TypeError):
            raise _Corrupt(f"unknown device {name!r}") from None

    def tensor(self, node):
        i = _field(node, "id", int)
        if i in self.loaded:
            return self.loaded[i]
        if i < 0:
            raise _Corrupt(f"tensor id {i}")
        dtype = self.dtype(_field(node, "dtype", str))
        saved = str(self.saved_device(_field(node, "device", str)))
        requires_grad, parameter = _field(node, "requires_grad", bool, False), _field(node, "parameter", bool, False)
        a = _read_npy(self.zf, f"tensors/{i}.npy", np.dtype(dtype.np))
        t = _make_tensor(a, dtype, self.device(saved))
        if requires_grad:
            t.requires_grad_(True)
        if parameter:
            from .nn.parameter import Parameter

            t = Parameter(t, requires_grad=requires_grad)
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
