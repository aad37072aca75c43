"""DLPack: zero-copy exchange of tensors with NumPy, PyTorch, CuPy, JAX (tg.from_dlpack, Tensor.__dlpack__).

CPU tensors are NumPy arrays: they are exported and imported through NumPy's own DLPack support.
CUDA tensors are DeviceArrays (a pointer into device memory plus shape and strides): they are
exported as a DLManagedTensor built here with ctypes, in a PyCapsule named "dltensor" (or DLPack
1.0's "dltensor_versioned" when the consumer asks for it with max_version), and foreign CUDA
capsules (either kind) are imported by reading that struct; the exporter's deleter runs when the
last tritongrad view of the memory dies.

Streams: before exporting a CUDA tensor, tritongrad's stream is synchronized (unless the consumer
passes stream=-1), so the consumer sees finished values on any stream; when importing, the
producer is asked to make its work visible to tritongrad's current stream.

Emulated CUDA (TRITONGRAD_EMULATE_CUDA=1): device memory is host memory, so a "cuda" tensor is
exported with the CPU device type (kDLCPU) through the same ctypes code; NumPy and PyTorch (CPU)
then see its memory without a copy. That is how the capsule code is tested without a GPU.
"""
import ctypes

import numpy as np

from . import _dtype as dt

kDLCPU, kDLCUDA, kDLCUDAHost, kDLCUDAManaged = 1, 2, 3, 13
# NOTE: a capsule keeps a pointer to its name, not a copy: names must be objects that never die
_NAMES = (b"dltensor", b"dltensor_versioned")
_USED = {b"dltensor": b"used_dltensor", b"dltensor_versioned": b"used_dltensor_versioned"}
_CODES = {0: "int", 1: "uint", 2: "float", 4: "bfloat", 6: "bool"}
# NumPy 1.x exports only unversioned capsules (its __dlpack__ takes no max_version) and imports every
# capsule read-only; on it CPU tensors are exported without max_version and imported through our own
# capsule reader (writable, as PyTorch imports them).
_NUMPY2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int), ("dtype", DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    pass


_Deleter = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
DLManagedTensor._fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", _Deleter)]


class DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [("version", DLPackVersion), ("manager_ctx", ctypes.c_void_p), ("deleter", _Deleter),
                ("flags", ctypes.c_uint64), ("dl_tensor", DLTensor)]


_api = ctypes.pythonapi
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.c_void_p, ctypes.c_char_p]

# --- export ---------------------------------------------------------------------------------------------
# address of an exported DLManagedTensor -> (the struct, its shape and strides arrays, the DeviceArray):
# what must stay alive until the consumer calls the deleter (or the capsule dies unconsumed).
_EXPORTED = {}


@_Deleter
def _export_deleter(managed_ptr):
    _EXPORTED.pop(managed_ptr, None)


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)
def _capsule_destructor(capsule):
    # NOTE: a consumer renames the capsule "used_dltensor(_versioned)" and then owns the struct;
    # only an unconsumed capsule still frees it here.
    for name in _NAMES:
        if _api.PyCapsule_IsValid(capsule, name):
            _export_deleter(_api.PyCapsule_GetPointer(capsule, name))


def _dl_dtype(dtype):
    if dtype is dt.bool_:
        return DLDataType(6, 8, 1)
    if dtype is dt.bfloat16:
        return DLDataType(4, 16, 1)
    kind = {"f": 2, "i": 0, "u": 1}[dtype.np.kind]
    return DLDataType(kind, dtype.itemsize * 8, 1)


def device_of(t):
    """Tensor.__dlpack_device__: (device type, device id)."""
    if not t.is_cuda:
        return (kDLCPU, 0)
    from .cuda import is_emulated

    return (kDLCPU, 0) if is_emulated() else (kDLCUDA, 0)


def export(t, stream=None, max_version=None, dl_device=None, copy=None):
    """Tensor.__dlpack__: a "dltensor" PyCapsule viewing t's memory."""
    if t.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if dl_device is not None and tuple(dl_device) != device_of(t):
        raise BufferError(f"tritongrad cannot export a {t.device} tensor to DLPack device {tuple(dl_device)}")
    if copy:
        t = t.clone()
    if not t.is_cuda:
        kwargs = {} if max_version is None or not _NUMPY2 else {"max_version": max_version}
        return t._data.__dlpack__(stream=stream, **kwargs)  # NOTE: NumPy's own exporter
    from .cuda import current_stream, is_emulated

    if stream != -1:
        current_stream().synchronize()  # NOTE: simple and correct for a consumer on any stream
    versioned = max_version is not None and tuple(max_version)[0] >= 1
    return _export_device_array(t._data, kDLCPU if is_emulated() else kDLCUDA, versioned)


def _export_device_array(a, device_type, versioned):
    """A capsule for DeviceArray `a`: DLPack 1.0's versioned struct when the consumer reads it (its
    flags say writable), else the unversioned one (which NumPy imports read-only)."""
    if versioned:
        managed = DLManagedTensorVersioned()
        managed.version = DLPackVersion(1, 0)
        managed.flags = 0
    else:
        managed = DLManagedTensor()
    shape = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
    strides = (ctypes.c_int64 * max(a.ndim, 1))(*a.strides)
    dl = managed.dl_tensor
    dl.data = a.data_ptr()
    dl.device = DLDevice(device_type, 0)
    dl.ndim = a.ndim
    dl.dtype = _dl_dtype(a.dtype)
    dl.shape = ctypes.cast(shape, ctypes.POINTER(ctypes.c_int64))
    dl.strides = ctypes.cast(strides, ctypes.POINTER(ctypes.c_int64))
    dl.byte_offset = 0
    managed.deleter = _export_deleter
    addr = ctypes.addressof(managed)
    _EXPORTED[addr] = (managed, shape, strides, a)
    name = _NAMES[1] if versioned else _NAMES[0]
    return _api.PyCapsule_New(addr, name, ctypes.cast(_capsule_destructor, ctypes.c_void_p))


# --- import ---------------------------------------------------------------------------------------------
class DLPackStorage:
    """Foreign memory seen as a tritongrad Storage: calls the producer's deleter when it dies."""

    __slots__ = ("_ptr", "nbytes", "_managed", "_deleter", "_host", "__weakref__")

    def __init__(self, ptr, nbytes, managed_ptr, deleter, host):
        self._ptr, self.nbytes, self._managed, self._deleter, self._host = ptr, nbytes, managed_ptr, deleter, host

    def data_ptr(self):
        return self._ptr

    def cpu(self):  # what Triton's interpreter calls (emulated CUDA only)
        if self._host is None:
            raise RuntimeError("GPU memory from DLPack is not host memory; only emulated CUDA runs the interpreter")
        return self

    def copy_(self, other):
        if other.data_ptr() != self._ptr:
            np.copyto(self._host, other.cpu()._host)
        return self

    def __del__(self):
        deleter, self._deleter = self._deleter, None
        if deleter:
            try:
                deleter(self._managed)
            except Exception:  # interpreter shutdown
                pass


def _capsule_struct(capsule):
    """(capsule name, address of the DLManagedTensor(Versioned), its DLTensor, its deleter)."""
    cap = id(capsule)  # NOTE: CPython: id() is the PyObject* the capsule API wants
    for name, cls in zip(_NAMES, (DLManagedTensor, DLManagedTensorVersioned)):
        if _api.PyCapsule_IsValid(cap, name):
            addr = _api.PyCapsule_GetPointer(cap, name)
            managed = cls.from_address(addr)
            if cls is DLManagedTensorVersioned and managed.version.major > 1:
                raise BufferError(f"DLPack version {managed.version.major} is newer than tritongrad reads (1)")
            return name, addr, managed.dl_tensor, managed.deleter
    raise BufferError("expected a DLPack capsule named 'dltensor' or 'dltensor_versioned' (an unused one)")


def _dtype_of(dl):
    code, bits, lanes = dl.dtype.code, dl.dtype.bits, dl.dtype.lanes
    name = {(2, 16): "float16", (2, 32): "float32", (2, 64): "float64", (4, 16): "bfloat16", (0, 8): "int8",
            (0, 16): "int16", (0, 32): "int32", (0, 64): "int64", (1, 8): "uint8", (6, 8): "bool"}.get((code, bits))
    if name is None or lanes != 1:
        raise BufferError(f"DLPack dtype {_CODES.get(code, code)}{bits}x{lanes} is not supported by tritongrad")
    return getattr(dt, name if name != "bool" else "bool_")


def import_capsule(capsule, device_type=kDLCUDA):
    """A DeviceArray over the memory of a DLPack capsule of `device_type` (consumes the capsule)."""
    from .cuda.array import DeviceArray, contiguous_strides

    name, addr, dl, deleter = _capsule_struct(capsule)
    if dl.device.device_type != device_type or dl.device.device_id != 0:
        raise BufferError(f"expected a DLPack tensor on device ({device_type}, 0), got "
                          f"({dl.device.device_type}, {dl.device.device_id})")
    dtype = _dtype_of(dl)
    shape = tuple(dl.shape[i] for i in range(dl.ndim))
    strides = tuple(dl.strides[i] for i in range(dl.ndim)) if dl.strides else contiguous_strides(shape)
    if any(s < 0 for s in strides):
        raise BufferError("DLPack tensors with negative strides are not supported by tritongrad")
    ptr = (dl.data or 0) + dl.byte_offset
    span = (1 + sum((n - 1) * s for n, s in zip(shape, strides))) * dtype.itemsize if all(shape) else 0
    host = None
    if device_type in (kDLCPU, kDLCUDAHost):  # host memory (emulated CUDA: the interpreter reads it)
        host = np.ctypeslib.as_array((ctypes.c_uint8 * span).from_address(ptr)) if span else np.empty(0, np.uint8)
    _api.PyCapsule_SetName(id(capsule), _USED[name])  # NOTE: we own the struct now: no double free
    storage = DLPackStorage(ptr, span, addr, deleter if deleter else None, host)
    return DeviceArray(storage, 0, shape, strides, dtype)


class _HostOwner:
    """A NumPy array's owner for CPU memory from a raw capsule: holds the storage that calls the
    producer's deleter. NOTE: not np.from_dlpack, which imports unversioned capsules read-only."""

    def __init__(self, a):
        self.storage = a.buf
        self.__array_interface__ = dict(version=3, shape=a.shape, typestr=a.dtype.np.str, data=(a.data_ptr(), False),
                                        strides=tuple(s * a.itemsize for s in a.strides))


def _host_array_from_capsule(capsule, device_type):
    a = import_capsule(capsule, device_type)
    if a.dtype is dt.bfloat16:
        raise BufferError("tritongrad has no bfloat16 CPU tensors")
    if not a.buf.nbytes:
        return np.empty(a.shape, a.dtype.np)
    return np.asarray(_HostOwner(a))


def from_dlpack(ext_tensor):
    """A tensor sharing memory with `ext_tensor`: any object with __dlpack__ (NumPy arrays, PyTorch,
    CuPy and JAX arrays) or a DLPack capsule. CPU memory becomes a CPU tensor, CUDA memory a CUDA
    tensor; nothing is copied.

    Example:
        >>> t = tg.from_dlpack(np.arange(3.0))      # writes to either show in both
    """
    from .tensor import Tensor

    if isinstance(ext_tensor, Tensor):
        return ext_tensor.detach()
    if hasattr(ext_tensor, "__dlpack_device__"):
        dev_type = int(ext_tensor.__dlpack_device__()[0])
    elif type(ext_tensor).__name__ == "PyCapsule":
        dev_type = _capsule_struct(ext_tensor)[2].device.device_type
    else:
        raise TypeError(f"from_dlpack expects an object with __dlpack__ or a DLPack capsule, got "
                        f"{type(ext_tensor).__name__}")
    if dev_type in (kDLCPU, kDLCUDAHost):
        if hasattr(ext_tensor, "__dlpack__") and _NUMPY2:
            return Tensor._make(np.from_dlpack(ext_tensor))
        capsule = ext_tensor.__dlpack__() if hasattr(ext_tensor, "__dlpack__") else ext_tensor
        return Tensor._make(_host_array_from_capsule(capsule, dev_type))
    if dev_type != kDLCUDA:
        raise BufferError(f"tritongrad cannot import DLPack device type {dev_type} (only CPU and CUDA)")
    from . import cuda

    if cuda.is_emulated() or not cuda.is_available():
        raise RuntimeError("from_dlpack: the tensor is in CUDA memory, but tritongrad has no GPU here "
                           f"({'emulated CUDA uses host memory' if cuda.is_emulated() else 'no CUDA device'})")
    cuda.init()
    capsule = ext_tensor
    if hasattr(ext_tensor, "__dlpack__"):
        handle = cuda.current_stream().handle
        try:
            capsule = ext_tensor.__dlpack__(stream=handle)
        except TypeError:  # NOTE: an old producer without the stream keyword
            capsule = ext_tensor.__dlpack__()
    return Tensor._make(import_capsule(capsule, kDLCUDA))
