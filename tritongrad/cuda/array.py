"""DeviceArray: a strided view of device memory, the CUDA backend's array type.

It is what Triton's launcher reads (`data_ptr()` and `dtype`, whose str() is a Triton type name:
str(tritongrad.float32) ends in 'float32' -> fp32), plus, for the emulated device, what Triton's
interpreter reads (`untyped_storage()`, `storage_offset()`, `size()`, `stride()`, `new_empty()`,
`set_()`). Offsets and strides are in elements, as in PyTorch.

View metadata (permute, reshape-as-view, expand, basic indexing) is computed by NumPy on a
zero-byte stand-in with the same shape and strides: one implementation of view rules for both
devices, and no device memory is touched.
"""
import numpy as np

_layouts = {}  # shape -> (contiguous strides, element count): every new array asks (bounded, not an LRU)


def contiguous_layout(shape):
    """(contiguous strides, number of elements) of a tuple `shape`."""
    got = _layouts.get(shape)
    if got is None:
        strides, acc = [], 1
        for s in reversed(shape):
            strides.append(acc)
            acc *= max(int(s), 1)  # NOTE: Python ints, whatever integers the shape holds
        n = 1
        for s in shape:
            n *= int(s)
        got = tuple(reversed(strides)), n
        if len(_layouts) < 4096:
            _layouts[shape] = got
    return got


def contiguous_strides(shape):
    return contiguous_layout(tuple(shape))[0]


class DeviceArray:
    __slots__ = ("buf", "offset", "shape", "strides", "dtype")

    def __init__(self, buf, offset, shape, strides, dtype):
        self.buf = buf  # owner of the memory: a Storage (see memory.py)
        self.offset = offset
        self.shape = shape
        self.strides = strides
        self.dtype = dtype  # a tritongrad dtype

    # --- what Triton's launcher and interpreter read ------------------------------------------------
    def data_ptr(self):
        return self.buf.data_ptr() + self.offset * self.dtype.itemsize

    def untyped_storage(self):
        return self.buf

    def storage_offset(self):
        return self.offset

    def size(self):
        return self.shape

    def stride(self):
        return self.strides

    def new_empty(self, *size, device=None):
        return DeviceArray(None, 0, (0,), (1,), self.dtype)

    def set_(self, storage, offset, size, stride):
        self.buf, self.offset, self.shape, self.strides = storage, offset, tuple(size), tuple(stride)
        return self

    # --- array basics ------------------------------------------------------------------------------
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size_(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self):
        return self.dtype.itemsize

    def is_contiguous(self):
        if 0 in self.shape:  # NOTE: as in PyTorch, an empty array is contiguous whatever its strides
            return True
        n = 1
        for size, stride in zip(reversed(self.shape), reversed(self.strides)):
            if size != 1 and stride != n:
                return False
            n *= size
        return True

    # --- views, computed by NumPy on a zero-byte stand-in ------------------------------------------
    def _standin(self):
        it = self.dtype.itemsize
        return np.lib.stride_tricks.as_strided(_ZERO[it], self.shape, tuple(s * it for s in self.strides))

    def _from_standin(self, v):
        it = self.dtype.itemsize
        delta = v.__array_interface__["data"][0] - _ZERO[it].__array_interface__["data"][0]
        return DeviceArray(self.buf, self.offset + delta // it, tuple(v.shape),
                           tuple(s // it for s in v.strides), self.dtype)

    def permute(self, dims):
        return DeviceArray(self.buf, self.offset, tuple(self.shape[d] for d in dims),
                           tuple(self.strides[d] for d in dims), self.dtype)

    def view(self, shape):
        """A view with `shape`, or None when the strides do not allow one."""
        if self.is_contiguous():
            return DeviceArray(self.buf, self.offset, tuple(shape), contiguous_strides(shape), self.dtype)
        v = self._standin().view()
        try:
            v.shape = shape
        except AttributeError:
            return None
        return self._from_standin(v)

    def expand(self, shape):
        return self._from_standin(np.broadcast_to(self._standin(), shape))

    def index(self, idx):
        if type(idx) is int and self.shape:  # NOTE: x[i], the common case, without a NumPy stand-in
            n = self.shape[0]
            if not -n <= idx < n:
                raise IndexError(f"index {idx} is out of bounds for axis 0 with size {n}")
            return DeviceArray(self.buf, self.offset + (idx % n) * self.strides[0], self.shape[1:], self.strides[1:],
                               self.dtype)
        v = self._standin()[idx]
        if not isinstance(v, np.ndarray):  # NOTE: an integer for every dim gives a NumPy scalar, a copy
            v = self._standin()[(*(idx if isinstance(idx, tuple) else (idx,)), Ellipsis)]  # a 0-d view
        return self._from_standin(v)

    def __repr__(self):
        return (f"DeviceArray(shape={self.shape}, strides={self.strides}, offset={self.offset}, "
                f"dtype={self.dtype.name})")


# One element of each item size: the base address the stand-ins pretend to start at.
_ZERO = {it: np.zeros(1, dtype=f"u{it}") for it in (1, 2, 4, 8)}
