"""Tensor constructors, with PyTorch's names and keywords (dtype=, device=, requires_grad=)."""
import math
import warnings

import numpy as np

from . import _dtype as dt, random as _random
from ._device import parse_device
from .backends import get as _backend
from .tensor import ONLY_FLOAT, Tensor, _sizes

_DEFAULT_DEVICE = ["cpu"]


def _be(device):
    return _backend(_DEFAULT_DEVICE[0] if device is None else parse_device(device).type)


def set_default_device(device):
    """The device of tensors made without device= (None: the CPU), as torch.set_default_device."""
    _DEFAULT_DEVICE[0] = "cpu" if device is None else parse_device(device).type


def get_default_device():
    return parse_device(_DEFAULT_DEVICE[0])


def _check_dtype(dtype):
    if dtype is not None and not isinstance(dtype, dt.dtype):
        raise TypeError(f"dtype must be a tritongrad dtype such as tritongrad.float32, got {dtype!r}")
    return dtype


def _finish(raw, requires_grad):
    t = Tensor._make(raw)
    if requires_grad:
        if not t._dtype.is_floating_point:
            raise RuntimeError("O" + ONLY_FLOAT[1:])
        t._requires_grad = True
    return t


def _shape(size):
    shape = _sizes(size, "empty") if len(size) else ()
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: [{', '.join(map(str, shape))}]")
    return shape


_INT64_MAX = 2**63 - 1
_C_NAMES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int", "int64": "int64_t",
            "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float", "float64": "double"}
_FLOAT_MAX = {"float16": 65504.0, "bfloat16": 3.3895313892515355e38, "float32": 3.4028234663852886e38,
              "float64": math.inf}


def _allocate(device, shape, dtype, make):
    """make() a backend array of `shape`, with PyTorch's errors where no memory can hold it: a byte count
    past int64, and on the CPU a failed allocation (NumPy's MemoryError); CUDA raises its own OutOfMemoryError."""
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _INT64_MAX:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)}")
    try:
        return make()
    except MemoryError:
        if _be(device).name != "cpu":
            raise
        raise RuntimeError(f"DefaultCPUAllocator: can't allocate memory: you tried to allocate {nbytes} bytes. "
                           "Error code 12 (Cannot allocate memory)") from None


def _check_range(a, dtype, type_name):
    """PyTorch's check of Python numbers stored into an integer dtype: out of range (NaN and inf included)
    raises instead of wrapping. Integers may be negative down to -max for uint8 (-1 is 255), floats may not."""
    if dtype.is_floating_point or dtype is dt.bool_ or a.size == 0 or a.dtype.kind == "b":
        return
    info = np.iinfo(dtype.np)
    if a.dtype.kind == "f":
        bad = bool(np.isnan(a).any()) or a.min() < info.min or a.max() > info.max
    else:
        bad = a.min() < (-int(info.max) if info.min == 0 else info.min) or a.max() > info.max
    if bad:
        raise RuntimeError(f"value cannot be converted to type {type_name} without overflow")


def _host_array(data):
    """Nested sequences / scalars / arrays as a NumPy array with PyTorch's default dtypes."""
    if isinstance(data, Tensor):
        return data._host(), data._dtype
    if isinstance(data, (np.ndarray, np.generic)):  # NOTE: a NumPy scalar keeps its dtype, as in PyTorch
        return np.asarray(data), dt.from_numpy_dtype(data.dtype)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
        data = _unwrap(data)
    if isinstance(data, str):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    try:
        a = np.array(data)
    except ValueError as e:
        raise ValueError(f"expected a rectangular nested sequence of numbers: {e}") from None
    if a.dtype.kind in "fuO" and a.size and all(isinstance(x, (int, np.integer)) for x in _items(data)):
        # NOTE: integers only, yet NumPy widened them (uint64, float64, object): some lie past int64,
        # which tensor() refuses for an integer dtype, as PyTorch does. (A float list stops at its first item.)
        return np.array(list(_items(data)), dtype=object).reshape(a.shape), dt.int64
    if a.dtype.kind == "f":
        return a, dt.get_default_dtype()
    if a.dtype.kind in "iu":
        return a, dt.int64
    if a.dtype.kind == "b":
        return a, dt.bool_
    raise TypeError(f"new(): invalid data type '{type(data).__name__}' (NumPy made {a.dtype} of it)")


def _items(data):
    return _flat(data) if isinstance(data, (list, tuple)) else iter((data,))


def _flat(seq):
    for x in seq:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _unwrap(seq):
    return [_unwrap(x) if isinstance(x, (list, tuple)) else (x.item() if isinstance(x, Tensor) else x) for x in seq]


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of `data` (a number, nested sequence or NumPy array).

    Example:
        >>> tg.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    """
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.clone().detach() or "
                      "sourceTensor.clone().detach().requires_grad_(True), rather than "
                      "tritongrad.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
    a, inferred = _host_array(data)
    dtype = _check_dtype(dtype) or inferred
    if device is None and isinstance(data, Tensor):
        device = data.device
    if not isinstance(data, (np.ndarray, Tensor)):  # NOTE: as in PyTorch: numbers are checked, arrays cast
        a = _numbers(a, dtype)
    if dtype is dt.bfloat16:
        raw = _be(device).astype(_be(device).from_numpy(np.asarray(a, np.float32)), dt.bfloat16)
    else:
        with np.errstate(over="ignore"):  # NOTE: 1e5 as float16 is inf, silently as in PyTorch
            raw = _be(device).from_numpy(np.asarray(a, dtype.np))
    return _finish(raw, requires_grad)


def _numbers(a, dtype):
    """The host array of Python numbers `a` for `dtype`, or PyTorch's error when a value does not fit."""
    if a.dtype == object:  # Python ints past int64
        if not (dtype.is_floating_point or dtype is dt.bool_):
            raise ValueError("Overflow when unpacking long long")
        return a.astype(np.float64) if dtype.is_floating_point else a.astype(bool)
    _check_range(a, dtype, dtype.name)
    return a


def as_tensor(data, dtype=None, device=None):
    """Like tensor(), but shares memory with a Tensor or CPU NumPy array when no conversion is needed."""
    if isinstance(data, Tensor):
        return data.to(device=device or data.device, dtype=dtype or data.dtype)
    if isinstance(data, np.ndarray) and (device is None or parse_device(device).type == "cpu") and (
            dtype is None or dtype.np == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a):
    """A CPU tensor sharing memory with NumPy array `a`: writes to either show in both."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(a).__name__})")
    dt.from_numpy_dtype(a.dtype)
    if not a.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte order. Conversion "
                         "between byte orders is currently not supported.")
    return Tensor._make(a)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = (dt.bool_ if isinstance(fill_value, bool) else dt.int64 if isinstance(fill_value, int)
                 else dt.get_default_dtype())
    shape, dtype = _shape((size,) if isinstance(size, int) else size), _check_dtype(dtype)
    if isinstance(fill_value, (int, float)) and not isinstance(fill_value, bool):
        if isinstance(fill_value, int) and not -_INT64_MAX - 1 <= fill_value < 2**64:  # PyTorch's texts
            raise OverflowError("int too big to convert" if fill_value > 0 else
                                "can't convert negative int to unsigned")
        value = np.array(math.inf if fill_value > _INT64_MAX else fill_value)  # NOTE: past every integer dtype
        _check_range(value, dtype, _C_NAMES.get(dtype.name))
        if dtype.is_floating_point and math.isfinite(fill_value) and abs(fill_value) > _FLOAT_MAX[dtype.name]:
            raise RuntimeError(f"value cannot be converted to type {_C_NAMES[dtype.name]} without overflow")
        if dtype is dt.uint8 and fill_value < 0:
            fill_value += 256  # NOTE: PyTorch stores -1 as 255 (NumPy refuses a negative uint8)
    return _finish(_allocate(device, shape, dtype, lambda: _be(device).full(shape, fill_value, dtype)), requires_grad)


def _filled(value):
    def make(*sizes, size=None, dtype=None, device=None, requires_grad=False):
        shape, dtype = _size_arg(sizes, size), _check_dtype(dtype) or dt.get_default_dtype()
        return _finish(_allocate(device, shape, dtype, lambda: _be(device).full(shape, value, dtype)), requires_grad)

    return make


zeros, ones = _filled(0), _filled(1)
zeros.__name__, ones.__name__ = "zeros", "ones"
zeros.__doc__ = "A tensor of zeros: zeros(2, 3) or zeros((2, 3)), with dtype=, device=, requires_grad=."
ones.__doc__ = "A tensor of ones: ones(2, 3) or ones((2, 3)), with dtype=, device=, requires_grad=."


def empty(*sizes, size=None, dtype=None, device=None, requires_grad=False):
    shape, dtype = _size_arg(sizes, size), _check_dtype(dtype) or dt.get_default_dtype()
    return _finish(_allocate(device, shape, dtype, lambda: _be(device).empty(shape, dtype)), requires_grad)


def _size_arg(sizes, size):
    """The sizes given positionally (f(2, 3), f((2, 3))) or as size= (PyTorch accepts either)."""
    if size is not None:
        if sizes:
            raise TypeError("got multiple values for argument 'size'")
        sizes = (size,)
    return _shape(sizes)


def _random_tensor(kind, sizes, size, generator, dtype, device, requires_grad):
    dtype = _check_dtype(dtype) or dt.get_default_dtype()
    if not dtype.is_floating_point:
        from .ops.inplace import _SCALAR_NAMES

        name = "check_uniform_bounds" if kind == "rand" else "normal_kernel_cpu"
        raise NotImplementedError(f'"{name}" not implemented for \'{_SCALAR_NAMES[dtype.name]}\'')
    be = _be(device)
    gen = _random.generator_for(be.name, generator)
    shape = _size_arg(sizes, size)
    return _finish(_allocate(device, shape, dtype, lambda: getattr(be, kind)(shape, dtype, gen)), requires_grad)


def rand(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1): rand(2, 3), rand((2, 3)) or rand(size=(2, 3)); generator= a
    tritongrad.Generator (on the CPU, PyTorch's numbers for the same seed)."""
    return _random_tensor("rand", sizes, size, generator, dtype, device, requires_grad)


def randn(*sizes, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples; sizes and keywords as rand."""
    return _random_tensor("randn", sizes, size, generator, dtype, device, requires_grad)


def randint(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers uniform in [low, high): randint(high, size) or randint(low, high, size); int64 unless dtype=."""
    if size is None and args:
        args, size = args[:-1], args[-1]
    if size is None or not 1 <= len(args) <= 2 or not isinstance(size, (tuple, list)):
        raise TypeError("randint() received an invalid combination of arguments: expected (int high, tuple of ints "
                        "size) or (int low, int high, tuple of ints size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    out = empty(_shape(size), dtype=_check_dtype(dtype) or dt.int64, device=device)
    from .ops.random import random_

    return _finish(random_(out, int(low), int(high), generator)._data, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0 .. n-1 (int64 unless dtype=); on the CPU PyTorch's for the same seed."""
    be = _be(device)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    raw = be.randperm(int(n), _random.generator_for(be.name, generator))
    dtype = _check_dtype(dtype) or dt.int64
    return _finish(raw if dtype is dt.int64 else be.astype(raw, dtype), requires_grad)


def normal(mean, std, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """normal(mean, std) with a tensor mean and/or std (their broadcast shape), or normal(mean, std,
    size) with numbers: samples of N(mean, std**2)."""
    from .ops import random as R

    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            raise TypeError("normal() received an invalid combination of arguments: size= only with float mean and std")
        return R.normal(mean, std, generator)
    if size is None:
        raise TypeError("normal() received an invalid combination of arguments - got (float, float), but expected "
                        "one of: (Tensor mean, Tensor std), (Tensor mean, float std), (float mean, Tensor std), "
                        "(float mean, float std, tuple of ints size)")
    out = empty(_shape(size), dtype=dtype, device=device)
    return _finish(R.normal_(out, mean, std, generator)._data, requires_grad)


def _like(fn):
    def make(input, *, dtype=None, device=None, requires_grad=False, memory_format=None, **kw):
        if not isinstance(input, Tensor):
            raise TypeError(f"{make.__name__}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        return fn(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad,
                  **kw)

    make.__name__ = fn.__name__ + "_like"
    make.__doc__ = f"{fn.__name__}(input.shape) with input's dtype and device unless dtype= / device= are given."
    return make


zeros_like, ones_like, empty_like, rand_like, randn_like = map(_like, (zeros, ones, empty, rand, randn))


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    if not isinstance(input, Tensor):
        raise TypeError(f"full_like(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if not isinstance(fill_value, (int, float)) and not (isinstance(fill_value, Tensor) and fill_value.ndim == 0):
        raise TypeError("full_like(): argument 'fill_value' (position 2) must be Number, not "
                        + type(fill_value).__name__)
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start (default 0) up to, not including, end, `step` apart."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, end, step))
        dtype = dt.int64 if is_int else dt.get_default_dtype()
    dtype = _check_dtype(dtype)
    numbers = all(isinstance(v, (int, float)) for v in (start, end, step))
    shape = (max(0, math.ceil((end - start) / step)),) if numbers else (0,)
    return _finish(_allocate(device, shape, dtype, lambda: _be(device).arange(start, end, step, dtype)), requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """`steps` values from start to end, evenly spaced, as PyTorch's CPU kernel computes them (in the
    dtype, float64 for integers): start + i * step for the first half, end - (steps - 1 - i) * step
    for the second, each a fused multiply-add."""
    from ._cpu_random import fma

    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dtype = _check_dtype(dtype) or dt.get_default_dtype()
    lo, hi = (int(start), int(end)) if not dtype.is_floating_point else (start, end)  # NOTE: ends cast first

    def make():
        ftype = dtype.np.type if dtype in (dt.float32, dt.float64, dt.float16) else np.float64
        a, b = ftype(lo), ftype(hi)
        step = (b - a) / ftype(max(steps - 1, 1))
        i = np.arange(steps)
        if ftype is np.float16:  # NOTE: Half arithmetic: each operation rounded to half, no fusing
            first, second = a + step * i.astype(ftype), b - step * (steps - 1 - i).astype(ftype)
        else:
            first = fma(i.astype(ftype), np.full(steps, step), np.full(steps, a))
            second = fma((steps - 1 - i).astype(ftype), np.full(steps, -step), np.full(steps, b))
        values = np.where((i < steps // 2) | (steps == 1), first, second)
        return tensor(values, dtype=dtype, device=device, requires_grad=requires_grad)

    return _allocate(device, (steps,), dtype, make)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    """base ** linspace(start, end, steps) (exponents and powers in float64, then the dtype)."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    a = np.power(float(base), np.linspace(float(start), float(end), steps))
    return tensor(a, dtype=_check_dtype(dtype) or dt.get_default_dtype(), device=device, requires_grad=requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """The n x m (m = n by default) identity matrix."""
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None and m < 0:
        raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    dtype = _check_dtype(dtype) or dt.get_default_dtype()
    return _allocate(device, (n, n if m is None else m), dtype,
                     lambda: tensor(np.eye(n, m), dtype=dtype, device=device, requires_grad=requires_grad))


def numel(t):
    if not isinstance(t, Tensor):
        raise TypeError(f"numel(): argument 'input' (position 1) must be Tensor, not {type(t).__name__}")
    return t.numel()


__all__ = ["tensor", "as_tensor", "from_numpy", "full", "zeros", "ones", "empty", "rand", "randn", "randint",
           "randperm", "normal", "logspace", "set_default_device", "get_default_device",
           "zeros_like", "ones_like", "empty_like", "rand_like", "randn_like", "full_like", "arange", "linspace",
           "eye", "numel"]
