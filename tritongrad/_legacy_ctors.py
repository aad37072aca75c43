"""tritongrad.Tensor(...) and the typed constructors FloatTensor, LongTensor, ... as PyTorch's.

Tensor(list) copies data into the default dtype (float32 unless set_default_dtype), Tensor(2, 3)
or Tensor(Size) makes an uninitialized tensor of that shape, Tensor() an empty one. The typed
names do the same in their dtype, on the CPU, and `isinstance(t, FloatTensor)` asks t's dtype.
"""
import numpy as np

from . import _dtype as dt
from ._device import parse_device
from .tensor import Size, Tensor


def new_tensor(dtype, args, device=None, typed=None):
    """The legacy constructor's result for positional `args` (PyTorch's overloads and messages)."""
    if typed is not None and device is not None and parse_device(device).type != "cpu":
        raise RuntimeError(f"legacy constructor expects device type: cpu but device type: {parse_device(device).type} "
                           "was passed")
    from ._creation import empty, tensor

    if not args:
        return empty(0, dtype=dtype, device=device)
    if len(args) == 1 and not isinstance(args[0], (int, np.integer, Size)):
        data = args[0]
        if isinstance(data, Tensor):
            if typed is not None and data.dtype is not dtype:
                raise TypeError(f"expected {_scalar(dtype)} (got {_scalar(data.dtype)})")
            return data._alias()
        if isinstance(data, str):
            raise TypeError("new(): invalid data type 'str'")
        if not isinstance(data, (list, tuple, np.ndarray)):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        return tensor(data, dtype=dtype, device=device)
    sizes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else args
    for i, s in enumerate(sizes):
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(f"new(): argument 'size' failed to unpack the object at pos {i + 1} with error \"type must "
                            f"be tuple of ints,but got {type(s).__name__}\"")
    return empty(sizes, dtype=dtype, device=device)


def _scalar(dtype):
    from .ops.inplace import _SCALAR_NAMES

    return _SCALAR_NAMES[dtype.name]


class _TensorType(type):
    """The metaclass of FloatTensor and friends: calling one constructs, isinstance checks the dtype."""

    def __call__(cls, *args, device=None):
        return new_tensor(cls.dtype, args, device, typed=cls)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.device.type == "cpu"

    def __repr__(cls):
        return f"<class 'tritongrad.{cls.__name__}'>"


def _typed(name, dtype):
    return _TensorType(name, (), {"dtype": dtype, "__module__": "tritongrad",
                                  "__doc__": f"{name}(data) / {name}(*sizes): a {dtype.name} CPU tensor."})


FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor = (_typed(n, d) for n, d in (
    ("FloatTensor", dt.float32), ("DoubleTensor", dt.float64), ("HalfTensor", dt.float16),
    ("BFloat16Tensor", dt.bfloat16)))
LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor, BoolTensor = (_typed(n, d) for n, d in (
    ("LongTensor", dt.int64), ("IntTensor", dt.int32), ("ShortTensor", dt.int16), ("CharTensor", dt.int8),
    ("ByteTensor", dt.uint8), ("BoolTensor", dt.bool_)))

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor",
           "CharTensor", "ByteTensor", "BoolTensor"]
